#if canImport(Glibc)
import Glibc
#endif
import CStream

/// New layers from the host: `layer create DIR` and `import FILE`.
public enum LayerCreator {
    /// Archives a directory into a layer (with `keep`, kept until `layer rm`, even when no
    /// image uses it).
    /// With `clampTime`, no entry is dated later than it (LayerPacker.clampTime).
    public static func create(in store: Store, from directory: String, comment: String, keep: Bool = true,
                              clampTime: Int64? = nil) throws -> Layer {
        guard FileSystem.isDirectory(directory) else { throw EngineError("\(directory) is not a directory") }
        let staging = try store.staging("layer")
        let staged = try pack(directory: directory, staging: staging, what: "layer of \(directory)", clampTime: clampTime)
        try store.syncStaged()
        return try store.locked { try staged.publish(to: store, comment: comment, keep: keep) }
    }

    /// The layers the engine writes are gzip, which every registry and client takes (a
    /// zstd layer cannot be converted to Docker's schema 2 manifest, which skopeo refuses
    /// and older Docker clients cannot pull), at libdeflate's level 1, in members of 1 MiB
    /// of tar compressed on worker threads (mdl_layer_writer.h): the compression keeps up
    /// with the walk.
    static let compression = Int32(MDL_KIND_GZIP)
    static let compressionLevel: Int32 = 1

    /// A directory packed into a staged layer in one pass: each file is read once; its
    /// bytes go into the tar (hashed: the diff ID; compressed with gzip on other threads and
    /// hashed again: the blob) and into the staged `diff/`, made entry by entry as the tar
    /// describes it, so the store's tree is exactly the tar even if the directory changes
    /// meanwhile (a file that changes size while read fails the layer).
    public static func pack(directory: String, staging: Staging, what: String, excluding: Set<String> = [],
                            clampTime: Int64? = nil) throws -> StagedLayer {
        let dir = staging.path + "/layer"
        guard mkdir(dir, 0o700) == 0, mkdir(dir + "/diff", 0o755) == 0 else { throw EngineError.system("mkdir \(dir)") }
        let blobFd = open(dir + "/blob", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard blobFd >= 0 else { throw EngineError.system("create \(dir)/blob") }
        defer { close(blobFd) }
        guard let writer = mdl_layer_writer_new(blobFd, compression, compressionLevel) else {
            throw EngineError("\(what): cannot start the compressor")
        }
        defer { mdl_layer_writer_free(writer) }
        let tar = TarWriter(layer: writer, what: what)
        let size = try LayerPacker.pack(directory: directory, into: tar, mirror: dir + "/diff", excluding: excluding,
                                           clampTime: clampTime)
        try tar.finish()
        var blobHex = [CChar](repeating: 0, count: 65), diffHex = [CChar](repeating: 0, count: 65)
        var blobSize: UInt64 = 0, tarSize: UInt64 = 0
        guard mdl_layer_writer_finish(writer, &blobHex, &diffHex, &blobSize, &tarSize) == 0 else {
            throw EngineError("\(what): \(String(cString: mdl_layer_writer_error(writer)))")
        }
        FileSystem.startWriteback(blobFd)
        return StagedLayer(dir: dir, kind: compression, blob: Digest(hex: String(cString: blobHex)),
                           diffID: Digest(hex: String(cString: diffHex)), blobSize: blobSize,
                           tarSize: tarSize, size: size)
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
        try store.syncStaged()
        return try store.locked {
            let layer = try staged.publish(to: store)
            return try ImageAssembler.create(in: store, layers: [layer], config: config, names: names)
        }
    }

    static func stage(fd: Int32, in store: Store, staging: Staging, what: String, comment: String, keep: Bool) throws -> Layer {
        let staged = try stageTar(fd: fd, staging: staging, what: what)
        try store.syncStaged()
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
