#if canImport(Glibc)
import Glibc
#endif
import CKernel
import MDCore

/// `md.fs`: host file operations Lua's standard library lacks, for scripts that prepare
/// files (image bootstrap, builds). Host paths only; never paths inside a container.
enum FSBinding {
    /// An exclusive lock md.fs.try_lock took; released by `:release()` or when collected.
    final class HeldLock: LuaObject {
        static let luaTypeName = "md.fs.lock"
        static var luaMethods: [String: (HeldLock, LuaArguments) throws -> [LuaValue]] {
            ["release": { lock, _ in lock.lock = nil; return [] }]
        }
        var lock: FileLock?
        let path: String
        init(_ lock: FileLock, path: String) { (self.lock, self.path) = (lock, path) }
        var luaDescription: String { "md.fs.lock(\(path))" }
    }

    static func module(_ vm: LuaVM) -> LuaValue {
        .record([
            "mkdir": vm.function("md.fs.mkdir") { args in
                try FileSystem.makeDirectories(try args.string(1), mode: mode_t(try args.optionalInteger(2) ?? 0o755))
                return []
            },
            "write": vm.function("md.fs.write") { args in
                let path = try args.string(1)
                let bytes = try args.bytes(2)
                let mode = mode_t(try args.optionalInteger(3) ?? 0o644)
                try FileSystem.writeAtomically(path, bytes, mode: mode)
                chmod(path, mode)
                return []
            },
            "read": vm.function("md.fs.read") { args in [.string(try FileSystem.readFile(try args.string(1)))] },
            "symlink": vm.function("md.fs.symlink") { args in
                let (target, path) = (try args.string(1), try args.string(2))
                guard symlink(target, path) == 0 else { throw EngineError.system("symlink \(path)") }
                return []
            },
            "link": vm.function("md.fs.link") { args in
                let (target, path) = (try args.string(1), try args.string(2))
                guard link(target, path) == 0 else { throw EngineError.system("link \(path)") }
                return []
            },
            "copy": vm.function("md.fs.copy") { args in
                let (src, dst) = (try args.string(1), try args.string(2))
                var st = stat()
                guard stat(src, &st) == 0 else { throw EngineError.system("stat \(src)") }
                try FileSystem.writeAtomically(dst, try FileSystem.readFile(src), mode: st.st_mode & 0o7777)
                chmod(dst, st.st_mode & 0o7777)
                return []
            },
            "stat": vm.function("md.fs.stat") { args in
                // (path) -> {type, mode, size, uid, gid, major, minor} following symlinks, or
                // nil and the reason. major/minor: the device a block or character node names.
                let path = try args.string(1)
                var st = stat()
                guard stat(path, &st) == 0 else { return [.null, .str("\(path): " + String(cString: strerror(errno)))] }
                return [describe(st)]
            },
            // (path) -> as stat, of a symlink itself.
            "lstat": vm.function("md.fs.lstat") { args in
                let path = try args.string(1)
                var st = stat()
                guard lstat(path, &st) == 0 else { return [.null, .str("\(path): " + String(cString: strerror(errno)))] }
                return [describe(st)]
            },
            // (path, uid, gid): the owner of the path itself (a symlink is not followed).
            "chown": vm.function("md.fs.chown") { args in
                let path = try args.string(1)
                guard lchown(path, uid_t(try args.integer(2)), gid_t(try args.integer(3))) == 0 else {
                    throw EngineError.system("chown \(path)")
                }
                return []
            },
            // (path) -> "sha256:<hex>" of the file's bytes, read in blocks.
            "sha256": vm.function("md.fs.sha256") { args in
                let path = try args.string(1)
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw EngineError.system("open \(path)") }
                defer { close(fd) }
                var hash = SHA256()
                var buf = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 { if errno == EINTR { continue }; throw EngineError.system("read \(path)") }
                    if n == 0 { break }
                    buf.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                }
                return [.str(hash.finish().description)]
            },
            // (path) -> the bytes of the tree's files (apparent sizes, symlinks not followed).
            "size": vm.function("md.fs.size") { args in
                [.integer(Int64(truncatingIfNeeded: FileSystem.treeSize(try args.string(1))))]
            },
            "exists": vm.function("md.fs.exists") { args in [.boolean(FileSystem.exists(try args.string(1)))] },
            "isdir": vm.function("md.fs.isdir") { args in [.boolean(FileSystem.isDirectory(try args.string(1)))] },
            "remove": vm.function("md.fs.remove") { args in
                try FileSystem.removeTree(try args.string(1))
                return []
            },
            "tempdir": vm.function("md.fs.tempdir") { args in
                var template = Array(((try args.optionalString(1)) ?? "/tmp/mdlua-").utf8CString)
                template.removeLast()
                template += Array("XXXXXX".utf8CString)
                guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                    throw EngineError.system("mkdtemp")
                }
                return [.str(String(cString: p))]
            },
            // (path) -> an exclusive lock on the file (flock; made when missing), or nil when
            // another holds it: never waits. Other processes and other calls in this one
            // see it held until :release().
            "try_lock": vm.function("md.fs.try_lock") { args in
                let path = try args.string(1)
                guard let lock = FileLock.attempt(path: path, create: true) else {
                    guard FileSystem.exists(path) else { throw EngineError.system("open lock \(path)") }
                    return [.null]
                }
                return [.object(HeldLock(lock, path: path))]
            },
            "chmod": vm.function("md.fs.chmod") { args in
                let path = try args.string(1)
                guard chmod(path, mode_t(try args.integer(2))) == 0 else { throw EngineError.system("chmod \(path)") }
                return []
            },
        ])
    }

    static func describe(_ st: stat) -> LuaValue {
        let kinds: [mode_t: String] = [S_IFREG: "file", S_IFDIR: "directory", S_IFBLK: "block", S_IFCHR: "char",
                                       S_IFIFO: "fifo", S_IFSOCK: "socket", S_IFLNK: "symlink"]
        return .record([
            "type": .str(kinds[st.st_mode & S_IFMT] ?? "unknown"), "mode": .integer(Int64(st.st_mode & 0o7777)),
            "size": .integer(Int64(st.st_size)), "uid": .integer(Int64(st.st_uid)), "gid": .integer(Int64(st.st_gid)),
            "major": .integer(Int64(mdl_major(st.st_rdev))), "minor": .integer(Int64(mdl_minor(st.st_rdev))),
        ])
    }

}
