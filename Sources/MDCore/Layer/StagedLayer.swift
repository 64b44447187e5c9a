#if canImport(Glibc)
import Glibc
#endif
import CKernel
import CStream

/// A layer read from a stream into a staging directory: its blob copied byte for byte, its
/// tar unpacked into `diff/`, both digests known. Nothing is in the store until `publish`.
public struct StagedLayer {
    public let dir: String
    public var blobFile: String { dir + "/blob" }
    public var diffDir: String { dir + "/diff" }
    public let kind: Int32
    public let blob: Digest
    public let diffID: Digest
    public let blobSize: UInt64
    public let tarSize: UInt64
    public let size: UInt64

    public var mediaType: String {
        switch kind {
        case Int32(MDL_KIND_GZIP): return MediaType.ociLayerGzip
        case Int32(MDL_KIND_ZSTD): return MediaType.ociLayerZstd
        default: return MediaType.ociLayer
        }
    }

    /// Reads a layer from `stream` into `dir` (created here). `what` names it in errors.
    /// Returns nil, having read nothing past the first bytes, when the stream is not a
    /// layer (JSON, say): the caller reads it as data. A layer that fails part way throws
    /// `Unreadable`, the input read to its end for the blob digest. Without `copyBlob`,
    /// the caller puts the blob at `blobFile` itself (a pull has it in a file already).
    /// `hashedBlob`: the blob's digest when the caller hashes the same bytes itself and
    /// stopped the stream from doing it again (mdl_stream_skip_raw_digest; a pull, whose
    /// download checks them against that digest).
    public static func stage(_ stream: OpaquePointer, into dir: String, what: String, copyBlob: Bool = true,
                             hashedBlob: Digest? = nil) throws -> StagedLayer? {
        let kind = mdl_stream_kind(stream)
        guard kind >= 0 else { throw EngineError("\(what): \(String(cString: mdl_stream_error(stream)))") }
        guard kind == MDL_KIND_TAR || kind == MDL_KIND_GZIP || kind == MDL_KIND_ZSTD else { return nil }
        guard mkdir(dir, 0o700) == 0, mkdir(dir + "/diff", 0o755) == 0 else { throw EngineError.system("mkdir \(dir)") }
        let blobFd = copyBlob ? open(dir + "/blob", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) : -1
        guard blobFd >= 0 || !copyBlob else { throw EngineError.system("create \(dir)/blob") }
        defer { if blobFd >= 0 { close(blobFd) } }
        do {
            guard blobFd < 0 || mdl_stream_copy_to(stream, blobFd) == 0, let tar = mdl_stream_tar(stream) else {
                throw EngineError("\(what): \(String(cString: mdl_stream_error(stream)))")
            }
            let size: UInt64
            do {
                size = try LayerUnpacker.unpack(tar, into: dir + "/diff", what: what)
            } catch {
                // A stream error (truncation, corruption) is the cause; say that rather than
                // libarchive's echo of it.
                let streamError = String(cString: mdl_stream_error(stream))
                if streamError != "unknown error" { throw EngineError("\(what): \(streamError)") }
                throw error
            }
            var rawHex = [CChar](repeating: 0, count: 65), plainHex = [CChar](repeating: 0, count: 65)
            var rawSize: UInt64 = 0, plainSize: UInt64 = 0
            guard mdl_stream_finish(stream, &rawHex, &plainHex, &rawSize, &plainSize) == 0 else {
                throw EngineError("\(what): \(String(cString: mdl_stream_error(stream)))")
            }
            if blobFd >= 0 { FileSystem.startWriteback(blobFd) }
            return StagedLayer(dir: dir, kind: kind, blob: hashedBlob ?? Digest(hex: String(cString: rawHex)),
                               diffID: Digest(hex: String(cString: plainHex)), blobSize: rawSize,
                               tarSize: plainSize, size: size)
        } catch {
            var rawHex = [CChar](repeating: 0, count: 65)
            var rawSize: UInt64 = 0
            guard mdl_stream_raw_digest(stream, &rawHex, &rawSize) == 0 else { throw error }
            throw Unreadable(blob: Digest(hex: String(cString: rawHex)), blobSize: rawSize, description: "\(error)")
        }
    }

    /// A layer blob that could not be unpacked, with the digest of all its bytes: whoever
    /// knows which digest the blob should have can tell a blob that is not the one named
    /// (report that) from one that is broken as named (report this).
    public struct Unreadable: Error, CustomStringConvertible {
        public let blob: Digest
        public let blobSize: UInt64
        public let description: String
    }

    /// Moves the blob and the unpacked tree into the store (with the store lock held), once
    /// they are on disk (Store.syncStaged, called before: nothing is published before its
    /// content is durable). A layer already there is kept and this copy dropped. Not
    /// `durable`: the record and the renames are left for the caller's next
    /// Store.syncStaged (one for all the layers of an image), which must come before an image
    /// names them.
    public func publish(to store: Store, comment: String = "", keep: Bool = false, durable: Bool = true) throws -> Layer {
        if store.layers.has(diffID) {
            var existing = try store.layers.get(diffID)
            if keep && !existing.keep {
                existing.keep = true
                if !comment.isEmpty { existing.comment = comment }
                try store.layers.update(existing)
            }
            // Keep this blob too: the manifest that came with it names it.
            try store.blobs.adopt(file: blobFile, as: blob)
            if durable { FileSystem.syncDirectory(of: store.blobs.path(blob)) }
            return existing
        }
        try store.blobs.adopt(file: blobFile, as: blob)
        if durable { FileSystem.syncDirectory(of: store.blobs.path(blob)) }
        let layer = Layer(diffID: diffID, blob: blob, mediaType: mediaType, blobSize: blobSize,
                          tarSize: tarSize, size: size, created: Clock.now(), comment: comment, keep: keep)
        try store.layers.publish(staged: dir, layer: layer, durable: durable)
        return layer
    }
}
