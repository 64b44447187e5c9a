import CKernel
import MDCore
#if canImport(Glibc)
import Glibc
#endif

/// `md.sys`: small facts about the calling process that the standard Lua library lacks.
enum SysBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        .record([
            "isatty": vm.function("md.sys.isatty") { args in
                [.boolean(isatty(Int32(try args.integer(1))) == 1)]
            },
            // (fd) -> rows, columns of the terminal on fd; nil when it is none (or says 0).
            "terminal_size": vm.function("md.sys.terminal_size") { args in
                var size = winsize()
                guard ioctl(Int32(try args.integer(1)), UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return [.null] }
                return [.integer(Int64(size.ws_row)), .integer(Int64(size.ws_col))]
            },
            "trace": vm.function("md.sys.trace") { args in
                let label = try args.string(1)
                Trace.mark(label)
                return []
            },
            "monotonic": vm.function("md.sys.monotonic") { _ in
                var ts = timespec()
                clock_gettime(CLOCK_MONOTONIC, &ts)
                return [.number(Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)]
            },
            "sleep": vm.function("md.sys.sleep") { args in
                let s = try args.number(1)
                var ts = timespec(tv_sec: Int(s), tv_nsec: Int((s - s.rounded(.down)) * 1e9))
                var rest = timespec()
                while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
                return []
            },
            // (data) -> "sha256:<hex>" of a string's bytes (build cache keys).
            "sha256": vm.function("md.sys.sha256") { args in [.str(Digest.of(try args.bytes(1)).description)] },
            // (text, bare) -> the bytes a size stands for ("512m", "1.5g", "10GB"; ByteSize, the
            // engine's one parser; `bare`: what a number with no unit counts, default 1), or nil
            // and why not.
            "parse_size": vm.function("md.sys.parse_size") { args in
                let bare = try args.optionalInteger(2) ?? 1
                guard bare >= 1 else { throw EngineError("md.sys.parse_size: bare must be at least 1") }
                switch ByteSize.parse(try args.string(1), bare: UInt64(bare)) {
                case .success(let bytes): return [.integer(Int64(bytes))]
                case .failure(let p): return [.null, .str(p.reason)]
                }
            },
            "nproc": vm.function("md.sys.nproc") { _ in [.integer(Int64(sysconf(Int32(_SC_NPROCESSORS_ONLN))))] },
            "readlink": vm.function("md.sys.readlink") { args in
                let path = try args.string(1)
                var buf = [CChar](repeating: 0, count: 4097)
                let n = readlink(path, &buf, 4096)
                guard n >= 0 else { return [.null, .str("\(path): \(String(cString: strerror(errno)))")] }
                return [.string(buf[0..<n].map { UInt8(bitPattern: $0) })]
            },
            "host": vm.function("md.sys.host") { args in
                // (root) -> what `info` reports of the host and of the state root's file system.
                var u = utsname()
                uname(&u)
                let machine = withUnsafeBytes(of: &u.machine) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                let layout = CgroupLayout.current()
                var cgroup: [String: LuaValue] = ["layout": .str(layout.name)]
                switch layout {
                case .v1(let controllers, let unified):
                    cgroup["version"] = .integer(1)
                    cgroup["controllers"] = .array(controllers.keys.sorted().map { .str($0) })
                    if let unified { cgroup["unified"] = .str(unified) }
                case .v2(let mount):
                    cgroup["version"] = .integer(2)
                    cgroup["mount"] = .str(mount)
                    let available = (try? FileSystem.readFile(mount + "/cgroup.controllers")).map { String(decoding: $0, as: UTF8.self) } ?? ""
                    cgroup["controllers"] = .array(available.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { .str(String($0)) })
                }
                var host: [String: LuaValue] = [
                    "kernel": .str(Kernel.release), "arch": .str(machine), "cgroup": .record(cgroup),
                    "seccomp": .str(String(cString: mdl_seccomp_version())),
                    "overlay_lowerdir_plus": .boolean(Kernel.overlayAppendsLowerDirs),
                ]
                if let root = try args.optionalString(1) {
                    let names: [Int: String] = [MDL_EXT4_SUPER_MAGIC: "extfs", MDL_XFS_SUPER_MAGIC: "xfs",
                                                MDL_BTRFS_SUPER_MAGIC: "btrfs", MDL_TMPFS_MAGIC: "tmpfs",
                                                MDL_OVERLAYFS_SUPER_MAGIC: "overlayfs"]
                    let type = mdl_fs_type(root)
                    if type >= 0 { host["backing_fs"] = .str(names[type] ?? String(type, radix: 16)) }
                    var st = statvfs()
                    if statvfs(root, &st) == 0 {
                        host["fs_size"] = .integer(Int64(st.f_blocks) * Int64(st.f_frsize))
                        host["fs_free"] = .integer(Int64(st.f_bavail) * Int64(st.f_frsize))
                    }
                }
                return [.record(host)]
            },
            "capabilities": vm.function("md.sys.capabilities") { _ in [.array(Capabilities.names.map { .str($0) })] },
            "getpid": vm.function("md.sys.getpid") { _ in [.integer(Int64(getpid()))] },
            "geteuid": vm.function("md.sys.geteuid") { _ in [.integer(Int64(geteuid()))] },
            "listdir": vm.function("md.sys.listdir") { args in
                let path = try args.string(1)
                guard let entries = listDirectory(path) else {
                    return [.null, .str("\(path): \(String(cString: strerror(errno)))")]
                }
                return [.array(entries.map { .str($0) })]
            },
        ])
    }
}

func listDirectory(_ path: String) -> [String]? {
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

func getenvString(_ name: String) -> String? {
    guard let v = getenv(name) else { return nil }
    return String(cString: v)
}

func writeStderr(_ s: String) {
    var s = s
    s.withUTF8 { buf in _ = fwrite(buf.baseAddress, 1, buf.count, stderr) }
}

func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { return data }
        data.append(contentsOf: chunk[0..<n])
    }
}
