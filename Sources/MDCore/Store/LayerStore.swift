#if canImport(Glibc)
import Glibc
#endif

/// A layer as stored: unpacked once under its diff ID, with the blob it came from.
public struct Layer: Equatable {
    /// sha256 of the uncompressed tar: the name in image configs (`rootfs.diff_ids`).
    public var diffID: Digest
    /// The blob as received or written (maybe compressed): what manifests name.
    public var blob: Digest
    public var mediaType: String
    public var blobSize: UInt64
    /// Size of the uncompressed tar.
    public var tarSize: UInt64
    /// Sum of the regular files' sizes.
    public var size: UInt64
    public var created: String
    public var comment: String
    /// Made with `layer create`: kept when no image uses it, until `layer rm`.
    public var keep: Bool

    public init(diffID: Digest, blob: Digest, mediaType: String, blobSize: UInt64, tarSize: UInt64,
                size: UInt64, created: String, comment: String, keep: Bool) {
        self.diffID = diffID; self.blob = blob; self.mediaType = mediaType; self.blobSize = blobSize
        self.tarSize = tarSize; self.size = size; self.created = created; self.comment = comment; self.keep = keep
    }

    public var json: JSON {
        .object(["diff_id": .string(diffID.description), "blob": .string(blob.description),
                 "media_type": .string(mediaType), "blob_size": .int(Int64(blobSize)),
                 "tar_size": .int(Int64(tarSize)), "size": .int(Int64(size)),
                 "created": .string(created), "comment": .string(comment), "keep": .bool(keep)])
    }

    public init(json j: JSON) throws {
        guard let d = j["diff_id"]?.string, let b = j["blob"]?.string else { throw EngineError("corrupt layer record") }
        diffID = try Digest(parsing: d)
        blob = try Digest(parsing: b)
        mediaType = j["media_type"]?.string ?? MediaType.ociLayer
        blobSize = UInt64(j["blob_size"]?.int ?? 0)
        tarSize = UInt64(j["tar_size"]?.int ?? 0)
        size = UInt64(j["size"]?.int ?? 0)
        created = j["created"]?.string ?? ""
        comment = j["comment"]?.string ?? ""
        keep = j["keep"] == .bool(true)
    }
}

public struct LayerStore {
    public let dir: String

    public func path(_ d: Digest) -> String { dir + "/" + d.hex }
    public func diffPath(_ d: Digest) -> String { path(d) + "/diff" }
    /// Short links to the diff dirs, for kernels whose overlay takes one option string
    /// (OverlayRootfs.Style.classic).
    public var links: String { dir + "/l" }
    public func has(_ d: Digest) -> Bool { FileSystem.exists(path(d) + "/layer.json") }

    public func get(_ d: Digest) throws -> Layer {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path(d) + "/layer.json") } catch {
            throw EngineError("no such layer: \(d)")
        }
        return try Layer(json: JSON.parse(bytes))
    }

    public func list() -> [Layer] {
        FileSystem.list(dir).filter(Digest.isHex).compactMap { try? get(Digest(hex: $0)) }
    }

    /// Moves a staged layer directory (holding `diff/`) into place, writing its record
    /// last: a layer without layer.json is unfinished and invisible. Returns false when the
    /// layer already existed (the staged copy is left for the caller to discard). Not
    /// `durable`: the record and the rename are synced by the caller, with others, before
    /// an image names the layer (Store.syncStaged).
    @discardableResult
    public func publish(staged: String, layer: Layer, durable: Bool = true) throws -> Bool {
        if has(layer.diffID) { return false }
        let target = path(layer.diffID)
        if FileSystem.exists(target) { try FileSystem.removeTree(target) }   // an unfinished one
        try FileSystem.writeAtomically(staged + "/layer.json", Array(layer.json.serialized().utf8), durable: durable)
        guard rename(staged, target) == 0 else { throw EngineError.system("store layer \(layer.diffID)") }
        if durable { FileSystem.syncDirectory(of: target) }
        return true
    }

    public func update(_ layer: Layer) throws {
        try FileSystem.writeAtomically(path(layer.diffID) + "/layer.json", Array(layer.json.serialized().utf8))
    }

    public func remove(_ d: Digest) throws {
        // Unpublish first (the record), then the tree: a crash in between leaves an
        // unfinished layer that the next publish replaces.
        unlink(path(d) + "/layer.json")
        unlink(links + "/" + OverlayRootfs.shortName(diffPath(d)))
        try FileSystem.removeTree(path(d))
    }
}
