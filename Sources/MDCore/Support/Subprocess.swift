#if canImport(Glibc)
import Glibc
#endif

/// Runs a host tool off the start path (mkfs for a sized volume), searched in PATH and the
/// usual sbin directories, with this process's stderr; returns its exit status.
enum Subprocess {
    static func run(_ argv: [String]) throws -> Int32 {
        var env = ProcessInfoEnvironment.current()
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.append("PATH=/usr/sbin:/usr/bin:/sbin:/bin") }
        else { env = env.map { $0.hasPrefix("PATH=") ? $0 + ":/usr/sbin:/sbin" : $0 } }
        var cargs = argv.map { strdup($0) } + [nil]
        var cenv = env.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) }; cenv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cargs, &cenv)
        guard rc == 0 else { throw EngineError.system("run \(argv[0])", rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

enum ProcessInfoEnvironment {
    static func current() -> [String] {
        var out: [String] = []
        var p = environ
        while let s = p.pointee { out.append(String(cString: s)); p += 1 }
        return out
    }
}
