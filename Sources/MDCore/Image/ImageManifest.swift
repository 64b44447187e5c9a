/// An image manifest (OCI or Docker schema 2) as both `load` and `pull` read it: the config
/// and layer descriptors, each checked to be of a kind mdlua knows before any blob is read.
public struct ImageManifest {
    public let bytes: [UInt8]
    public let mediaType: String
    public let config: Descriptor
    public let layers: [Descriptor]

    /// `mediaType` is what the referring descriptor (or the registry) said, when known;
    /// the manifest's own field wins. `source` names the input in errors.
    public init(bytes: [UInt8], mediaType declared: String? = nil, source: String) throws {
        let j: JSON
        do { j = try JSON.parse(bytes) } catch { throw EngineError("\(source): manifest is not valid JSON (\(error))") }
        guard j["schemaVersion"]?.int == 2 else {
            throw EngineError("\(source): manifest schema version \(j["schemaVersion"]?.int.map(String.init) ?? "missing") is not supported (expected 2)")
        }
        let own = j["mediaType"]?.string ?? declared ?? MediaType.ociManifest
        guard MediaType.isManifest(own) else {
            throw EngineError("\(source): \"\(own)\" is not an image manifest media type")
        }
        guard let c = j["config"] else { throw EngineError("\(source): the manifest has no config") }
        let config = try Descriptor(json: c, what: "\(source): the config descriptor")
        try config.verifyConfigType(source: source)
        let layers = try (j["layers"]?.array ?? []).map { try Descriptor(json: $0, what: "\(source): a layer descriptor") }
        for l in layers { try l.verifyLayerType(source: source) }
        self.bytes = bytes
        self.mediaType = own
        self.config = config
        self.layers = layers
    }

    /// The diff IDs a config lists, one for each layer of this manifest.
    public func diffIDs(config bytes: [UInt8], source: String) throws -> [Digest] {
        let j: JSON
        do { j = try JSON.parse(bytes) } catch { throw EngineError("\(source): config \(config.digest) is not valid JSON (\(error))") }
        let ids = try (j["rootfs"]?["diff_ids"]?.stringArray ?? []).map { try Digest(parsing: $0) }
        guard ids.count == layers.count else {
            throw EngineError("\(source): config \(config.digest) lists \(ids.count) diff IDs for \(layers.count) layers")
        }
        return ids
    }
}
