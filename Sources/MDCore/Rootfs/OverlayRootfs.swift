#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A container's root filesystem: the image's unpacked layers as overlay lower dirs
/// (shared, never written), plus the container's own upper and work dirs.
public enum OverlayRootfs {
    /// The kernel refuses more lower layers than this (fs/overlayfs: OVL_MAX_STACK).
    public static let maxLayers = 500

    /// Lower dirs, topmost first, for an image's layers. A layer listed twice is kept only
    /// at its topmost place: overlayfs refuses the same dir twice, and the lower copy is
    /// shadowed by the upper one anyway. `reserving`: lower dirs the caller adds.
    public static func lowerDirs(_ image: ImageRecord, in store: Store, reserving: Int = 0) throws -> [String] {
        var seen: Set<Digest> = []
        var dirs: [String] = []
        for d in image.layers.reversed() where seen.insert(d).inserted {
            guard store.layers.has(d) else { throw EngineError("image \(image.id.short): layer \(d) is missing from the store") }
            dirs.append(store.layers.diffPath(d))
        }
        guard dirs.count <= maxLayers - reserving else {
            throw EngineError("image \(image.id.short) has \(dirs.count) layers; a container's overlayfs takes at most \(maxLayers - reserving): flatten it (export | import)")
        }
        return dirs
    }

    /// Mounts the overlay on `target` (an existing directory). With no layers, an empty
    /// directory under `work`'s parent serves as the lower dir. `volatile` (for a container
    /// that is thrown away when it stops): no syncs of the upper dir, which makes the
    /// unmount ~10x cheaper; its contents are not to be trusted after a crash.
    public static func mount(lowers: [String], upper: String, work: String, target: String, volatile: Bool = false) throws {
        var lowers = lowers
        if lowers.isEmpty {
            let empty = work.parentPath + "/empty"
            try FileSystem.makeDirectories(empty, mode: 0o755)
            lowers = [empty]
        }
        let targetFd = open(target, MDL_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard targetFd >= 0 else { throw EngineError.system("open mount target \(target)") }
        defer { close(targetFd) }
        var err = [CChar](repeating: 0, count: 512)
        let cStrings = lowers.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let rc = cStrings.map { UnsafePointer($0) }.withUnsafeBufferPointer { buf in
            mdl_overlay_mount(buf.baseAddress, Int32(buf.count), upper, work, volatile ? 1 : 0, targetFd, &err, err.count)
        }
        guard rc == 0 else {
            let code = errno
            let detail = String(cString: err)
            throw EngineError("mount overlay on \(target) (\(lowers.count) layers): "
                              + (detail.isEmpty ? String(cString: strerror(code)) : detail))
        }
    }

    /// Unmounts (lazily, so a busy mount still goes away). Returns false when nothing was
    /// mounted there, which is not an error.
    @discardableResult
    public static func unmount(_ target: String) throws -> Bool {
        if mdl_umount(target, Int32(MNT_DETACH)) == 0 { return true }
        if errno == EINVAL || errno == ENOENT { return false }
        throw EngineError.system("unmount \(target)")
    }
}

extension String {
    /// The directory part of a path ("/a/b" -> "/a").
    var parentPath: String {
        guard let i = lastIndex(of: "/") else { return "." }
        return i == startIndex ? "/" : String(self[..<i])
    }
}
