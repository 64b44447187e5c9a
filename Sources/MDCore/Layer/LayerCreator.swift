#if canImport(Glibc)
import Glibc
#endif
import CStream

/// New layers from the host: `layer create DIR` and `import FILE`.
public enum LayerCreator {
    /// Archives a directory into a layer (kept until `layer rm`, even when no image uses it).
    public static func create(in store: Store, from directory: String, comment: String) throws -> Layer {
        guard FileSystem.isDirectory(directory) else { throw EngineError("\(directory) is not a directory") }
        let staging = try store.staging("layer")
        let tarPath = staging.path + "/layer.tar"
        let fd = open(tarPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError.system("create \(tarPath)") }
        defer { close(fd) }
        _ = try LayerPacker.pack(directory: directory, to: fd)
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw EngineError.system("rewind \(tarPath)") }
        // Unpack what was written (not the directory, which may change meanwhile), so the
        // store's tree is exactly the tar.
        return try stage(fd: fd, in: store, staging: staging, what: "layer of \(directory)", comment: comment, keep: true)
    }

    /// A layer from a tar stream (plain, gzip or zstd) read from `fd`, kept like a created one.
    public static func `import`(in store: Store, fd: Int32, what: String, comment: String = "") throws -> Layer {
        let staging = try store.staging("import")
        return try stage(fd: fd, in: store, staging: staging, what: what, comment: comment, keep: true)
    }

    /// `import`: a rootfs tar becomes a one-layer image. Published with the image under one
    /// lock, so a failure leaves neither.
    public static func importImage(in store: Store, fd: Int32, what: String, config: JSON, names: [String]) throws -> ImageRecord {
        let staging = try store.staging("import")
        let staged = try stageTar(fd: fd, staging: staging, what: what)
        return try store.locked {
            let layer = try staged.publish(to: store)
            return try ImageAssembler.create(in: store, layers: [layer], config: config, names: names)
        }
    }

    static func stage(fd: Int32, in store: Store, staging: Staging, what: String, comment: String, keep: Bool) throws -> Layer {
        let staged = try stageTar(fd: fd, staging: staging, what: what)
        return try store.locked { try staged.publish(to: store, comment: comment, keep: keep) }
    }

    static func stageTar(fd: Int32, staging: Staging, what: String) throws -> StagedLayer {
        guard let s = mdl_stream_from_fd(fd) else { throw EngineError("out of memory") }
        defer { mdl_stream_free(s) }
        guard let staged = try StagedLayer.stage(s, into: staging.path + "/layer", what: what) else {
            throw EngineError("\(what): not a tar archive (plain, gzip or zstd)")
        }
        return staged
    }
}
