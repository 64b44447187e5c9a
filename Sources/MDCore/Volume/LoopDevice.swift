#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// A size limit where the backing file system has no project quotas (this host's ext4): an
/// ext4 image of that size, sparse, made once (mkfs) and attached to a free loop device
/// when it is mounted. Writes past the limit get ENOSPC inside; the host file system only
/// ever holds the blocks written. Used by volumes (`volume create --opt size=`,
/// VolumeMount.swift) and by containers' writable layers (`--storage-opt size=`,
/// Container/WritableLayer.swift).
public enum LoopDevice {
    /// "1G", "512m", "100k", "4096" (bytes) -> bytes (ByteSize: Docker's units).
    static func parseSize(_ s: String) throws -> UInt64 {
        switch size(s) {
        case .success(let bytes): return bytes
        case .failure(let p): throw EngineError("invalid size \"\(s)\": \(p.reason)")
        }
    }

    /// Why a size is refused: not one, or out of the range of an ext4 with room for files.
    public struct SizeProblem: Error { public let reason: String }

    public static func size(_ s: String) -> Result<UInt64, SizeProblem> {
        switch ByteSize.parse(s) {
        case .failure(.tooLarge): return .failure(SizeProblem(reason: "the maximum is 1024t"))
        case .failure(let p): return .failure(SizeProblem(reason: p.reason))
        case .success(let bytes):
            guard bytes <= 1 << 50 else { return .failure(SizeProblem(reason: "the maximum is 1024t")) }
            guard bytes >= minimum else { return .failure(SizeProblem(reason: "the minimum is 8m")) }
            return .success(bytes)
        }
    }

    /// The smallest image: an ext4 of 8 MiB (1 KiB blocks) holds its metadata and ~6 MiB.
    static let minimum: UInt64 = 8 << 20

    /// A sparse file of `bytes` with an empty ext4 on it (mkfs.ext4: no journal, so its
    /// space is the caller's; lazy init, so it takes a few ms).
    static func makeImage(_ path: String, bytes: UInt64) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError.system("create \(path)") }
        let ok = ftruncate(fd, off_t(bytes)) == 0
        close(fd)
        guard ok else { throw EngineError.system("size \(path)") }
        let status = try Subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1",
                                         "-m", "0", path])
        guard status == 0 else { throw EngineError("mkfs.ext4 \(path) failed (exit status \(status)): is e2fsprogs installed?") }
    }

    /// Mounts the image on `target` unless something is mounted there already: attached to
    /// a free loop device, which is released with the last mount (autoclear, also when the
    /// caller dies between the attach and the mount). The check and the mount hold a lock
    /// on the image, so two commands never attach it twice (two ext4 mounts of one image
    /// through two devices would corrupt it).
    static func mountIfNeeded(image: String, at target: String) throws {
        guard FileSystem.exists(image) else { throw EngineError("the file system image \(image) is missing") }
        let lock = try FileLock(path: image)
        defer { withExtendedLifetime(lock) {} }
        guard !isMountPoint(target) else { return }
        var dev = [CChar](repeating: 0, count: 64)
        let loop = mdl_loop_attach(image, &dev, dev.count)
        guard loop >= 0 else { throw EngineError.system("attach \(image) to a loop device") }
        defer { close(loop) }
        let name = String(cString: dev)
        guard Glibc.mount(name, target, "ext4", UInt(MS_NOATIME), nil) == 0 else {
            throw EngineError.system("mount \(name) (\(image)) on \(target)")
        }
    }

    /// Whether a file system other than its parent's is mounted on `path` (a loop-mounted
    /// image is always its own device): two stats, no mountinfo to read.
    static func isMountPoint(_ path: String) -> Bool {
        var here = stat(), parent = stat()
        guard stat(path, &here) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return here.st_dev != parent.st_dev
    }

    /// Unmounts everything on `target`; none is fine. A loop device goes with its last mount.
    static func unmountAll(_ target: String) throws {
        while mdl_umount(target, Int32(MNT_DETACH)) == 0 {}
        guard errno == EINVAL || errno == ENOENT else { throw EngineError.system("unmount \(target)") }
    }
}
