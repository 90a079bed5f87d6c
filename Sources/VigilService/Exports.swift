// The modules whose types VigilService's public API takes and returns (settings, model
// sets, rules, the audit chain's keys, broker and database configuration): a client of the
// service (the `vigil` command) imports VigilService alone and sees them.
@_exported import VigilAudit
@_exported import VigilEngine
@_exported import VigilFeatures
@_exported import VigilKafka
@_exported import VigilML
@_exported import VigilPostgres
