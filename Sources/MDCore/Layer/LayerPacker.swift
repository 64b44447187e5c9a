#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Writes a directory tree as a layer tar: sorted names (the same tree gives the same
/// digest), hardlinks kept, xattrs kept, and overlayfs's whiteouts (0/0 character devices,
/// opaque directories) turned back into `.wh.` entries. The tree is walked through directory
/// fds and never follows a symlink.
public struct LayerPacker {
    let tar: TarWriter
    var links: [String: String] = [:]   // "dev:ino" of multiply-linked files -> first path
    var exclude: Set<String> = []        // relative paths left out

    public static func pack(directory: String, to fd: Int32, excluding: Set<String> = []) throws -> (digest: Digest, size: UInt64) {
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else { throw EngineError.system("open \(directory)") }
        defer { close(dirfd) }
        var p = LayerPacker(tar: TarWriter(fd: fd, what: "layer of \(directory)"))
        p.exclude = excluding
        try p.walk(dirfd, prefix: "", display: directory)
        let d = try p.tar.finish()
        return (d, p.tar.written)
    }

    mutating func walk(_ dirfd: Int32, prefix: String, display: String) throws {
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

            if type == FileType.character && st.st_rdev == 0 {
                // An overlay whiteout.
                var w = TarWriter.Header(name: prefix + LayerUnpacker.whiteoutPrefix + name)
                w.mtime = h.mtime
                w.mode = 0o600
                try tar.append(w)
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
                try walk(child, prefix: path + "/", display: display + "/" + name)
            case FileType.regular:
                let key = "\(st.st_dev):\(st.st_ino)"
                if st.st_nlink > 1, let first = links[key] {
                    h.isHardlink = true
                    h.linkName = first
                    try tar.append(h)
                    continue
                }
                if st.st_nlink > 1 { links[key] = path }
                let fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw EngineError.system("open \(display)/\(name)") }
                defer { close(fd) }
                h.size = UInt64(st.st_size)
                h.xattrs = readXattrs { mdl_flistxattr(fd, $0, $1) } get: { mdl_fgetxattr(fd, $0, $1, $2) }.0
                let file = "\(display)/\(name)"
                try tar.append(h) { sink in
                    var buf = [UInt8](repeating: 0, count: 1 << 20)
                    while true {
                        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                        if n < 0 { if errno == EINTR { continue }; throw EngineError.system("read \(file)") }
                        if n == 0 { break }
                        try buf.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    }
                }
            case FileType.symlink:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(dirfd, name, &target, target.count - 1)
                guard n >= 0 else { throw EngineError.system("readlink \(display)/\(name)") }
                h.linkName = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try tar.append(h)
            case FileType.character, FileType.block:
                h.devMajor = mdl_major(st.st_rdev)
                h.devMinor = mdl_minor(st.st_rdev)
                try tar.append(h)
            case FileType.fifo:
                try tar.append(h)
            default:
                continue   // sockets do not belong in a layer
            }
        }
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
