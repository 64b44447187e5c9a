#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// A size limit where the backing file system has no project quotas (this host's ext4): an
/// ext4 image of that size, sparse, made once (mkfs, off the start path) and attached to a
/// free loop device when it is mounted. Writes past the limit get ENOSPC inside; the host
/// file system only ever holds the blocks written.
enum LoopDevice {
    /// "1G", "512m", "100k", "4096" (bytes) -> bytes; Docker's units, powers of 1024.
    static func parseSize(_ s: String) throws -> UInt64 {
        let lower = s.lowercased()
        var digits = Substring(lower)
        var mult: UInt64 = 1
        if lower.hasSuffix("b") { digits = digits.dropLast() }
        if let u = digits.last, let m = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40][String(u)] {
            mult = UInt64(m)
            digits = digits.dropLast()
        }
        guard let n = UInt64(digits), n > 0 else {
            throw EngineError("invalid size \"\(s)\": expected a size like 100m or 1g")
        }
        let bytes = n * mult
        guard bytes >= 8 << 20 else { throw EngineError("invalid size \"\(s)\": the minimum is 8m") }
        return bytes
    }

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

    /// Attaches the image to a free loop device and mounts it on `target`. The device is
    /// released with the mount (autoclear).
    static func mount(image: String, at target: String) throws {
        var dev = [CChar](repeating: 0, count: 64)
        let loop = mdl_loop_attach(image, &dev, dev.count)
        guard loop >= 0 else { throw EngineError.system("attach \(image) to a loop device") }
        defer { close(loop) }
        let name = String(cString: dev)
        guard Glibc.mount(name, target, "ext4", UInt(MS_NOATIME), nil) == 0 else {
            throw EngineError.system("mount \(name) (\(image)) on \(target)")
        }
    }
}
