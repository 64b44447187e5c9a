#if canImport(Glibc)
import Glibc
#endif
import CKernel
import CStream

/// `cp` between the host and a container, in both directions, as files or as a tar stream.
/// The container's side is only ever reached through fds resolved in its root (or in the
/// source of a mount over it), and every entry is opened without following symlinks: a
/// container cannot point a copy at the host (the CVE-2018-15664 class).
///
/// The container's view: a path is first made canonical inside the root by the kernel
/// (`RESOLVE_IN_ROOT`: `..` at the root stays at the root, as with Docker; symlinks are
/// followed inside the root), then a path the spec mounts something over (`/etc/hostname`,
/// `/etc/hosts`, `/etc/resolv.conf`, later volumes) is read from what is mounted there, not
/// from the image's hidden copy.
public enum ContainerCopy {
    public struct Options {
        /// -a: keep the source's owners (else the files belong to the user of the target side:
        /// the caller on the host, root in the container).
        public var archive = false
        /// -L: follow a symlink named as the source.
        public var followLink = false
        public init() {}
    }

    /// A bind mount over the container's root: its destination (inside) and source (a host path).
    public struct Mount {
        public let destination: String
        public let source: String
        public init(destination: String, source: String) { self.destination = destination; self.source = source }
    }

    /// Copies `path` (inside the container) to `host`, as `docker cp` does: into `host` when
    /// it is an existing directory, else as `host`.
    public static func fromContainer(rootfs: String, mounts: [Mount] = [], path: String, to host: String,
                                     options: Options = Options()) throws {
        let view = try View(rootfs: rootfs, mounts: mounts)
        let src = try view.source(path, follow: options.followLink)
        defer { close(src.dir) }
        // DIR/.: its contents into `host` (made when missing), as a copy of DIR named `host`.
        let (dstDir, dstName) = src.contents ? try hostTarget(host) : try hostDestination(host, defaultName: src.displayName)
        defer { close(dstDir) }
        let owner = options.archive ? nil : (getuid(), getgid())
        try view.copy(from: src.dir, src.name, containerPath: src.containerPath, to: dstDir, dstName, what: path, owner: owner)
    }

    /// Writes `path` (inside the container) as a tar stream to `fd` (`cp C:PATH -`): the
    /// entry's own name first, owners as they are in the container.
    public static func tarFromContainer(rootfs: String, mounts: [Mount] = [], path: String, to fd: Int32,
                                        options: Options = Options()) throws {
        let view = try View(rootfs: rootfs, mounts: mounts)
        let src = try view.source(path, follow: options.followLink)
        defer { close(src.dir) }
        let tar = TarWriter(fd: fd, what: "cp: the tar stream")
        if src.contents {
            // DIR/. (or /): the entries in it, named from their own names.
            let d = openat(src.dir, src.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard d >= 0 else { throw EngineError.system("cp: open \(path)") }
            defer { close(d) }
            for (entry, _) in try FileSystem.entries(d, path: path).sorted(by: { $0.0 < $1.0 }) {
                let p = (src.containerPath == "/" ? "" : src.containerPath) + "/" + entry
                let (dir, n, owned) = view.child(d, entry, containerPath: p)
                defer { if owned { close(dir) } }
                try view.archive(dir, n, containerPath: p, as: entry, into: tar, what: p)
            }
        } else {
            try view.archive(src.dir, src.name, containerPath: src.containerPath, as: src.displayName, into: tar, what: path)
        }
        try tar.finish()
    }

    /// Copies `host` into the container at `path`: into it when it is an existing directory,
    /// else as it (its parent must exist).
    public static func toContainer(host: String, rootfs: String, mounts: [Mount] = [], path: String,
                                   options: Options = Options()) throws {
        let view = try View(rootfs: rootfs, mounts: mounts)
        var hostName = host.split(separator: "/").last.map(String.init) ?? host
        var srcDir = open(host.parentPath == "." && !host.hasPrefix("/") ? "." : host.parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard srcDir >= 0 else { throw EngineError.system("open \(host.parentPath)") }
        if options.followLink {
            // The host's own symlink, followed as the host resolves it.
            let real = realpath(host, nil)
            guard let real else { close(srcDir); throw EngineError.system("cp: \(host)") }
            let target = String(cString: real)
            free(real)
            close(srcDir)
            srcDir = open(target == "/" ? "/" : target.parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard srcDir >= 0 else { throw EngineError.system("open \(target.parentPath)") }
            hostName = target.split(separator: "/").last.map(String.init) ?? hostName
        }
        defer { close(srcDir) }
        var st = stat()
        guard fstatat(srcDir, hostName, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw EngineError.system("cp: \(host)") }
        if let fd = try view.mountedFile(path) {
            // A file the engine mounts over the image (/etc/hosts): written through, as the
            // container sees it.
            defer { close(fd) }
            guard (UInt32(st.st_mode) & FileType.mask) == FileType.regular else {
                throw EngineError("cp: \(path) is a file mounted in the container: copy a file onto it")
            }
            let s = openat(srcDir, hostName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard s >= 0 else { throw EngineError.system("cp: open \(host)") }
            defer { close(s) }
            try TreeCopier.pump(s, context: "cp", what: host) { try FileSystem.writeAll(fd, $0, what: path) }
            return
        }
        let dst = try view.destination(path, defaultName: host.split(separator: "/").last.map(String.init) ?? hostName)
        defer { close(dst.dir) }
        try view.copy(from: srcDir, hostName, containerPath: nil, to: dst.dir, dst.name, what: host,
                      owner: options.archive ? nil : (0, 0))
    }

    /// Extracts the tar stream on `fd` (`cp - C:DIR`) into the directory `path` inside the
    /// container, which must exist. Every entry is resolved inside that directory; `..` in
    /// an entry refuses the stream (Layer/LayerUnpacker.swift). Owners are the tar's.
    public static func tarToContainer(from fd: Int32, rootfs: String, mounts: [Mount] = [], path: String) throws {
        let view = try View(rootfs: rootfs, mounts: mounts)
        let dir = try view.directory(path)
        defer { close(dir) }
        guard let a = archive_read_new() else { throw EngineError("cannot allocate an archive reader") }
        defer { archive_read_free(a) }
        archive_read_support_format_tar(a)
        archive_read_support_filter_gzip(a)
        archive_read_support_filter_zstd(a)
        archive_read_support_filter_none(a)
        guard archive_read_open_fd(a, fd, 1 << 20) == ARCHIVE_OK else {
            throw EngineError("cp: the tar stream: \(String(cString: archive_error_string(a)))")
        }
        try LayerUnpacker.unpack(a, into: "/proc/self/fd/\(dir)", what: "cp: the tar stream")
    }

    /// `host` itself as the target: its parent directory and its name.
    static func hostTarget(_ host: String) throws -> (Int32, String) {
        let trimmed = host.count > 1 && host.hasSuffix("/") ? String(host.dropLast()) : host
        let parent = trimmed.contains("/") ? trimmed.parentPath : "."
        let pfd = open(parent.isEmpty ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard pfd >= 0 else { throw EngineError.system("cp: \(parent)") }
        return (pfd, trimmed.split(separator: "/").last.map(String.init) ?? ".")
    }

    static func hostDestination(_ host: String, defaultName: String) throws -> (Int32, String) {
        let fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { return (fd, defaultName) }
        let parent = host.contains("/") ? host.parentPath : "."
        let pfd = open(parent.isEmpty ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard pfd >= 0 else { throw EngineError.system("cp: \(parent)") }
        return (pfd, host.split(separator: "/").last.map(String.init) ?? host)
    }

    /// The container's file system as a copy sees it: its root, with the spec's bind mounts
    /// over it.
    final class View {
        let root: RootedDirectory
        let prefix: String          // the root's path as the kernel names it
        let mounts: [String: String]

        init(rootfs: String, mounts: [Mount]) throws {
            root = try RootedDirectory(path: rootfs)
            prefix = try View.linkTarget(root.fd)
            var m: [String: String] = [:]
            for mount in mounts { m[View.normalize(mount.destination)] = mount.source }
            self.mounts = m
        }

        static func normalize(_ path: String) -> String {
            "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        }

        static func linkTarget(_ fd: Int32) throws -> String {
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlink("/proc/self/fd/\(fd)", &buf, 4096)
            guard n > 0 else { throw EngineError.system("cp: resolve a path") }
            return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        /// The container path an fd resolved in the root is at.
        func containerPath(of fd: Int32) throws -> String {
            let p = try View.linkTarget(fd)
            if p == prefix { return "/" }
            guard p.hasPrefix(prefix + "/") else { throw EngineError("cp: \(p) is outside the container's root") }
            return String(p.dropFirst(prefix.count))
        }

        func openInRoot(_ raw: String, flags: Int32) -> Int32 {
            let rel = raw.split(separator: "/").joined(separator: "/")
            return mdl_openat2(root.fd, rel.isEmpty ? "." : rel, flags | O_CLOEXEC, 0, RootedDirectory.resolve)
        }

        /// The canonical path of `raw` inside the container: `..` and symlinks resolved by the
        /// kernel in the root; the last component is followed when `follow` (or when it is
        /// `.` or `..`), else kept as named.
        func canonical(_ raw: String, follow: Bool) throws -> String {
            let parts = raw.split(separator: "/").map(String.init)
            guard let last = parts.last else { return "/" }
            if follow || last == "." || last == ".." {
                let fd = openInRoot(raw, flags: MDL_O_PATH)
                guard fd >= 0 else { throw EngineError.system("cp: \(raw)") }
                defer { close(fd) }
                return try containerPath(of: fd)
            }
            let parent = openInRoot(parts.dropLast().joined(separator: "/"), flags: MDL_O_PATH | O_DIRECTORY)
            guard parent >= 0 else { throw EngineError.system("cp: \(raw)") }
            defer { close(parent) }
            let dir = try containerPath(of: parent)
            return (dir == "/" ? "" : dir) + "/" + last
        }

        /// What is mounted at or above a canonical path: the mount's source and the rest of
        /// the path below it.
        func mount(for path: String) -> (source: String, rest: [String])? {
            var parts = path.split(separator: "/").map(String.init)
            var rest: [String] = []
            while !parts.isEmpty {
                if let source = mounts["/" + parts.joined(separator: "/")] { return (source, rest) }
                rest.insert(parts.removeLast(), at: 0)
            }
            return nil
        }

        /// A directory fd for the parent of a canonical path and the name in it, in the root
        /// or in what is mounted there.
        func locate(_ path: String) throws -> (dir: Int32, name: String) {
            if let (source, rest) = mount(for: path) {
                if rest.isEmpty {
                    // A file mounted over the image (/etc/hosts): the engine's own file.
                    let fd = open(source.parentPath.isEmpty ? "/" : source.parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    guard fd >= 0 else { throw EngineError.system("cp: open \(source.parentPath)") }
                    return (fd, source.split(separator: "/").last.map(String.init) ?? source)
                }
                let inside = try RootedDirectory(path: source)
                return (try inside.openDirectory(Array(rest.dropLast()), create: false), rest.last!)
            }
            let parts = path.split(separator: "/").map(String.init)
            guard let name = parts.last else { throw EngineError("cp: copy a path inside the container, not its root") }
            return (try root.openDirectory(Array(parts.dropLast()), create: false), name)
        }

        /// `contents`: the path ended in `/.` (or was `/`): what is in the directory, not the
        /// directory itself, as Docker's `cp C:DIR/. DEST`.
        struct Source { let dir: Int32; let name: String; let containerPath: String; let displayName: String; var contents = false }

        func source(_ raw: String, follow: Bool) throws -> Source {
            let path = try canonical(raw, follow: follow)
            // Named as the user named it (a followed link keeps its own name, as with Docker).
            let last = raw.split(separator: "/").last.map(String.init)
            let shown = last.flatMap { $0 == "." || $0 == ".." ? nil : $0 }
            let contents = last == nil || last == "."
            if path == "/" {
                // The root itself, through a link that leads there (`ln -s / up`, `..` above it),
                // or what is in it (`/`, `/.`).
                guard shown != nil || contents else { throw EngineError("cp: copy a path inside the container, not its root") }
                return Source(dir: dup(root.fd), name: ".", containerPath: "/", displayName: shown ?? "", contents: contents)
            }
            let (dir, name) = try locate(path)
            var st = stat()
            guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                close(dir)
                throw EngineError("cp: \(raw): no such file or directory in the container")
            }
            return Source(dir: dir, name: name, containerPath: path, displayName: shown ?? path.split(separator: "/").last.map(String.init) ?? name,
                          contents: contents && (UInt32(st.st_mode) & FileType.mask) == FileType.directory)
        }

        /// Where a copy into the container lands: into `raw` when it is a directory, else as it.
        func destination(_ raw: String, defaultName: String) throws -> (dir: Int32, name: String) {
            if let full = try? canonical(raw, follow: true) {
                let fd = openDirectory(full)
                if fd >= 0 { return (fd, defaultName) }
            }
            let path = try canonical(raw, follow: false)
            var parts = path.split(separator: "/").map(String.init)
            guard let name = parts.popLast() else { throw EngineError("cp: no destination") }
            let parent = "/" + parts.joined(separator: "/")
            let fd = openDirectory(parent)
            guard fd >= 0 else { throw EngineError.system("cp: open \(parent) in the container") }
            return (fd, name)
        }

        /// The file mounted at a canonical path (/etc/hosts), open for writing in place: the
        /// mount holds that very file, which a new one would not replace. nil when none is.
        func mountedFile(_ raw: String) throws -> Int32? {
            let path = try canonical(raw, follow: false)
            guard let source = mounts[path] else { return nil }
            let fd = open(source, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                throw errno == EISDIR ? EngineError("cp: \(raw) is a directory mounted in the container")
                                      : EngineError.system("cp: open \(raw) (\(source))")
            }
            return fd
        }

        /// An existing directory inside the container (`cp - C:DIR`).
        func directory(_ raw: String) throws -> Int32 {
            let fd = openDirectory(try canonical(raw, follow: true))
            guard fd >= 0 else {
                throw errno == ENOTDIR ? EngineError("cp: \(raw) is not a directory in the container") : EngineError.system("cp: \(raw)")
            }
            return fd
        }

        /// The directory at a canonical path, in the root or in what is mounted there; -1
        /// with errno when it is not one.
        func openDirectory(_ path: String) -> Int32 {
            if let (source, rest) = mount(for: path) {
                guard let inside = try? RootedDirectory(path: source) else { errno = ENOTDIR; return -1 }
                return inside.open(rest, flags: O_RDONLY | O_DIRECTORY)
            }
            return root.open(path.split(separator: "/").map(String.init), flags: O_RDONLY | O_DIRECTORY)
        }

        /// A child of a copied directory: from the container's root, or from what is
        /// mounted over it there (`containerPath` nil: a host tree, no mounts).
        func child(_ dir: Int32, _ name: String, containerPath: String?) -> (Int32, String, owned: Bool) {
            guard let p = containerPath, let source = mounts[p] else { return (dir, name, false) }
            let fd = open(source.parentPath.isEmpty ? "/" : source.parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { return (dir, name, false) }
            return (fd, source.split(separator: "/").last.map(String.init) ?? source, true)
        }

        /// Copies one entry (and a directory's tree) between two directory fds, never
        /// following a symlink on either side (TreeCopier), the children of a container's
        /// directory read where the container sees them (`child`). An existing
        /// non-directory at the target is replaced. `owner`: the target's owner for every
        /// entry, nil to keep the source's.
        func copy(from srcDir: Int32, _ name: String, containerPath: String?, to dstDir: Int32, _ dstName: String,
                  what: String, owner: (uid_t, gid_t)?) throws {
            var copier = TreeCopier(options: TreeCopier.Options(owner: owner), context: "cp", top: dstDir)
            copier.child = { [self] dir, name, path in self.child(dir, name, containerPath: path) }
            try copier.copy(from: srcDir, name, sourcePath: containerPath, to: dstDir, dstName, path: dstName, what: what)
        }

        /// One entry (and a directory's tree) as tar entries named from `tarName`.
        func archive(_ srcDir: Int32, _ name: String, containerPath: String, as tarName: String, into tar: TarWriter,
                     what: String) throws {
            var st = stat()
            guard fstatat(srcDir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw EngineError.system("cp: \(what)") }
            let type = UInt32(st.st_mode) & FileType.mask
            var h = TarWriter.Header(name: tarName)
            h.type = type
            h.mode = UInt32(st.st_mode) & 0o7777
            h.uid = st.st_uid
            h.gid = st.st_gid
            h.mtime = Int64(st.st_mtim.tv_sec)
            switch type {
            case FileType.directory:
                h.name = tarName + "/"
                try tar.append(h)
                let s = openat(srcDir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard s >= 0 else { throw EngineError.system("cp: open \(what)") }
                defer { close(s) }
                for (entry, _) in try FileSystem.entries(s, path: what).sorted(by: { $0.0 < $1.0 }) {
                    let path = (containerPath == "/" ? "" : containerPath) + "/" + entry
                    let (dir, n, owned) = child(s, entry, containerPath: path)
                    defer { if owned { close(dir) } }
                    try archive(dir, n, containerPath: path, as: tarName + "/" + entry, into: tar, what: what + "/" + entry)
                }
            case FileType.regular:
                let s = openat(srcDir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard s >= 0 else { throw EngineError.system("cp: open \(what)") }
                defer { close(s) }
                var now = stat()
                fstat(s, &now)
                h.size = UInt64(now.st_size)
                try tar.append(h) { sink in try TreeCopier.pump(s, context: "cp", what: what, limit: h.size, sink) }
            case FileType.symlink:
                guard let target = readLink(srcDir, name) else { throw EngineError.system("cp: readlink \(what)") }
                h.linkName = target
                try tar.append(h)
            case FileType.character, FileType.block, FileType.fifo:
                h.devMajor = UInt32(truncatingIfNeeded: (st.st_rdev >> 8) & 0xfff)
                h.devMinor = UInt32(truncatingIfNeeded: (st.st_rdev & 0xff) | ((st.st_rdev >> 12) & 0xfff00))
                try tar.append(h)
            default:
                return   // sockets
            }
        }

        func readLink(_ dir: Int32, _ name: String) -> String? {
            var target = [CChar](repeating: 0, count: 4097)
            let n = readlinkat(dir, name, &target, 4096)
            guard n >= 0 else { return nil }
            return String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
