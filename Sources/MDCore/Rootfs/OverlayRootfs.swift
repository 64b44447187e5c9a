#if canImport(Glibc)
import Glibc
#endif
import CKernel

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

    /// How the lower dirs are handed to the kernel.
    public enum Style {
        /// One `lowerdir+` option per layer (Linux 6.8): no bound but overlayfs' own.
        case appended
        /// One `lowerdir=` string of short links (older kernels): it must fit in a page.
        case classic
        /// `appended` where the kernel has it, else `classic`.
        case detect
    }

    /// Mounts the overlay on `target` (an existing directory). With no layers, an empty
    /// directory under `work`'s parent serves as the lower dir. `volatile` (for a container
    /// that is thrown away when it stops): no syncs of the upper dir, which makes the
    /// unmount ~10x cheaper; its contents are not to be trusted after a crash. `links`: the
    /// directory of short links the classic style names the lower dirs by (the store's
    /// `ROOT/layers/l`).
    public static func mount(lowers: [String], upper: String, work: String, target: String, volatile: Bool = false,
                             links: String, style: Style = .detect) throws {
        var lowers = lowers
        if lowers.isEmpty {
            let empty = work.parentPath + "/empty"
            try FileSystem.makeDirectories(empty, mode: 0o755)
            lowers = [empty]
        }
        let targetFd = open(target, MDL_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard targetFd >= 0 else { throw EngineError.system("open mount target \(target)") }
        defer { close(targetFd) }
        let appended: Bool
        switch style {
        case .appended: appended = true
        case .classic: appended = false
        case .detect: appended = Kernel.overlayAppendsLowerDirs
        }
        var err = [CChar](repeating: 0, count: 512)
        var rc: Int32 = -2
        if appended {
            let cStrings = lowers.map { strdup($0) }
            defer { cStrings.forEach { free($0) } }
            rc = cStrings.map { UnsafePointer($0) }.withUnsafeBufferPointer { buf in
                mdl_overlay_mount(buf.baseAddress, Int32(buf.count), upper, work, volatile ? 1 : 0, targetFd, &err, err.count)
            }
            // A kernel that refuses the option whatever its version says: classic from now on.
            if rc == -2 && style == .detect { Kernel.overlayAppendsLowerDirs = false }
        }
        if rc == -2 && style != .appended {
            let options = try classicOptions(lowers: lowers, upper: upper, work: work, volatile: volatile, links: links)
            let linksFd = open(links.parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard linksFd >= 0 else { throw EngineError.system("open \(links.parentPath)") }
            defer { close(linksFd) }
            rc = mdl_overlay_mount_classic(linksFd, options, targetFd)
        }
        guard rc == 0 else {
            let code = errno
            let detail = String(cString: err)
            throw EngineError("mount overlay on \(target) (\(lowers.count) layers): "
                              + (detail.isEmpty ? String(cString: strerror(code)) : detail))
        }
    }

    /// The option string of a classic overlay mount: `lowerdir=l/NAME:l/NAME...` relative to
    /// the parent of `links` (the mount is made from there), so that a layer costs 16 bytes
    /// of the page instead of its whole path. The links are made as needed.
    static func classicOptions(lowers: [String], upper: String, work: String, volatile: Bool, links: String) throws -> String {
        try FileSystem.makeDirectories(links, mode: 0o700)
        let base = links.lastPathComponent
        var names: [String] = []
        for dir in lowers {
            let name = shortName(dir)
            try ensureLink(links + "/" + name, to: dir)
            names.append(base + "/" + name)
        }
        var options = "lowerdir=" + names.joined(separator: ":")
            + ",upperdir=" + escaped(upper) + ",workdir=" + escaped(work)
        if volatile { options += ",volatile" }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard options.utf8.count < page else {
            let fixed = options.utf8.count - names.reduce(0) { $0 + $1.utf8.count + 1 }
            throw EngineError("\(lowers.count) layers do not fit in one overlay on Linux \(Kernel.release): "
                              + "its options hold at most \((page - 1 - fixed) / (base.utf8.count + 15)) "
                              + "(Linux 6.8 takes up to \(maxLayers)); flatten the image (export | import)")
        }
        return options
    }

    /// The link name of a lower dir: 13 characters of a 64-bit hash of its path, so the same
    /// layer keeps its link, and two layers share one only by a 1-in-2^64 accident, which
    /// ensureLink refuses rather than mounts.
    public static func shortName(_ path: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in path.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var s = ""
        for _ in 0..<13 { s.append(alphabet[Int(h & 31)]); h >>= 5 }
        return s
    }

    static func ensureLink(_ link: String, to dir: String) throws {
        if symlink(dir, link) == 0 { return }
        guard errno == EEXIST else { throw EngineError.system("make the overlay link \(link)") }
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink(link, &buf, buf.count - 1)
        if n >= 0 && String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == dir { return }
        // Not ours (a left-over, or the hash's accident): replaced only when it points nowhere.
        if n >= 0 && !FileSystem.exists(link) {
            unlink(link)
            if symlink(dir, link) == 0 { return }
        }
        throw EngineError("the overlay link \(link) names another layer than \(dir)")
    }

    /// overlayfs splits its options at ',' and its lower dirs at ':'; a backslash escapes.
    static func escaped(_ path: String) -> String {
        var out = ""
        for c in path {
            if c == "," || c == ":" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
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

    /// The last part of a path ("/a/b" -> "b").
    var lastPathComponent: String {
        guard let i = lastIndex(of: "/") else { return self }
        return String(self[index(after: i)...])
    }
}
