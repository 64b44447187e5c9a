#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// Copies an entry, and a directory's whole tree, between two directory fds, never following
/// a symlink on either side: every entry is opened by name in an fd already reached
/// (`O_NOFOLLOW`), and a hard link is made to a copy opened beneath the target's top
/// (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`). The one copier of `cp` (ContainerCopy.swift)
/// and of a volume's copy-in (VolumeCopyIn.swift); they resolve their two ends (inside a
/// container's root, or a mount over it) and hand the fds here.
///
/// An existing non-directory at a target is replaced, an existing directory is copied into.
/// Directories are made 0700 and get their mode last, so that nobody enters one half-copied.
struct TreeCopier {
    struct Options {
        /// Every entry's owner; nil keeps the source's.
        var owner: (uid_t, gid_t)?
        /// What an image's content holds besides owners and modes (copy-in, as Docker's):
        /// extended attributes, times, device nodes, fifos and hard links. Without it (cp)
        /// device nodes, fifos and sockets are left out and a hard link is copied as a file.
        var exact = false
    }

    let options: Options
    /// Names the copy in errors ("cp", "copy /seed into volume data").
    let context: String
    /// The target's top directory: what hard links are made beneath.
    let top: Int32
    /// Where a child of a source directory really is (a file mounted over a container's
    /// image: cp reads what the container sees); nil: where it is named. Given the source
    /// directory, the name and the child's container path; returns the directory fd to
    /// read it from, its name there, and whether the fd is the caller's to close.
    var child: ((Int32, String, String?) -> (Int32, String, Bool))?

    /// Files with more than one link already copied, by inode, at their path under `top`.
    private var links: [Key: String] = [:]
    private struct Key: Hashable { let dev: UInt64; let ino: UInt64 }

    init(options: Options, context: String, top: Int32) {
        self.options = options
        self.context = context
        self.top = top
    }

    func failure(_ action: String, _ what: String) -> EngineError { EngineError.system("\(context): \(action) \(what)") }

    /// Copies `name` in `srcDir` to `dstName` in `dstDir`. `path`: the target's path under
    /// `top` (for hard links); `sourcePath`: the source's container path, for `child`;
    /// `what`: the source as errors show it.
    mutating func copy(from srcDir: Int32, _ name: String, sourcePath: String?, to dstDir: Int32, _ dstName: String,
                       path: String, what: String) throws {
        var st = stat()
        guard fstatat(srcDir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("stat", what) }
        let (uid, gid) = options.owner ?? (st.st_uid, st.st_gid)
        let type = UInt32(st.st_mode) & FileType.mask
        var existing = stat()
        let exists = fstatat(dstDir, dstName, &existing, AT_SYMLINK_NOFOLLOW) == 0
        let existingIsDir = exists && (UInt32(existing.st_mode) & FileType.mask) == FileType.directory
        if exists && !(type == FileType.directory && existingIsDir) {
            if existingIsDir { throw EngineError("\(context): cannot overwrite directory \(dstName) with a file") }
            unlinkat(dstDir, dstName, 0)
        }
        let key = Key(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        if options.exact && type != FileType.directory && st.st_nlink > 1, let first = links[key] {
            let f = mdl_openat2(top, first, MDL_O_PATH | O_CLOEXEC, 0, UInt64(MDL_RESOLVE_BENEATH | MDL_RESOLVE_NO_SYMLINKS))
            if f >= 0 {
                defer { close(f) }
                if mdl_link_fd(f, dstDir, dstName) == 0 { return }
            }
        }
        switch type {
        case FileType.directory:
            if !exists && mkdirat(dstDir, dstName, 0o700) != 0 { throw failure("mkdir", what) }
            let s = openat(srcDir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let d = openat(dstDir, dstName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            defer { if s >= 0 { close(s) }; if d >= 0 { close(d) } }
            guard s >= 0, d >= 0 else { throw failure("open", what) }
            for (entry, _) in try FileSystem.entries(s, path: what) {
                let childPath = sourcePath.map { ($0 == "/" ? "" : $0) + "/" + entry }
                let (dir, n, owned) = child?(s, entry, childPath) ?? (s, entry, false)
                defer { if owned { close(dir) } }
                try copy(from: dir, n, sourcePath: childPath, to: d, entry, path: path + "/" + entry, what: what + "/" + entry)
            }
            try finish(s, d, st, uid, gid)
            return
        case FileType.regular:
            let s = openat(srcDir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard s >= 0 else { throw failure("open", what) }
            defer { close(s) }
            let d = openat(dstDir, dstName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard d >= 0 else { throw failure("create", what) }
            defer { close(d) }
            try copyData(s, d, size: Int(st.st_size), what: what)
            try finish(s, d, st, uid, gid)
        case FileType.symlink:
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlinkat(srcDir, name, &buf, 4096)
            guard n >= 0 else { throw failure("readlink", what) }
            buf[n] = 0
            guard symlinkat(buf, dstDir, dstName) == 0 else { throw failure("symlink", what) }
            try finishEntry(srcDir, name, dstDir, dstName, st, uid, gid, chmod: false)
        default:
            guard options.exact else { return }   // cp: devices, fifos, sockets are not copied
            guard mdl_mknodat(dstDir, dstName, mode_t(st.st_mode), mdl_major(st.st_rdev), mdl_minor(st.st_rdev)) == 0 else {
                throw failure("mknod", what)
            }
            try finishEntry(srcDir, name, dstDir, dstName, st, uid, gid, chmod: true)
        }
        if options.exact && st.st_nlink > 1 { links[key] = path }
    }

    /// Owner, mode (after the owner: chown clears setuid) and, when exact, the extended
    /// attributes (first) and times of an open file or directory, from its source `s`.
    private func finish(_ s: Int32, _ d: Int32, _ st: stat, _ uid: uid_t, _ gid: gid_t) throws {
        if options.exact { try TreeCopier.copyXattrs(from: s, nil, to: d, nil, context: context) }
        fchown(d, uid, gid)
        fchmod(d, mode_t(st.st_mode & 0o7777))
        guard options.exact else { return }
        var times = [st.st_atim, st.st_mtim]
        futimens(d, &times)
    }

    /// The same for an entry that cannot be opened (a symlink, a device node), by name.
    private func finishEntry(_ srcDir: Int32, _ name: String, _ dstDir: Int32, _ dstName: String, _ st: stat,
                             _ uid: uid_t, _ gid: gid_t, chmod: Bool) throws {
        if options.exact { try TreeCopier.copyXattrs(from: srcDir, name, to: dstDir, dstName, context: context) }
        fchownat(dstDir, dstName, uid, gid, AT_SYMLINK_NOFOLLOW)
        if chmod { fchmodat(dstDir, dstName, mode_t(st.st_mode & 0o7777), 0) }
        guard options.exact else { return }
        var times = [st.st_atim, st.st_mtim]
        utimensat(dstDir, dstName, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// A file's bytes: in the kernel (copy_file_range), else through `pump`.
    private func copyData(_ s: Int32, _ d: Int32, size: Int, what: String) throws {
        var left = size
        while left > 0 {
            let n = mdl_copy_file_range(s, d, left)
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
                try TreeCopier.pump(s, context: context, what: what) { try FileSystem.writeAll(d, $0, what: what) }
                break
            }
            if n < 0 { throw failure("copy", what) }
            if n == 0 { break }
            left -= n
        }
    }

    /// Reads `fd` to its end (or `limit` bytes) into `sink`.
    static func pump(_ fd: Int32, context: String, what: String, limit: UInt64 = .max,
                     _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var left = limit
        while left > 0 {
            let want = Int(min(UInt64(buf.count), left))
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
            if n < 0 { if errno == EINTR { continue }; throw EngineError.system("\(context): read \(what)") }
            if n == 0 { break }
            left -= UInt64(n)
            try buf.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Extended attributes of an fd (name nil) or of the entry `name` in a directory fd,
    /// not following a symlink. A target that refuses one for another reason than not
    /// supporting it or lacking the capability (a trusted.* one) is an error: the copy would
    /// not be what the source holds.
    static func copyXattrs(from sfd: Int32, _ sname: String?, to dfd: Int32, _ dname: String?, context: String) throws {
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
            if rc != 0 && errno != ENOTSUP && errno != EPERM { throw EngineError.system("\(context): copy the extended attribute \(key)") }
        }
    }
}
