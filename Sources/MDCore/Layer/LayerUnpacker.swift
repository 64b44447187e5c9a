#if canImport(Glibc)
import Glibc
#endif
import CKernel
import CStream

/// Unpacks a layer tar (read by libarchive) into a directory, as overlayfs wants it:
/// `.wh.NAME` becomes a 0/0 character device, `.wh..wh..opq` the `trusted.overlay.opaque`
/// xattr on its directory. Every path is resolved inside the directory (RootedDirectory);
/// a hardlink can only point at a file of the same layer; `..` refuses the layer.
public struct LayerUnpacker {
    let root: RootedDirectory
    let what: String
    var directoryTimes: [([String], timespec)] = []

    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"
    static let opaqueXattr = "trusted.overlay.opaque"

    /// Unpacks everything from `archive` into `directory` (which exists and is empty).
    /// `what` names the layer in errors. Returns the sum of regular file sizes.
    @discardableResult
    public static func unpack(_ archive: OpaquePointer, into directory: String, what: String) throws -> UInt64 {
        var u = LayerUnpacker(root: try RootedDirectory(path: directory), what: what)
        return try u.run(archive)
    }

    mutating func run(_ a: OpaquePointer) throws -> UInt64 {
        var total: UInt64 = 0
        var entry: OpaquePointer?
        while true {
            let rc = archive_read_next_header(a, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let e = entry else {
                throw EngineError("\(what): \(String(cString: archive_error_string(a)))")
            }
            total += try extract(e, from: a)
        }
        for (path, mtime) in directoryTimes.reversed() {
            let fd = root.open(path, flags: O_RDONLY | O_DIRECTORY)
            if fd >= 0 {
                var times = [mtime, mtime]
                futimens(fd, &times)
                close(fd)
            }
        }
        return total
    }

    func fail(_ path: String, _ why: String) -> EngineError { EngineError("\(what): entry \"\(path)\": \(why)") }

    mutating func extract(_ e: OpaquePointer, from a: OpaquePointer) throws -> UInt64 {
        let raw = archive_entry_pathname(e).map { String(cString: $0) } ?? ""
        let parts = try RootedDirectory.components(raw, what: "\(what): entry")
        guard let name = parts.last else { return 0 }   // the root itself: keep ours
        guard name.utf8.count <= 255 else { throw fail(raw, "name too long") }
        let parentFd = try root.openDirectory(Array(parts.dropLast()), create: true)
        defer { close(parentFd) }

        if name == LayerUnpacker.opaqueMarker {
            guard mdl_fsetxattr(parentFd, LayerUnpacker.opaqueXattr, "y", 1) == 0 else {
                throw EngineError.system("\(what): mark \(raw) opaque")
            }
            return 0
        }
        if name.hasPrefix(LayerUnpacker.whiteoutPrefix) {
            let hidden = String(name.dropFirst(LayerUnpacker.whiteoutPrefix.count))
            if hidden.hasPrefix(".wh.") || hidden.isEmpty { return 0 }   // aufs metadata: not ours
            try removeExisting(parentFd, hidden, keepDirectory: false)
            guard mdl_mknodat(parentFd, hidden, S_IFCHR, 0, 0) == 0 else {
                throw EngineError.system("\(what): whiteout \(raw)")
            }
            return 0
        }

        let type = UInt32(archive_entry_filetype(e))
        let mode = mode_t(archive_entry_perm(e))
        let uid = uid_t(truncatingIfNeeded: archive_entry_uid(e))
        let gid = gid_t(truncatingIfNeeded: archive_entry_gid(e))
        let mtime = timespec(tv_sec: Int(archive_entry_mtime(e)), tv_nsec: Int(archive_entry_mtime_nsec(e)))

        if let link = archive_entry_hardlink(e) {
            let target = try RootedDirectory.components(String(cString: link), what: "\(what): hardlink target of \(raw):")
            let tfd = root.open(target, flags: MDL_O_PATH | O_NOFOLLOW)
            guard tfd >= 0 else {
                throw fail(raw, "hardlink target \"\(String(cString: link))\" is not in the layer")
            }
            defer { close(tfd) }
            try removeExisting(parentFd, name, keepDirectory: false)
            guard linkat(tfd, "", parentFd, name, MDL_AT_EMPTY_PATH) == 0 else {
                throw EngineError.system("\(what): hardlink \(raw)")
            }
            return 0
        }

        switch type {
        case FileType.regular:
            try removeExisting(parentFd, name, keepDirectory: false)
            let fd = openat(parentFd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw EngineError.system("\(what): create \(raw)") }
            defer { close(fd) }
            let size = archive_entry_size(e)
            var buf: UnsafeRawPointer?
            var len = 0
            var offset: Int64 = 0
            while true {
                let rc = archive_read_data_block(a, &buf, &len, &offset)
                if rc == ARCHIVE_EOF { break }
                guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else {
                    throw EngineError("\(what): \(raw): \(String(cString: archive_error_string(a)))")
                }
                try writeSparse(fd, UnsafeRawBufferPointer(start: buf, count: len), at: offset, raw: raw)
            }
            // Sparse files: the holes are never written; the size is set at the end.
            guard ftruncate(fd, off_t(size)) == 0 else { throw EngineError.system("\(what): truncate \(raw)") }
            // On its way to disk while the next entries unpack (Store.syncStaged waits for it).
            if size > 0 { FileSystem.startWriteback(fd) }
            try finish(fd: fd, raw: raw, e: e, uid: uid, gid: gid, mode: mode)
            var times = [mtime, mtime]
            futimens(fd, &times)
            return UInt64(size)
        case FileType.directory:
            var st = stat()
            if fstatat(parentFd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) != S_IFDIR {
                try removeExisting(parentFd, name, keepDirectory: false)
            }
            if mkdirat(parentFd, name, 0o700) != 0 && errno != EEXIST {
                throw EngineError.system("\(what): mkdir \(raw)")
            }
            let fd = openat(parentFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw EngineError.system("\(what): open \(raw)") }
            defer { close(fd) }
            try finish(fd: fd, raw: raw, e: e, uid: uid, gid: gid, mode: mode)
            directoryTimes.append((parts, mtime))
            return 0
        case FileType.symlink:
            let target = archive_entry_symlink(e).map { String(cString: $0) } ?? ""
            try removeExisting(parentFd, name, keepDirectory: false)
            // The target is stored as text and never followed here.
            guard symlinkat(target, parentFd, name) == 0 else { throw EngineError.system("\(what): symlink \(raw)") }
            fchownat(parentFd, name, uid, gid, AT_SYMLINK_NOFOLLOW)
            applyXattrs(e) { k, v, n in mdl_lsetxattrat(parentFd, name, k, v, n) }
            var times = [mtime, mtime]
            utimensat(parentFd, name, &times, AT_SYMLINK_NOFOLLOW)
            return 0
        case FileType.character, FileType.block, FileType.fifo:
            if type != FileType.fifo && geteuid() != 0 {
                throw fail(raw, "device nodes can only be unpacked by root")
            }
            try removeExisting(parentFd, name, keepDirectory: false)
            guard mdl_mknodat(parentFd, name, mode_t(type) | mode, UInt32(archive_entry_rdevmajor(e)),
                              UInt32(archive_entry_rdevminor(e))) == 0 else {
                throw EngineError.system("\(what): mknod \(raw)")
            }
            fchownat(parentFd, name, uid, gid, AT_SYMLINK_NOFOLLOW)
            fchmodat(parentFd, name, mode, 0)
            var times = [mtime, mtime]
            utimensat(parentFd, name, &times, AT_SYMLINK_NOFOLLOW)
            return 0
        default:
            throw fail(raw, "unsupported file type \(String(type, radix: 8))")
        }
    }

    /// Writes a block, leaving holes where whole pages are zero: a sparse file stays sparse
    /// even when the tar stored its zeros (the final ftruncate sets the size). Runs of data
    /// go out in one write each.
    func writeSparse(_ fd: Int32, _ data: UnsafeRawBufferPointer, at offset: Int64, raw: String) throws {
        try LayerUnpacker.writeSparse(fd, data, at: offset, what: "\(what): write \(raw)")
    }

    /// As above, for any writer of a layer's files (LayerPacker's mirror too).
    static func writeSparse(_ fd: Int32, _ data: UnsafeRawBufferPointer, at offset: Int64, what: String) throws {
        let page = 4096
        var start = 0
        var runStart = 0   // the pending run of data to write: runStart..<start
        func flush(_ end: Int) throws {
            var done = runStart
            while done < end {
                let n = pwrite(fd, data.baseAddress! + done, end - done, off_t(offset) + off_t(done))
                if n < 0 { if errno == EINTR { continue }; throw EngineError.system(what) }
                done += n
            }
        }
        while start < data.count {
            // The next chunk ends on a page boundary of the file.
            let end = min(data.count, start + page - Int((offset + Int64(start)) % Int64(page)))
            if end - start == page && LayerUnpacker.isZero(UnsafeRawBufferPointer(rebasing: data[start..<end])) {
                try flush(start)
                runStart = end
            }
            start = end
        }
        try flush(data.count)
    }

    static func isZero(_ b: UnsafeRawBufferPointer) -> Bool {
        let words = b.count / 8
        for i in 0..<words where b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
        for i in (words * 8)..<b.count where b[i] != 0 { return false }
        return true
    }

    /// Owner, then mode (chown clears set-id bits), then xattrs.
    func finish(fd: Int32, raw: String, e: OpaquePointer, uid: uid_t, gid: gid_t, mode: mode_t) throws {
        guard fchown(fd, uid, gid) == 0 else { throw EngineError.system("\(what): chown \(raw)") }
        guard fchmod(fd, mode) == 0 else { throw EngineError.system("\(what): chmod \(raw)") }
        applyXattrs(e) { k, v, n in mdl_fsetxattr(fd, k, v, n) }
    }

    /// Extended attributes from PAX headers. overlayfs's own (`trusted.overlay.*`) are never
    /// taken from an archive: they would let a layer forge redirects or opaque directories.
    func applyXattrs(_ e: OpaquePointer, _ set: (UnsafePointer<CChar>, UnsafeRawPointer?, Int) -> Int32) {
        guard archive_entry_xattr_reset(e) > 0 else { return }
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            if String(cString: name).hasPrefix("trusted.overlay.") { continue }
            _ = set(name, value, size)
        }
    }

    /// Clears the way for a new entry (a later entry replaces an earlier one, as tar does).
    func removeExisting(_ parentFd: Int32, _ name: String, keepDirectory: Bool) throws {
        var st = stat()
        guard fstatat(parentFd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if keepDirectory { return }
            let fd = openat(parentFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 {
                defer { close(fd) }
                try FileSystem.removeContents(fd, path: name)
            }
            guard unlinkat(parentFd, name, AT_REMOVEDIR) == 0 else { throw EngineError.system("\(what): replace \(name)") }
        } else {
            guard unlinkat(parentFd, name, 0) == 0 else { throw EngineError.system("\(what): replace \(name)") }
        }
    }
}
