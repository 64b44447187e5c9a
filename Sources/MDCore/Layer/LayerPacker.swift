#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// Writes a directory tree as a layer tar: sorted names (the same tree gives the same
/// digest), hardlinks kept, xattrs kept, and overlayfs's whiteouts (0/0 character devices,
/// opaque directories) turned back into `.wh.` entries. The tree is walked through directory
/// fds and never follows a symlink.
///
/// With a mirror (an empty directory), every entry is also made there as the tar describes
/// it (LayerUnpacker's result for this tar), from the same bytes read once: a new layer's
/// `diff/` without writing, reading back and unpacking the tar.
public struct LayerPacker {
    let tar: TarWriter
    var links: [String: String] = [:]   // "dev:ino" of multiply-linked files -> first path
    var exclude: Set<String> = []        // relative paths left out
    /// With a value, no entry's time is later than it (SOURCE_DATE_EPOCH: a build that
    /// makes the same files makes the same tar whenever it runs).
    var clampTime: Int64?
    var mirrorRoot: Int32 = -1
    /// The sum of the regular files' sizes (hardlinks counted once).
    var fileBytes: UInt64 = 0

    public static func pack(directory: String, to fd: Int32, excluding: Set<String> = []) throws -> (digest: Digest, size: UInt64) {
        let tar = TarWriter(fd: fd, what: "layer of \(directory)")
        _ = try pack(directory: directory, into: tar, mirror: nil, excluding: excluding)
        let d = try tar.finish()
        return (d, tar.written)
    }

    /// Writes the tree into `tar` (not finished here) and, with `mirror`, copies it there.
    /// Returns the bytes of the regular files.
    public static func pack(directory: String, into tar: TarWriter, mirror: String?, excluding: Set<String>,
                            clampTime: Int64? = nil) throws -> UInt64 {
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else { throw EngineError.system("open \(directory)") }
        defer { close(dirfd) }
        var p = LayerPacker(tar: tar)
        p.exclude = excluding
        p.clampTime = clampTime
        if let mirror {
            p.mirrorRoot = open(mirror, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard p.mirrorRoot >= 0 else { throw EngineError.system("open \(mirror)") }
        }
        defer { if p.mirrorRoot >= 0 { close(p.mirrorRoot) } }
        try p.walk(dirfd, prefix: "", display: directory, mirror: p.mirrorRoot)
        return p.fileBytes
    }

    mutating func walk(_ dirfd: Int32, prefix: String, display: String, mirror dst: Int32) throws {
        for (name, _) in try FileSystem.entries(dirfd, path: display) {
            var st = stat()
            guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw EngineError.system("stat \(display)/\(name)")
            }
            let path = prefix + name
            if exclude.contains(path) { continue }
            let type = UInt32(st.st_mode) & FileType.mask
            var h = TarWriter.Header(name: path)
            h.type = type
            h.mode = UInt32(st.st_mode) & 0o7777
            h.uid = st.st_uid
            h.gid = st.st_gid
            h.mtime = Int64(st.st_mtim.tv_sec)
            if let clampTime, h.mtime > clampTime { h.mtime = clampTime }

            if type == FileType.character && st.st_rdev == 0 {
                // An overlay whiteout.
                var w = TarWriter.Header(name: prefix + LayerUnpacker.whiteoutPrefix + name)
                w.mtime = h.mtime
                w.mode = 0o600
                try tar.append(w)
                if dst >= 0 {
                    // As LayerUnpacker makes a whiteout: a bare 0/0 device.
                    guard mdl_mknodat(dst, name, S_IFCHR, 0, 0) == 0 else { throw EngineError.system("mirror whiteout \(display)/\(name)") }
                }
                continue
            }
            switch type {
            case FileType.directory:
                let child = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw EngineError.system("open \(display)/\(name)") }
                defer { close(child) }
                h.name = path + "/"
                let (xattrs, opaque) = readXattrs { mdl_flistxattr(child, $0, $1) } get: { mdl_fgetxattr(child, $0, $1, $2) }
                h.xattrs = xattrs
                try tar.append(h)
                if opaque {
                    var o = TarWriter.Header(name: path + "/" + LayerUnpacker.opaqueMarker)
                    o.mtime = h.mtime
                    o.mode = 0o600
                    try tar.append(o)
                }
                var copy: Int32 = -1
                if dst >= 0 {
                    guard mkdirat(dst, name, 0o700) == 0 else { throw EngineError.system("mirror mkdir \(display)/\(name)") }
                    copy = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard copy >= 0 else { throw EngineError.system("mirror open \(display)/\(name)") }
                    if opaque { _ = mdl_fsetxattr(copy, LayerUnpacker.opaqueXattr, "y", 1) }
                }
                defer { if copy >= 0 { close(copy) } }
                try walk(child, prefix: path + "/", display: display + "/" + name, mirror: copy)
                // After the children, whose creation changed its times.
                if copy >= 0 { try mirrorFinish(copy, h, "\(display)/\(name)") }
            case FileType.regular:
                let key = "\(st.st_dev):\(st.st_ino)"
                if st.st_nlink > 1, let first = links[key] {
                    h.isHardlink = true
                    h.linkName = first
                    try tar.append(h)
                    if dst >= 0 {
                        guard linkat(mirrorRoot, first, dst, name, 0) == 0 else {
                            throw EngineError.system("mirror link \(display)/\(name)")
                        }
                    }
                    continue
                }
                if st.st_nlink > 1 { links[key] = path }
                let fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw EngineError.system("open \(display)/\(name)") }
                defer { close(fd) }
                h.size = UInt64(st.st_size)
                h.xattrs = readXattrs { mdl_flistxattr(fd, $0, $1) } get: { mdl_fgetxattr(fd, $0, $1, $2) }.0
                let file = "\(display)/\(name)"
                var out: Int32 = -1
                if dst >= 0 {
                    out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                    guard out >= 0 else { throw EngineError.system("mirror create \(file)") }
                }
                defer { if out >= 0 { close(out) } }
                try tar.append(h) { sink in
                    try LayerPacker.buffer.withUnsafeMutableBytes { buf in
                        var offset: Int64 = 0
                        while true {
                            let n = read(fd, buf.baseAddress, buf.count)
                            if n < 0 { if errno == EINTR { continue }; throw EngineError.system("read \(file)") }
                            if n == 0 { break }
                            let chunk = UnsafeRawBufferPointer(rebasing: buf[0..<n])
                            try sink(chunk)
                            // Pages of zeros stay holes, as LayerUnpacker leaves them.
                            if out >= 0 { try LayerUnpacker.writeSparse(out, chunk, at: offset, what: "mirror of \(file)") }
                            offset += Int64(n)
                        }
                    }
                }
                fileBytes += h.size
                if out >= 0 {
                    guard ftruncate(out, off_t(h.size)) == 0 else { throw EngineError.system("mirror truncate \(file)") }
                    if h.size > 0 { FileSystem.startWriteback(out) }
                    try mirrorFinish(out, h, file)
                }
            case FileType.symlink:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(dirfd, name, &target, target.count - 1)
                guard n >= 0 else { throw EngineError.system("readlink \(display)/\(name)") }
                h.linkName = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try tar.append(h)
                if dst >= 0 {
                    guard symlinkat(h.linkName, dst, name) == 0 else { throw EngineError.system("mirror symlink \(display)/\(name)") }
                    fchownat(dst, name, h.uid, h.gid, AT_SYMLINK_NOFOLLOW)
                    var times = [timespec(tv_sec: Int(h.mtime), tv_nsec: 0), timespec(tv_sec: Int(h.mtime), tv_nsec: 0)]
                    utimensat(dst, name, &times, AT_SYMLINK_NOFOLLOW)
                }
            case FileType.character, FileType.block:
                h.devMajor = mdl_major(st.st_rdev)
                h.devMinor = mdl_minor(st.st_rdev)
                try tar.append(h)
                if dst >= 0 { try mirrorNode(dst, name, mode_t(type), major: h.devMajor, minor: h.devMinor, h, display) }
            case FileType.fifo:
                try tar.append(h)
                if dst >= 0 { try mirrorNode(dst, name, S_IFIFO, major: 0, minor: 0, h, display) }
            default:
                continue   // sockets do not belong in a layer
            }
        }
    }

    /// One buffer for every file's data (the engine packs on one thread at a time).
    nonisolated(unsafe) static var buffer = [UInt8](repeating: 0, count: 1 << 20)

    /// Owner, then mode (chown clears set-id bits), xattrs and times, as LayerUnpacker
    /// leaves an entry: from the header, which is what the tar says.
    func mirrorFinish(_ fd: Int32, _ h: TarWriter.Header, _ file: String) throws {
        guard fchown(fd, h.uid, h.gid) == 0 else { throw EngineError.system("mirror chown \(file)") }
        guard fchmod(fd, mode_t(h.mode)) == 0 else { throw EngineError.system("mirror chmod \(file)") }
        for (k, v) in h.xattrs { _ = v.withUnsafeBytes { mdl_fsetxattr(fd, k, $0.baseAddress, v.count) } }
        var times = [timespec(tv_sec: Int(h.mtime), tv_nsec: 0), timespec(tv_sec: Int(h.mtime), tv_nsec: 0)]
        futimens(fd, &times)
    }

    func mirrorNode(_ dst: Int32, _ name: String, _ type: mode_t, major: UInt32, minor: UInt32,
                    _ h: TarWriter.Header, _ display: String) throws {
        guard mdl_mknodat(dst, name, type | mode_t(h.mode), major, minor) == 0 else {
            throw EngineError.system("mirror mknod \(display)/\(name)")
        }
        fchownat(dst, name, h.uid, h.gid, AT_SYMLINK_NOFOLLOW)
        fchmodat(dst, name, mode_t(h.mode), 0)
        var times = [timespec(tv_sec: Int(h.mtime), tv_nsec: 0), timespec(tv_sec: Int(h.mtime), tv_nsec: 0)]
        utimensat(dst, name, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// xattrs to keep, and whether the directory is overlay-opaque. overlayfs's own
    /// attributes never go into a tar.
    func readXattrs(list: (UnsafeMutablePointer<CChar>?, Int) -> Int,
                    get: (UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int) -> ([(String, [UInt8])], Bool) {
        let size = list(nil, 0)
        guard size > 0 else { return ([], false) }
        var names = [CChar](repeating: 0, count: size)
        let n = list(&names, size)
        guard n > 0 else { return ([], false) }
        var out: [(String, [UInt8])] = []
        var opaque = false
        for raw in names[0..<n].split(separator: 0) {
            let key = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let vsize = key.withCString { get($0, nil, 0) }
            guard vsize >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: vsize)
            let got = key.withCString { k in value.withUnsafeMutableBytes { get(k, $0.baseAddress, vsize) } }
            guard got >= 0 else { continue }
            if key == LayerUnpacker.opaqueXattr { opaque = value.first == UInt8(ascii: "y"); continue }
            if key.hasPrefix("trusted.overlay.") { continue }
            out.append((key, Array(value[0..<got])))
        }
        return (out.sorted { $0.0 < $1.0 }, opaque)
    }
}
