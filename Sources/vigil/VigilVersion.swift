// The release version printed by `vigil --version` and stamped on model files.
enum VigilVersion {
    static let current = "0.1.0"
}
