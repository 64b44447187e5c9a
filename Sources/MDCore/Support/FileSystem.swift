#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// Small POSIX helpers. Paths here are the engine's own (the store, a state root); paths
/// inside a rootfs or a layer go through `RootedDirectory` instead.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, mode) != 0 && errno != EEXIST { throw EngineError.system("mkdir \(prefix)") }
        }
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open \(path)") }
        defer { close(fd) }
        return try readAll(fd, what: path)
    }

    /// Reads to the end. Sized from fstat (cgroupfs and /proc report 0 or a page), so a
    /// small file costs one buffer and two reads.
    public static func readAll(_ fd: Int32, what: String) throws -> [UInt8] {
        var st = stat()
        var capacity = fstat(fd, &st) == 0 && st.st_size > 0 ? Int(st.st_size) + 1 : 4096
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var count = 0
        while true {
            if count == capacity {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
                bigger.copyMemory(from: buffer, byteCount: count)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            let n = read(fd, buffer + count, capacity - count)
            if n < 0 { if errno == EINTR { continue }; throw EngineError.system("read \(what)") }
            if n == 0 { return Array(UnsafeRawBufferPointer(start: buffer, count: count)) }
            count += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: String) throws {
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 { if errno == EINTR { continue }; throw EngineError.system("write \(what)") }
            off += n
        }
    }

    /// Creates a new file with these bytes, for a directory nobody reads yet (a staging
    /// directory that is renamed into place whole).
    public static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw EngineError.system("create \(path)") }
        defer { close(fd) }
        try bytes.withUnsafeBytes { try writeAll(fd, $0, what: path) }
    }

    /// Rewrites a small file where it is: no new inode made, none freed, no data written
    /// out by a rename (ext4 without a journal, as on the development VM, is slow at all
    /// three: docs/benchmarks.md, "The default network"). For records whose writers hold a
    /// lock and whose readers take it shared (a reader could see a half-written page).
    /// Only when the old and the new content fit in the file's first page and in the blocks
    /// it has: one write() into one page is whole or not at all for a killed writer, and
    /// needs no block (no ENOSPC half-way). The new content is padded with spaces to the old
    /// length, then the file is cut to size: a writer killed in between leaves the new
    /// content followed by blanks. False when it cannot (no such file, too large, the write
    /// failed before touching it): then write it another way.
    public static func rewriteInPlace(_ path: String, _ bytes: [UInt8]) -> Bool {
        let page = 4096
        guard bytes.count <= page else { return false }
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size > 0, st.st_size <= page else { return false }
        var out = bytes
        if out.count < Int(st.st_size) { out += [UInt8](repeating: 0x20, count: Int(st.st_size) - out.count) }
        guard Int(st.st_blocks) * 512 >= out.count else { return false }
        var n: Int
        repeat { n = out.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } } while n < 0 && errno == EINTR
        guard n == out.count else { return false }
        if out.count > bytes.count { _ = ftruncate(fd, off_t(bytes.count)) }
        return true
    }

    /// Replaces a file's content, atomically for readers and against a killed process, and
    /// nothing more: the new file is swapped with the old one (RENAME_EXCHANGE) and the old
    /// one unlinked. A plain rename over an existing file makes ext4 write the new data out
    /// first (auto_da_alloc, ~0.3 ms here); this does not, so after a power loss the file
    /// may be empty. For records that are thrown away after a crash anyway.
    public static func replaceVolatile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw EngineError.system("create \(tmp)") }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, what: tmp) }
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        if mdl_rename_exchange(tmp, path) == 0 {
            unlink(tmp)
        } else if rename(tmp, path) != 0 {   // no old file to swap with, or a file system without exchange
            let e = EngineError.system("rename \(tmp)")
            unlink(tmp)
            throw e
        }
    }

    /// Writes a file so that readers see the old content or the new, never a part: a
    /// temporary file in the same directory, fsync'd (unless `durable` is false), renamed
    /// over the target. Without fsync the rename still makes it atomic for every reader and
    /// against a killed process; only a power loss can lose it.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true) throws {
        try writeAtomically(path, mode: mode, durable: durable) { fd in
            try bytes.withUnsafeBytes { try writeAll(fd, $0, what: path) }
        }
    }

    /// The same, with `body` writing the content to the temporary file's descriptor (an
    /// archive streamed out): on any error the target is left as it was.
    public static func writeAtomically(_ path: String, mode: mode_t = 0o644, durable: Bool = true,
                                       _ body: (Int32) throws -> Void) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw EngineError.system("create \(tmp)") }
        do {
            try body(fd)
            guard !durable || fsync(fd) == 0 else { throw EngineError.system("fsync \(tmp)") }
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let e = EngineError.system("rename \(tmp)")
            unlink(tmp)
            throw e
        }
        if durable { syncDirectory(of: path) }
    }

    /// Flushes the file system holding `path` (one journal commit for many small files).
    public static func syncFileSystem(of path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { mdl_syncfs(fd); close(fd) }
    }

    /// The same, failing when the file system reports that something could not be written
    /// (syncfs(2) returns the write-back errors of the file system since Linux 5.8).
    public static func syncFileSystemChecked(of path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open \(path)") }
        defer { close(fd) }
        guard mdl_syncfs(fd) == 0 else { throw EngineError.system("sync the file system of \(path)") }
    }

    /// Starts writing a file's dirty pages (from `offset`, `length` bytes; 0: to the end) to
    /// disk without waiting: the disk works while the caller goes on, and the sync that
    /// makes the file durable later (Store.syncStaged) waits for little. A hint: a failure
    /// changes nothing, the sync writes what is left.
    public static func startWriteback(_ fd: Int32, offset: Int64 = 0, length: Int64 = 0) {
        _ = mdl_start_writeback(fd, off_t(offset), off_t(length))
    }

    public static func syncDirectory(of path: String) {
        var dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if dir.isEmpty { dir = path.hasPrefix("/") ? "/" : "." }
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// rm -rf that never follows a symlink: the tree is walked through directory fds.
    /// `last`: entries of the top directory removed after everything else, in this order
    /// (records that must stay readable while an interrupted removal can still be seen).
    public static func removeTree(_ path: String, last: [String] = []) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw EngineError.system("stat \(path)")
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            guard unlink(path) == 0 || errno == ENOENT else { throw EngineError.system("remove \(path)") }
            return
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open \(path)") }
        do {
            try removeContents(fd, path: path, except: Set(last))
            for name in last where unlinkat(fd, name, 0) != 0 && errno != ENOENT {
                throw EngineError.system("remove \(path)/\(name)")
            }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        guard rmdir(path) == 0 || errno == ENOENT else { throw EngineError.system("remove \(path)") }
    }

    /// Removes everything inside the directory fd (not the directory itself). Takes no ownership of fd.
    static func removeContents(_ fd: Int32, path: String, except: Set<String> = []) throws {
        for (name, isDir) in try entries(fd, path: path) where !except.contains(name) {
            if isDir {
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 {
                    defer { close(child) }
                    try removeContents(child, path: path + "/" + name)
                }
                guard unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT else {
                    throw EngineError.system("remove \(path)/\(name)")
                }
            } else {
                guard unlinkat(fd, name, 0) == 0 || errno == ENOENT else {
                    throw EngineError.system("remove \(path)/\(name)")
                }
            }
        }
    }

    /// The names in a directory fd (sorted), with whether each is a directory (not followed).
    public static func entries(_ fd: Int32, path: String) throws -> [(name: String, isDirectory: Bool)] {
        let dupfd = dup(fd)
        guard dupfd >= 0, let dir = fdopendir(dupfd) else { throw EngineError.system("read directory \(path)") }
        defer { closedir(dir) }
        rewinddir(dir)
        var out: [(String, Bool)] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            var isDir = e.pointee.d_type == UInt8(DT_DIR)
            if e.pointee.d_type == UInt8(DT_UNKNOWN) {
                var st = stat()
                isDir = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
            out.append((name, isDir))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    public static func list(_ path: String) -> [String] {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return ((try? entries(fd, path: path)) ?? []).map(\.name)
    }

    /// Disk usage of a tree in bytes (allocated blocks are not counted: apparent sizes).
    public static func treeSize(_ path: String) -> UInt64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        var total = UInt64(st.st_size)
        if (st.st_mode & S_IFMT) == S_IFDIR {
            total = 0
            for name in list(path) { total += treeSize(path + "/" + name) }
        }
        return total
    }
}

/// An exclusive `flock` on a file, released on `unlock()` or when the process dies.
public final class FileLock {
    let fd: Int32

    public init(path: String, shared: Bool = false) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError.system("open lock \(path)") }
        while flock(fd, shared ? LOCK_SH : LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = EngineError.system("lock \(path)")
            close(fd)
            throw e
        }
    }

    /// Takes the lock only if nobody holds it; nil otherwise. `create`: the lock file is
    /// made when missing (otherwise a missing one is nil).
    public static func attempt(path: String, create: Bool = false) -> FileLock? {
        let fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o600)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 { close(fd); return nil }
        return FileLock(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }
}
