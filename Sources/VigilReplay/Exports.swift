// The simulator makes the recorded streams a backtest replays (`vigil gen` writes the files
// and topics `vigil replay` reads): a client of VigilReplay sees it without importing it.
@_exported import VigilSimulator
