import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// A seccomp filter from the OCI `linux.seccomp` object (Docker's profile format is the same
/// shape), compiled to BPF in the parent with libseccomp.
public final class SeccompFilter {
    public let program: UnsafeMutableRawPointer
    public let count: Int

    static let actions: [String: Int32] = [
        "SCMP_ACT_ALLOW": Int32(MDL_ACT_ALLOW), "SCMP_ACT_ERRNO": Int32(MDL_ACT_ERRNO),
        "SCMP_ACT_KILL": Int32(MDL_ACT_KILL_THREAD), "SCMP_ACT_KILL_THREAD": Int32(MDL_ACT_KILL_THREAD),
        "SCMP_ACT_KILL_PROCESS": Int32(MDL_ACT_KILL_PROCESS), "SCMP_ACT_TRAP": Int32(MDL_ACT_TRAP),
        "SCMP_ACT_LOG": Int32(MDL_ACT_LOG), "SCMP_ACT_TRACE": Int32(MDL_ACT_TRACE),
    ]
    static let ops: [String: Int32] = [
        "SCMP_CMP_NE": Int32(MDL_CMP_NE), "SCMP_CMP_LT": Int32(MDL_CMP_LT), "SCMP_CMP_LE": Int32(MDL_CMP_LE),
        "SCMP_CMP_EQ": Int32(MDL_CMP_EQ), "SCMP_CMP_GE": Int32(MDL_CMP_GE), "SCMP_CMP_GT": Int32(MDL_CMP_GT),
        "SCMP_CMP_MASKED_EQ": Int32(MDL_CMP_MASKED_EQ),
    ]

    /// Where compiled programs are kept (ROOT/seccomp), or nil. Compiling a profile with
    /// libseccomp costs 0.3–0.7 ms of every start and exec, and the same few profiles come back.
    public static var cacheDirectory: String?

    /// The filter for a profile: from the cache when a program compiled from the same profile
    /// by the same libseccomp is there and matches the digest stored with it (a torn write is
    /// never loaded: a prefix of a program can be a valid, more permissive one), else compiled
    /// and kept.
    public static func load(_ j: JSON) throws -> SeccompFilter {
        guard let dir = cacheDirectory else { return try SeccompFilter(j) }
        let key = Digest.of(j.serialized() + "\n" + String(cString: mdl_seccomp_version()))
        let path = dir + "/" + key.hex + ".bpf"
        if let bytes = try? FileSystem.readFile(path), bytes.count > 64, (bytes.count - 64) % 8 == 0 {
            let program = bytes[64...]
            if Digest.of(program).hex.utf8.elementsEqual(bytes[0..<64]) { return SeccompFilter(program: Array(program)) }
        }
        let filter = try SeccompFilter(j)
        let program = Array(UnsafeRawBufferPointer(start: filter.program, count: filter.count * 8))
        if (try? FileSystem.makeDirectories(dir, mode: 0o700)) != nil {
            try? FileSystem.writeAtomically(path, Array(Digest.of(program).hex.utf8) + program, mode: 0o600, durable: false)
        }
        return filter
    }

    /// A program as compiled before (struct sock_filter, 8 bytes each).
    init(program bytes: [UInt8]) {
        let p = malloc(bytes.count)!
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        program = p
        count = bytes.count / 8
    }

    public init(_ j: JSON) throws {
        func action(_ name: String?, _ what: String) throws -> Int32 {
            guard let name, let a = SeccompFilter.actions[name] else {
                throw EngineError("seccomp profile: \(what): unknown action \"\(name ?? "")\"")
            }
            return a
        }
        let defaultAction = try action(j["defaultAction"]?.string, "defaultAction")
        let defaultErrno = UInt32(j["defaultErrnoRet"]?.int ?? Int64(EPERM))
        var names: [UnsafeMutablePointer<CChar>] = []
        defer { names.forEach { free($0) } }
        var rules: [mdl_seccomp_rule] = []
        for s in j["syscalls"]?.array ?? [] {
            let act = try action(s["action"]?.string, "syscalls")
            var args: [mdl_seccomp_arg] = []
            for a in s["args"]?.array ?? [] {
                guard let index = a["index"]?.int, let op = a["op"]?.string, let o = SeccompFilter.ops[op] else {
                    throw EngineError("seccomp profile: an argument rule needs index and a known op")
                }
                args.append(mdl_seccomp_arg(index: UInt32(index), op: o,
                                            value: UInt64(bitPattern: a["value"]?.int ?? 0),
                                            value_two: UInt64(bitPattern: a["valueTwo"]?.int ?? 0)))
            }
            guard args.count <= 6 else { throw EngineError("seccomp profile: more than 6 argument rules") }
            for n in s["names"]?.stringArray ?? [] {
                let c = strdup(n)!
                names.append(c)
                var r = mdl_seccomp_rule()
                r.name = UnsafePointer(c)
                r.action = act
                r.errno_ret = UInt32(s["errnoRet"]?.int ?? Int64(EPERM))
                r.nargs = Int32(args.count)
                withUnsafeMutableBytes(of: &r.args) { raw in
                    let p = raw.bindMemory(to: mdl_seccomp_arg.self)
                    for (i, a) in args.enumerated() { p[i] = a }
                }
                rules.append(r)
            }
        }
        var prog: UnsafeMutableRawPointer?
        var count = 0
        var err = [CChar](repeating: 0, count: 256)
        guard mdl_seccomp_build(defaultAction, defaultErrno, rules, Int32(rules.count), &prog, &count, &err, err.count) == 0,
              let prog else {
            throw EngineError("seccomp profile: \(String(cString: err))")
        }
        program = prog
        self.count = count
    }

    deinit { free(program) }
}
