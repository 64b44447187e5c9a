/// An image as the store records it. Its ID is the digest of its config, as Docker's.
public struct ImageRecord: Equatable {
    public var id: Digest
    public var manifest: Digest
    /// Diff IDs, bottom layer first.
    public var layers: [Digest]
    /// Normalized references (`docker.io/library/busybox:latest`).
    public var names: [String]
    /// Docker's RepoDigests, normalized: `NAME@DIGEST`, the digest a pull of NAME resolved
    /// to (an index's when it was one) or a push of it was stored as.
    public var digests: [String] = []
    public var created: String
    /// Unpacked size of all layers.
    public var size: UInt64
    /// When it entered this store.
    public var added: String

    public var json: JSON {
        var o: [String: JSON] = ["id": .string(id.description), "manifest": .string(manifest.description),
                                 "layers": .array(layers.map { .string($0.description) }),
                                 "names": .array(names.map { .string($0) }), "created": .string(created),
                                 "size": .int(Int64(size)), "added": .string(added)]
        if !digests.isEmpty { o["digests"] = .array(digests.map { .string($0) }) }
        return .object(o)
    }

    /// Records `NAME@DIGEST` as this image's in `images`; it belongs to one image, so it
    /// leaves any other.
    public static func addDigest(_ entry: String, to id: Digest, in images: inout [Digest: ImageRecord]) {
        for (other, var r) in images where other != id && r.digests.contains(entry) {
            r.digests.removeAll { $0 == entry }
            images[other] = r
        }
        if var r = images[id], !r.digests.contains(entry) {
            r.digests.append(entry)
            images[id] = r
        }
    }

    init(json j: JSON) throws {
        guard let id = j["id"]?.string, let m = j["manifest"]?.string else { throw EngineError("corrupt image record") }
        self.id = try Digest(parsing: id)
        manifest = try Digest(parsing: m)
        layers = try (j["layers"]?.stringArray ?? []).map { try Digest(parsing: $0) }
        names = j["names"]?.stringArray ?? []
        digests = j["digests"]?.stringArray ?? []
        created = j["created"]?.string ?? ""
        size = UInt64(j["size"]?.int ?? 0)
        added = j["added"]?.string ?? ""
    }

    public init(id: Digest, manifest: Digest, layers: [Digest], names: [String], created: String,
                size: UInt64, added: String) {
        self.id = id; self.manifest = manifest; self.layers = layers; self.names = names
        self.created = created; self.size = size; self.added = added
    }
}

/// `images.json`: every image and its names, replaced atomically as a whole.
public struct ImageIndex {
    public let path: String

    /// The index as on disk. A command reads it several times (find the image, mount its
    /// layers): the parse is reused while the file's bytes are the same.
    public func load() throws -> [Digest: ImageRecord] {
        guard FileSystem.exists(path) else { return [:] }
        let bytes = try FileSystem.readFile(path)
        if let c = ImageIndex.cache[path], c.bytes == bytes { return c.images }
        let j = try JSON.parse(bytes)
        var out: [Digest: ImageRecord] = [:]
        for v in j["images"]?.array ?? [] {
            let r = try ImageRecord(json: v)
            out[r.id] = r
        }
        ImageIndex.cache[path] = (bytes, out)
        return out
    }

    static var cache: [String: (bytes: [UInt8], images: [Digest: ImageRecord])] = [:]

    public func save(_ images: [Digest: ImageRecord]) throws {
        let list = images.values.sorted { $0.id < $1.id }.map(\.json)
        try FileSystem.writeAtomically(path, Array(JSON.object(["images": .array(list)]).serialized().utf8))
    }
}
