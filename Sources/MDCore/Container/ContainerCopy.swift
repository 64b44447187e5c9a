#if canImport(Glibc)
import Glibc
#endif

/// `cp` between the host and a container's root file system, in both directions. The
/// container's side is only ever reached through directory fds resolved in its root, and
/// every entry is opened without following symlinks: a container cannot point a copy at the
/// host (the CVE-2018-15664 class).
public enum ContainerCopy {
    /// Copies `path` (inside the container) to `host`, as `docker cp` does: into `host` when
    /// it is an existing directory, else as `host`.
    public static func fromContainer(rootfs: String, path: String, to host: String) throws {
        let root = try RootedDirectory(path: rootfs)
        let parts = try RootedDirectory.components(path, what: "path")
        guard let name = parts.last else { throw EngineError("cp: copy a path inside the container, not its root") }
        let srcDir = try root.openDirectory(Array(parts.dropLast()), create: false)
        defer { close(srcDir) }
        let (dstDir, dstName) = try hostDestination(host, defaultName: name)
        defer { close(dstDir) }
        try copy(from: srcDir, name, to: dstDir, dstName, what: path)
    }

    /// Copies `host` into the container at `path`: into it when it is an existing directory,
    /// else as it (its parent must exist).
    public static func toContainer(host: String, rootfs: String, path: String) throws {
        let root = try RootedDirectory(path: rootfs)
        let hostName = host.split(separator: "/").last.map(String.init) ?? host
        let srcDir = open(host.parentPath == "." && !host.hasPrefix("/") ? "." : host.parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard srcDir >= 0 else { throw EngineError.system("open \(host.parentPath)") }
        defer { close(srcDir) }
        var st = stat()
        guard fstatat(srcDir, hostName, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw EngineError.system("cp: \(host)") }
        let parts = try RootedDirectory.components(path, what: "path")
        let existing = root.open(parts, flags: O_RDONLY | O_DIRECTORY)
        let dstDir: Int32
        let dstName: String
        if existing >= 0 {
            (dstDir, dstName) = (existing, hostName)
        } else {
            guard let last = parts.last else { throw EngineError("cp: no destination") }
            dstDir = try root.openDirectory(Array(parts.dropLast()), create: false)
            dstName = last
        }
        defer { close(dstDir) }
        try copy(from: srcDir, hostName, to: dstDir, dstName, what: host)
    }

    static func hostDestination(_ host: String, defaultName: String) throws -> (Int32, String) {
        let fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { return (fd, defaultName) }
        let parent = host.contains("/") ? host.parentPath : "."
        let pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard pfd >= 0 else { throw EngineError.system("cp: \(parent)") }
        return (pfd, host.split(separator: "/").last.map(String.init) ?? host)
    }

    /// Copies one entry (and a directory's tree) between two directory fds, never following
    /// a symlink on either side. An existing non-directory at the target is replaced.
    static func copy(from srcDir: Int32, _ name: String, to dstDir: Int32, _ dstName: String, what: String) throws {
        var st = stat()
        guard fstatat(srcDir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw EngineError.system("cp: \(what)") }
        let type = UInt32(st.st_mode) & FileType.mask
        var existing = stat()
        let exists = fstatat(dstDir, dstName, &existing, AT_SYMLINK_NOFOLLOW) == 0
        if exists && !(type == FileType.directory && (UInt32(existing.st_mode) & FileType.mask) == FileType.directory) {
            if (UInt32(existing.st_mode) & FileType.mask) == FileType.directory {
                throw EngineError("cp: cannot overwrite directory \(dstName) with a file")
            }
            unlinkat(dstDir, dstName, 0)
        }
        switch type {
        case FileType.directory:
            if !exists && mkdirat(dstDir, dstName, mode_t(st.st_mode & 0o7777)) != 0 { throw EngineError.system("cp: mkdir \(dstName)") }
            let s = openat(srcDir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let d = openat(dstDir, dstName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard s >= 0, d >= 0 else {
                if s >= 0 { close(s) }
                if d >= 0 { close(d) }
                throw EngineError.system("cp: open \(name)")
            }
            defer { close(s); close(d) }
            for (child, _) in try FileSystem.entries(s, path: what) {
                try copy(from: s, child, to: d, child, what: what + "/" + child)
            }
            fchown(d, st.st_uid, st.st_gid)
            fchmod(d, mode_t(st.st_mode & 0o7777))
        case FileType.regular:
            let s = openat(srcDir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard s >= 0 else { throw EngineError.system("cp: open \(what)") }
            defer { close(s) }
            let d = openat(dstDir, dstName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard d >= 0 else { throw EngineError.system("cp: create \(dstName)") }
            defer { close(d) }
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buf.withUnsafeMutableBytes { read(s, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; throw EngineError.system("cp: read \(what)") }
                if n == 0 { break }
                try buf.withUnsafeBytes { try FileSystem.writeAll(d, UnsafeRawBufferPointer(rebasing: $0[0..<n]), what: dstName) }
            }
            fchown(d, st.st_uid, st.st_gid)
            fchmod(d, mode_t(st.st_mode & 0o7777))
        case FileType.symlink:
            var target = [CChar](repeating: 0, count: 4097)
            let n = readlinkat(srcDir, name, &target, 4096)
            guard n >= 0 else { throw EngineError.system("cp: readlink \(what)") }
            target[n] = 0
            guard symlinkat(target, dstDir, dstName) == 0 else { throw EngineError.system("cp: symlink \(dstName)") }
            fchownat(dstDir, dstName, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW)
        default:
            return   // devices, fifos, sockets: not copied
        }
    }
}
