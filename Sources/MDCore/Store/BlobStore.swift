#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed blobs: `<dir>/<hex>`, written once, never changed.
public struct BlobStore {
    public let dir: String

    public func path(_ d: Digest) -> String { dir + "/" + d.hex }

    public func has(_ d: Digest) -> Bool { FileSystem.exists(path(d)) }

    public func read(_ d: Digest) throws -> [UInt8] {
        guard has(d) else { throw EngineError("blob \(d) is missing from the store") }
        return try FileSystem.readFile(path(d))
    }

    /// Stores bytes (digest computed here). Idempotent. Not `durable`: the caller syncs the
    /// file system before anything names the blob (Store.syncStaged).
    @discardableResult
    public func put(_ bytes: [UInt8], durable: Bool = true) throws -> Digest {
        let d = Digest.of(bytes)
        if !has(d) { try FileSystem.writeAtomically(path(d), bytes, durable: durable) }
        return d
    }

    /// Moves a fully written, verified file into the store under its digest. The file must
    /// be on disk already (Store.syncStaged), as everything a publish moves in.
    public func adopt(file: String, as d: Digest) throws {
        if has(d) { unlink(file); return }
        guard rename(file, path(d)) == 0 else { throw EngineError.system("store blob \(d)") }
    }

    public func list() -> [Digest] {
        FileSystem.list(dir).filter(Digest.isHex).map { Digest(hex: $0) }
    }

    public func remove(_ d: Digest) { unlink(path(d)) }
}
