/// The media types mdlua reads and writes, and what each one is.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// Layers: a tar, maybe compressed. The compression is told by the blob's first bytes
    /// (old `docker save` archives call plain tars gzip), so only the kind matters here.
    static let layers: Set<String> = [
        ociLayer, ociLayerGzip, ociLayerZstd, dockerLayerGzip, dockerForeignLayer,
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    ]
    static let configs: Set<String> = [ociConfig, dockerConfig]
    static let manifests: Set<String> = [ociManifest, dockerManifest]
    static let indexes: Set<String> = [ociIndex, dockerManifestList]

    public static func isLayer(_ t: String) -> Bool { layers.contains(t) }
    public static func isConfig(_ t: String) -> Bool { configs.contains(t) }
    public static func isManifest(_ t: String) -> Bool { manifests.contains(t) }
    public static func isIndex(_ t: String) -> Bool { indexes.contains(t) }
}
