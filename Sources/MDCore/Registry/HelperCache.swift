#if canImport(Glibc)
import Glibc
#endif

/// The registry helper carried inside this binary, written out once per build as
/// `ROOT/helpers/mdlua-registry-<digest>` and run from there: copying its 27 MB into a
/// memfd at every call cost some 40 ms, and a file lets the page cache keep its pages
/// between calls (docs/registries.md, "Two programs in one file"). The digest is the
/// helper's own, written into the binary beside it by scripts/embed-registry.sh, so a new
/// build gets a new file and never runs an old one.
///
/// The file is used only when it is what this binary would write: a regular file owned by
/// this user, mode 0755, with the helper's size, in a directory owned by this user that no
/// one else can write; it is opened once, checked through that descriptor, and run by it
/// (`/proc/self/fd/N`), so a rename after the checks cannot swap it. Anything else (another
/// owner or mode, a short file left by a crash) is replaced. The caller falls back to a
/// memfd when this gives nothing: no state root yet, a read-only or noexec file system, a
/// directory that is not safe.
enum HelperCache {
    static let directoryName = "helpers"
    static let prefix = "mdlua-registry-"
    /// ST_NOEXEC of <sys/statvfs.h> (an enum there, which Swift does not see).
    static let noexecFlag: UInt = 8
    static let writeSize = 64 << 10

    /// A read-only descriptor (close-on-exec, above 10) of the helper's file in
    /// `root/helpers`, written first if needed from `size` bytes at `offset` of `source`,
    /// which must hash to `digest`; nil when the cache cannot be used. Throws only when the
    /// embedded bytes do not match their digest (a damaged binary: a memfd copy would run
    /// the same damaged bytes).
    static func open(root: String, digest: String, source: Int32, offset: Int, size: Int) throws -> Int32? {
        // A login or logout does not make a state root that does not exist.
        guard Digest.isHex(digest), FileSystem.isDirectory(root) else { return nil }
        let dir = root + "/" + directoryName
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { return nil }
        var st = stat()
        guard lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid(),
              st.st_mode & 0o022 == 0 else { return nil }
        var fs = statvfs()
        guard statvfs(dir, &fs) == 0, fs.f_flag & noexecFlag == 0 else { return nil }
        let name = prefix + digest.prefix(16)
        let path = dir + "/" + name
        if let fd = openChecked(path, size: size) { return fd }
        guard try extract(to: path, in: dir, digest: digest, source: source, offset: offset, size: size) else { return nil }
        removeOthers(in: dir, keeping: name)
        return openChecked(path, size: size)
    }

    /// The file at `path` opened, if it is the helper this binary would have written.
    static func openChecked(_ path: String, size: Int) -> Int32? {
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid(),
              st.st_mode & 0o7777 == 0o755, st.st_nlink == 1, Int(st.st_size) == size else {
            close(fd)
            return nil
        }
        // Above the descriptors the helper gets (0-4): it is run by its /proc/self/fd path.
        let high = fcntl(fd, F_DUPFD_CLOEXEC, 10)
        close(fd)
        return high >= 0 ? high : nil
    }

    /// Writes the helper to a temporary file, checks its digest, makes it 0755, syncs it
    /// and renames it over `path` (replacing whatever was there). False when the
    /// directory cannot take it (read-only, full).
    static func extract(to path: String, in dir: String, digest: String, source: Int32, offset: Int, size: Int) throws -> Bool {
        let tmp = dir + "/.\(prefix)tmp-\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o700)
        guard fd >= 0 else { return false }
        var written = false
        defer {
            close(fd)
            if !written { unlink(tmp) }
        }
        var hash = SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var copied = 0
        while copied < size {
            let want = min(chunk.count, size - copied)
            let r = chunk.withUnsafeMutableBytes { pread(source, $0.baseAddress, want, off_t(offset + copied)) }
            guard r > 0 else { throw EngineError.system("read the registry helper") }
            do {
                try chunk.withUnsafeBytes { b in
                    hash.update(UnsafeRawBufferPointer(rebasing: b[0..<r]))
                    // In 64 KiB writes: the page cache keeps a file in folios as large as the
                    // writes that made it, and a program's pages are mapped a folio at a time:
                    // written a MiB at a time, the helper's peak RSS was 18.6 MiB, not 8.1.
                    var at = 0
                    while at < r {
                        let n = min(writeSize, r - at)
                        try FileSystem.writeAll(fd, UnsafeRawBufferPointer(rebasing: b[at..<(at + n)]), what: tmp)
                        at += n
                    }
                }
            } catch { return false }
            // On its way to disk as it is written: the fsync below waits for little.
            FileSystem.startWriteback(fd, offset: Int64(copied), length: Int64(r))
            copied += r
        }
        let actual = hash.finish().hex
        guard actual == digest else {
            throw EngineError("the registry helper inside this binary is damaged: its digest is sha256:\(actual), not sha256:\(digest)")
        }
        guard fchmod(fd, 0o755) == 0, fsync(fd) == 0, rename(tmp, path) == 0 else { return false }
        written = true
        return true
    }

    /// Removes the helpers of other builds and the temporary files of writers that are
    /// gone. A helper that is running keeps its pages (and a caller that opened it, its file).
    static func removeOthers(in dir: String, keeping name: String) {
        for entry in FileSystem.list(dir) where entry != name {
            if entry.hasPrefix(prefix) {
                unlink(dir + "/" + entry)
            } else if entry.hasPrefix("." + prefix + "tmp-") {
                let pid = entry.dropFirst(prefix.count + 5).split(separator: "-").first.flatMap { Int32($0) } ?? 0
                if pid > 0 && !ProcessInfoReader.isAlive(pid) { unlink(dir + "/" + entry) }
            }
        }
    }
}
