/// An OCI content descriptor: what a manifest or index promises about a blob. Every blob
/// that enters the store from an archive or a registry is checked against one (`verify`):
/// its digest, its size and, for layers and configs, a media type mdlua knows.
public struct Descriptor: Equatable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]
    public var artifactType: String?

    public struct Platform: Equatable, CustomStringConvertible {
        public var os: String
        public var architecture: String
        public var variant: String?

        public init(os: String, architecture: String, variant: String? = nil) {
            self.os = os; self.architecture = architecture; self.variant = variant
        }

        /// `os/arch[/variant]`, as `--platform` takes it.
        public init(parsing s: String) throws {
            let p = s.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard (2...3).contains(p.count), p.allSatisfy({ !$0.isEmpty }) else {
                throw EngineError("invalid platform \"\(s)\": expected os/arch[/variant]")
            }
            self.init(os: p[0], architecture: p[1], variant: p.count == 3 ? p[2] : nil)
        }

        public static let host = Platform(os: "linux", architecture: "amd64")

        public var description: String { os + "/" + architecture + (variant.map { "/" + $0 } ?? "") }

        /// An index entry for this platform; a variant asked for must match, one not asked
        /// for matches any.
        public func accepts(_ other: Platform) -> Bool {
            os == other.os && architecture == other.architecture && (variant == nil || variant == other.variant)
        }
    }

    public init(mediaType: String, digest: Digest, size: Int64) {
        self.mediaType = mediaType; self.digest = digest; self.size = size
        platform = nil; annotations = [:]; artifactType = nil
    }

    /// Parses a descriptor; `what` names it in errors ("a layer descriptor").
    public init(json j: JSON, what: String) throws {
        guard let ds = j["digest"]?.string else { throw EngineError("\(what) lacks its digest") }
        digest = try Digest(parsing: ds)
        guard let size = j["size"]?.int, size >= 0 else { throw EngineError("\(what) \(ds) lacks its size") }
        self.size = size
        mediaType = j["mediaType"]?.string ?? ""
        artifactType = j["artifactType"]?.string
        var annotations: [String: String] = [:]
        for (k, v) in j["annotations"]?.object ?? [:] { if let s = v.string { annotations[k] = s } }
        self.annotations = annotations
        if let p = j["platform"], let os = p["os"]?.string, let arch = p["architecture"]?.string {
            platform = Platform(os: os, architecture: arch, variant: p["variant"]?.string)
        } else {
            platform = nil
        }
    }

    public var json: JSON {
        .object(["mediaType": .string(mediaType), "digest": .string(digest.description), "size": .int(size)])
    }

    /// An index entry that is not an image for a platform: an attestation (buildx marks
    /// them with an annotation and the platform unknown/unknown) or another OCI artifact.
    public var isArtifact: Bool {
        annotations["vnd.docker.reference.type"] != nil || artifactType != nil
            || platform?.os == "unknown"
            || !(MediaType.isManifest(mediaType) || MediaType.isIndex(mediaType) || mediaType.isEmpty)
    }

    /// Checks bytes against this descriptor. `source` and `what` name them in errors.
    public func verify(_ bytes: [UInt8], source: String, what: String) throws {
        guard Int64(bytes.count) == size else {
            throw EngineError("\(source): \(what) \(digest) is \(bytes.count) bytes, its descriptor says \(size)")
        }
        let actual = Digest.of(bytes)
        guard actual == digest else {
            throw EngineError("\(source): \(what) \(digest) does not match its digest (content is \(actual))")
        }
    }

    /// Checks that a layer descriptor names a media type mdlua can unpack.
    public func verifyLayerType(source: String) throws {
        guard MediaType.isLayer(mediaType) else {
            throw EngineError("\(source): layer \(digest) has media type \"\(mediaType)\", which is not a layer mdlua can unpack")
        }
    }

    /// Checks that a config descriptor names an image config.
    public func verifyConfigType(source: String) throws {
        guard MediaType.isConfig(mediaType) else {
            throw EngineError("\(source): config \(digest) has media type \"\(mediaType)\": not a container image")
        }
    }

    /// Checks a staged layer's blob against this descriptor (digest and size).
    public func verify(layer: StagedLayer, source: String) throws {
        try verifyLayerType(source: source)
        guard layer.blob == digest else {
            throw EngineError("\(source): layer \(digest) does not match its digest (content is \(layer.blob))")
        }
        guard Int64(layer.blobSize) == size else {
            throw EngineError("\(source): layer \(digest) is \(layer.blobSize) bytes, its descriptor says \(size)")
        }
    }
}
