import MDCore

/// Where a command writes what it produces (an archive: `save -o`, `export -o`): stdout when
/// no path or "-" is given, else the file, written under a temporary name and renamed at
/// the end, never half-written.
enum OutputFile {
    static func write(to path: String?, _ body: (Int32) throws -> Void) throws {
        guard let path, path != "-" else { return try body(1) }
        try FileSystem.writeAtomically(path, durable: true, body)
    }
}
