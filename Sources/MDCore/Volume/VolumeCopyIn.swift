#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// Docker's copy-in: a volume that is empty when a container mounts it over a directory
/// that has content in the image gets that content first, owners, modes, times, extended
/// attributes, symlinks, device nodes and hard links kept. The image's side is read through
/// fds resolved in the container's root, never following a symlink (the target path itself
/// is resolved inside the root, as the mount will be).
///
/// One copier at a time per volume (`copy.lock`); `copying` marks a copy under way, so the
/// next copier finds one a kill -9 interrupted, empties the volume and copies again.
enum VolumeCopyIn {
    static func populate(_ volumes: VolumeStore, _ name: String, rootfs: String, destination: String) throws {
        let root = try RootedDirectory(path: rootfs)
        let rel = destination.split(separator: "/").joined(separator: "/")
        let src = root.open(rel.isEmpty ? [] : [rel], flags: O_RDONLY | O_DIRECTORY)
        guard src >= 0 else { return }   // nothing there in the image (or not a directory)
        defer { close(src) }
        let lock = try FileLock(path: volumes.path(name) + "/copy.lock")
        defer { withExtendedLifetime(lock) {} }
        let marker = volumes.path(name) + "/copying"
        let dst = open(volumes.mountpoint(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dst >= 0 else { throw EngineError.system("open volume \(name)") }
        defer { close(dst) }
        if FileSystem.exists(marker) {
            try FileSystem.removeContents(dst, path: volumes.mountpoint(name))   // an interrupted copy
        } else if !(try FileSystem.entries(dst, path: name).filter { $0.name != "lost+found" }.isEmpty) {
            return
        }
        guard try !FileSystem.entries(src, path: destination).isEmpty else { return }
        unlink(marker)
        try FileSystem.writeNewFile(marker, [])
        var links: [Key: String] = [:]
        var st = stat()
        fstat(src, &st)
        for (entry, _) in try FileSystem.entries(src, path: destination) {
            try copy(src, entry, to: dst, top: dst, path: entry, links: &links, what: destination)
        }
        fchown(dst, st.st_uid, st.st_gid)
        fchmod(dst, mode_t(st.st_mode & 0o7777))
        try copyXattrs(from: src, nil, to: dst, nil)
        unlink(marker)
    }

    struct Key: Hashable { let dev: UInt64; let ino: UInt64 }

    /// One entry (a directory with its tree) from `sdir` to `ddir`, under the same name.
    /// `links`: files with more than one link already copied, by inode, at their path
    /// relative to the volume's top directory `top`.
    static func copy(_ sdir: Int32, _ name: String, to ddir: Int32, top: Int32, path: String, links: inout [Key: String],
                     what: String) throws {
        var st = stat()
        guard fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw EngineError.system("copy \(what)/\(path)") }
        let type = UInt32(st.st_mode) & FileType.mask
        let key = Key(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        if type != FileType.directory && st.st_nlink > 1, let first = links[key] {
            // A link to the volume's own copy, opened beneath its top without following symlinks.
            let f = mdl_openat2(top, first, MDL_O_PATH | O_CLOEXEC, 0, UInt64(MDL_RESOLVE_BENEATH | MDL_RESOLVE_NO_SYMLINKS))
            if f >= 0 {
                defer { close(f) }
                if mdl_link_fd(f, ddir, name) == 0 { return }
            }
        }
        switch type {
        case FileType.directory:
            guard mkdirat(ddir, name, 0o700) == 0 else { throw EngineError.system("copy \(what)/\(path)") }
            let s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            defer { if s >= 0 { close(s) }; if d >= 0 { close(d) } }
            guard s >= 0, d >= 0 else { throw EngineError.system("copy \(what)/\(path)") }
            for (entry, _) in try FileSystem.entries(s, path: what + "/" + path) {
                try copy(s, entry, to: d, top: top, path: path + "/" + entry, links: &links, what: what)
            }
            try copyXattrs(from: s, nil, to: d, nil)
            fchown(d, st.st_uid, st.st_gid)
            fchmod(d, mode_t(st.st_mode & 0o7777))
            var times = [st.st_atim, st.st_mtim]
            futimens(d, &times)
            return
        case FileType.regular:
            let s = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard s >= 0 else { throw EngineError.system("copy \(what)/\(path)") }
            defer { close(s) }
            let d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard d >= 0 else { throw EngineError.system("copy \(what)/\(path)") }
            defer { close(d) }
            var left = Int(st.st_size)
            while left > 0 {
                let n = mdl_copy_file_range(s, d, left)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    if n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS) { try pump(s, d, what: path); break }
                    if n == 0 { break }
                    throw EngineError.system("copy \(what)/\(path)")
                }
                left -= n
            }
            try copyXattrs(from: s, nil, to: d, nil)
            fchown(d, st.st_uid, st.st_gid)
            fchmod(d, mode_t(st.st_mode & 0o7777))   // after chown, which clears setuid
            var times = [st.st_atim, st.st_mtim]
            futimens(d, &times)
        case FileType.symlink:
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlinkat(sdir, name, &buf, 4096)
            guard n >= 0 else { throw EngineError.system("copy \(what)/\(path)") }
            buf[n] = 0
            guard symlinkat(buf, ddir, name) == 0 else { throw EngineError.system("copy \(what)/\(path)") }
            try copyXattrs(from: sdir, name, to: ddir, name)
            fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW)
            var times = [st.st_atim, st.st_mtim]
            utimensat(ddir, name, &times, AT_SYMLINK_NOFOLLOW)
        default:
            // Device nodes, fifos, sockets: made again (the volume is the container's).
            guard mdl_mknodat(ddir, name, mode_t(st.st_mode), mdl_major(st.st_rdev), mdl_minor(st.st_rdev)) == 0 else {
                throw EngineError.system("copy \(what)/\(path)")
            }
            try copyXattrs(from: sdir, name, to: ddir, name)
            fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW)
            fchmodat(ddir, name, mode_t(st.st_mode & 0o7777), 0)
        }
        if st.st_nlink > 1 { links[key] = path }
    }

    static func pump(_ s: Int32, _ d: Int32, what: String) throws {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(s, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw EngineError.system("read \(what)") }
            if n == 0 { return }
            try buf.withUnsafeBytes { try FileSystem.writeAll(d, UnsafeRawBufferPointer(rebasing: $0[0..<n]), what: what) }
        }
    }

    /// Extended attributes of an fd (name nil) or of the entry `name` in a directory fd,
    /// not following a symlink. A target that refuses one (a trusted.* without the
    /// capability) is an error: the copy would not be what the image holds.
    static func copyXattrs(from sfd: Int32, _ sname: String?, to dfd: Int32, _ dname: String?) throws {
        var list = [CChar](repeating: 0, count: 65536)
        let n = sname.map { mdl_llistxattrat(sfd, $0, &list, list.count) } ?? mdl_flistxattr(sfd, &list, list.count)
        guard n > 0 else { return }
        var value = [UInt8](repeating: 0, count: 65536)
        var i = 0
        while i < n {
            let key = String(cString: Array(list[i..<n]) + [0])
            i += key.utf8.count + 1
            let len = sname.map { mdl_lgetxattrat(sfd, $0, key, &value, value.count) } ?? mdl_fgetxattr(sfd, key, &value, value.count)
            guard len >= 0 else { continue }
            let rc = dname.map { mdl_lsetxattrat(dfd, $0, key, value, len) } ?? mdl_fsetxattr(dfd, key, value, len)
            if rc != 0 && errno != ENOTSUP && errno != EPERM { throw EngineError.system("copy the extended attribute \(key)") }
        }
    }
}
