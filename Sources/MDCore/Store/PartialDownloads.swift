#if canImport(Glibc)
import Glibc
#endif

/// `ROOT/partial`: blobs a pull is downloading (Sources/MDRegistry/BlobDownload.swift).
/// `<hex>` is resumed by the next pull of that blob; `<hex>-PID` is a private copy made
/// while another pull held `<hex>`, which no later pull resumes: once its pull is gone,
/// it is only space, removed by the next pull and by `system prune`.
public enum PartialDownloads {
    public static func directory(_ root: String) -> String { root + "/partial" }

    /// Removes the private copies (and their locks) whose pull is no longer alive and
    /// whose lock nobody holds.
    public static func removeStale(root: String) {
        let dir = directory(root)
        for name in FileSystem.list(dir) {
            guard let pid = owner(name) else { continue }
            let path = dir + "/" + (name.hasSuffix(".lock") ? String(name.dropLast(5)) : name)
            if ProcessInfoReader.isAlive(pid) { continue }
            if FileSystem.exists(path + ".lock") && FileLock.attempt(path: path + ".lock") == nil { continue }
            unlink(path)
            unlink(path + ".lock")
        }
    }

    /// The pid in a private copy's name (`<64 hex>-PID`, or its `.lock`), or nil.
    static func owner(_ name: String) -> Int32? {
        let base = name.hasSuffix(".lock") ? name.dropLast(5) : Substring(name)
        guard base.count > 65, Digest.isHex(String(base.prefix(64))), base.dropFirst(64).first == "-" else { return nil }
        return Int32(base.dropFirst(65))
    }
}
