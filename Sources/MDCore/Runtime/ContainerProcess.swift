import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// A failure to start the container's process, with the exit status Docker gives it:
/// 127 when the command is not found, 126 when it cannot be executed, 125 otherwise.
public struct StartError: Error, CustomStringConvertible {
    public let status: Int32
    public let description: String
}

/// Where the container's stdio goes.
public struct ProcessIO {
    public var stdin: Int32 = -1     // -1: /dev/null
    public var stdout: Int32 = 1
    public var stderr: Int32 = 2
    public var tty = false
    public init() {}
}

/// Starts a container's first process from its RuntimeSpec and waits for it.
public enum ContainerProcess {
    static let namespaceFlags: [String: Int32] = [
        "pid": MDL_CLONE_NEWPID, "network": MDL_CLONE_NEWNET, "mount": MDL_CLONE_NEWNS, "ipc": MDL_CLONE_NEWIPC,
        "uts": MDL_CLONE_NEWUTS, "cgroup": MDL_CLONE_NEWCGROUP,
    ]
    static let attrFlags: [String: UInt64] = ["ro": MDL_MOUNT_ATTR_RDONLY, "nosuid": MDL_MOUNT_ATTR_NOSUID,
                                              "nodev": MDL_MOUNT_ATTR_NODEV, "noexec": MDL_MOUNT_ATTR_NOEXEC]
    static let ignoredOptions: Set<String> = ["rw", "relatime", "strictatime", "noatime", "suid", "dev", "exec"]
    /// A bind's propagation (`-v /src:/dst:rshared`, `--mount bind-propagation=`).
    static let propagationFlags: [String: UInt] = [
        "shared": UInt(MS_SHARED), "rshared": UInt(MS_SHARED | MS_REC), "slave": UInt(MS_SLAVE),
        "rslave": UInt(MS_SLAVE | MS_REC), "private": UInt(MS_PRIVATE), "rprivate": UInt(MS_PRIVATE | MS_REC),
    ]

    /// Waits for a started process in the foreground: signals to this process are
    /// forwarded (block them with `mdl_block_forwarded_signals` before the start, so that
    /// none is lost), a terminal is relayed. Returns the wait status; closes the terminal.
    public static func supervise(_ p: Started) -> Int32 {
        defer { if p.master >= 0 { close(p.master) } }
        return mdl_container_supervise(p.pid, p.master)
    }

    /// `supervise`, where with a terminal on stdin the detach keys (`keys`; Ctrl-P Ctrl-Q when
    /// nil) leave the process running: nil then, and a small process keeps its terminal
    /// open (mdl_hold_pty), as Docker's daemon does for a detached exec.
    public static func supervise(_ p: Started, detachKeys keys: [UInt8]?) -> Int32? {
        defer { if p.master >= 0 { close(p.master) } }
        let keys = keys ?? [0x10, 0x11]
        var detached: Int32 = 0
        let status = keys.withUnsafeBufferPointer {
            mdl_container_supervise_detach(p.pid, p.master, $0.baseAddress, $0.count, &detached)
        }
        guard detached == 0 else {
            _ = mdl_hold_pty(p.master)
            return nil
        }
        return status
    }

    /// A started container process: its pid, and the master side of its terminal (or -1).
    public struct Started { public let pid: pid_t; public let master: Int32 }

    /// Starts the process, in `cgroup` and, when the spec has a network namespace, in
    /// `network` (one is made when none is given), and returns once it has called execve.
    /// `started` is called with its pid at the sync point, before it may run (to record it).
    public static func start(_ spec: RuntimeSpec, rootfs: String, io: ProcessIO, cgroup: CgroupJoin? = nil,
                             network: NetworkNamespace? = nil,
                             started: (pid_t) throws -> Void = { _ in }) throws -> Started {
        var spec = spec
        let root = try RootedDirectory(path: rootfs)
        if let name = spec.userName { try UserLookup.apply(name, in: root, to: &spec) }
        close(try root.openDirectory(try RootedDirectory.components(spec.cwd, what: "working directory"), create: true))

        var c = mdl_container()
        var setup = try ProcessSetup(spec, into: &c)
        defer { setup.free() }
        c.rootfs = setup.arena.dup(rootfs)
        c.hostname = spec.hostname.map { setup.arena.dup($0) }
        c.readonly_rootfs = spec.rootReadonly ? 1 : 0
        c.`init` = spec.annotations[Annotation.initProcess] == "true" ? 1 : 0
        if let adj = spec.oomScoreAdj { c.oom_score_adj_set = 1; c.oom_score_adj = Int32(adj) }
        c.masked_paths = setup.arena.array(spec.maskedPaths)
        c.nmasked = Int32(spec.maskedPaths.count)
        c.readonly_paths = setup.arena.array(spec.readonlyPaths)
        c.nreadonly = Int32(spec.readonlyPaths.count)
        c.sysctl_keys = setup.arena.array(spec.sysctls.map(\.key))
        c.sysctl_values = setup.arena.array(spec.sysctls.map(\.value))
        c.nsysctls = Int32(spec.sysctls.count)

        let limits = UnsafeMutablePointer<mdl_rlimit>.allocate(capacity: max(1, spec.rlimits.count))
        defer { limits.deallocate() }
        for (i, r) in spec.rlimits.enumerated() {
            let res = mdl_rlimit_resource(r.type)
            guard res >= 0 else { throw EngineError("unknown rlimit \(r.type)") }
            limits[i] = mdl_rlimit(resource: res, soft: r.soft, hard: r.hard)
        }
        c.rlimits = UnsafePointer(limits)
        c.nrlimits = Int32(spec.rlimits.count)

        // A terminal: the process opens one from its own /dev/pts, which becomes its stdio
        // and /dev/console, and sends the master back (mdl_container.c, container_pty).
        let mounts = spec.mounts
        c.tty = spec.terminal || io.tty ? 1 : 0
        c.tty_fd = -1
        c.stdio = (io.stdin, io.stdout, io.stderr)

        let cMounts = UnsafeMutablePointer<mdl_mount>.allocate(capacity: max(1, mounts.count))
        defer { cMounts.deallocate() }
        for (i, m) in mounts.enumerated() {
            var cm = mdl_mount()
            let isBind = m.type == "bind" || m.options.contains("bind") || m.options.contains("rbind")
            cm.kind = Int32(isBind ? MDL_MOUNT_BIND : MDL_MOUNT_FS)
            cm.source = setup.arena.dup(isBind ? m.source : m.type)
            cm.destination = setup.arena.dup(m.destination)
            cm.recursive = m.options.contains("rbind") ? 1 : 0
            var data: [String] = []
            for o in m.options {
                if let f = attrFlags[o] { cm.attrs |= f }
                else if let p = propagationFlags[o] { if isBind { cm.propagation = p } }
                else if o != "bind" && o != "rbind" && !ignoredOptions.contains(o) { data.append(o) }
            }
            cm.data = setup.arena.dup(data.joined(separator: ","))
            if isBind {
                var st = stat()
                cm.file = stat(m.source, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR ? 1 : 0
            }
            // A directory target of the user's (a volume, a bind, a tmpfs) is made here first,
            // resolved in the root as the kernel would: through a dangling symlink in the
            // image it is made inside (the child refuses to follow one when it creates).
            if cm.file == 0 && !["/proc", "/sys", "/dev"].contains(where: { m.destination == $0 || m.destination.hasPrefix($0 + "/") }),
               let parts = try? RootedDirectory.components(m.destination, what: "mount point"),
               let fd = try? root.openDirectory(parts, create: true) {
                close(fd)
            }
            if m.destination == "/dev" && m.type == "tmpfs" { c.make_devices = 1 }
            cMounts[i] = cm
        }
        c.mounts = UnsafePointer(cMounts)
        c.nmounts = Int32(mounts.count)
        c.cgroup = cgroup.map { UnsafePointer($0.join) }
        // The process enters a namespace made by the engine instead of making its own.
        let network = spec.namespaces.contains("network") ? try network ?? NetworkNamespace.Pending().wait() : nil
        if network != nil { c.clone_flags &= ~namespaceFlags["network"]! }
        var netnsFd = network?.fd ?? -1

        var syncFd: Int32 = -1
        var err = [CChar](repeating: 0, count: 512)
        Trace.mark("process prepared")
        let pid = withExtendedLifetime((cgroup, network)) {
            withUnsafePointer(to: &netnsFd) { netns in
                c.netns = network == nil ? nil : netns
                return withUnsafePointer(to: &c) { mdl_container_spawn($0, &syncFd, &err, err.count) }
            }
        }
        guard pid > 0 else { throw EngineError(String(cString: err)) }
        let master = try release(pid, syncFd: syncFd, started: started)
        return Started(pid: pid, master: master)
    }

    /// `exec`: runs `args` in the running container whose process is `target`, with the
    /// spec's security settings and environment (`env` added), as `user` and in `cwd` when
    /// given. Runs in the foreground like `run`; returns the wait status.
    public static func exec(_ spec: RuntimeSpec, target: pid_t, args: [String], env: [String], user: String?,
                            cwd: String?, io: ProcessIO, cgroup: CgroupJoin? = nil) throws -> Int32 {
        mdl_block_forwarded_signals()
        defer { mdl_unblock_forwarded_signals() }
        return supervise(try execStart(spec, target: target, args: args, env: env, user: user, cwd: cwd, io: io, cgroup: cgroup))
    }

    /// `exec` with a terminal that the detach keys can leave: nil when the user detached.
    public static func exec(_ spec: RuntimeSpec, target: pid_t, args: [String], env: [String], user: String?,
                            cwd: String?, io: ProcessIO, cgroup: CgroupJoin? = nil, detachKeys: [UInt8]?) throws -> Int32? {
        mdl_block_forwarded_signals()
        defer { mdl_unblock_forwarded_signals() }
        let p = try execStart(spec, target: target, args: args, env: env, user: user, cwd: cwd, io: io, cgroup: cgroup)
        return supervise(p, detachKeys: detachKeys)
    }

    /// Starts an `exec` process and returns once it has called execve (a health check, which
    /// the monitor waits for along with the container).
    public static func execStart(_ spec: RuntimeSpec, target: pid_t, args: [String], env: [String], user: String?,
                                 cwd: String?, io: ProcessIO, cgroup: CgroupJoin? = nil) throws -> Started {
        var spec = spec
        spec.args = args
        for kv in env {
            let key = kv.split(separator: "=", maxSplits: 1).first.map(String.init) ?? kv
            spec.env.removeAll { $0.hasPrefix(key + "=") }
            spec.env.append(kv)
        }
        if let cwd { spec.cwd = cwd }
        if let user { spec.userName = user }
        if let name = spec.userName {
            // The container's own /etc/passwd, through its root as the kernel sees it.
            spec.uid = 0; spec.gid = 0; spec.additionalGids = []
            try UserLookup.apply(name, in: try RootedDirectory(path: "/proc/\(target)/root"), to: &spec)
        }
        var c = mdl_container()
        let setup = try ProcessSetup(spec, into: &c)
        defer { setup.free() }
        c.tty = io.tty ? 1 : 0   // from the container's own /dev/pts, as for run
        c.tty_fd = -1
        c.stdio = (io.stdin, io.stdout, io.stderr)
        c.cgroup = cgroup.map { UnsafePointer($0.join) }
        var syncFd: Int32 = -1
        var err = [CChar](repeating: 0, count: 512)
        let pid = withExtendedLifetime(cgroup) { withUnsafePointer(to: &c) { mdl_container_exec(target, $0, &syncFd, &err, err.count) } }
        guard pid > 0 else { throw EngineError(String(cString: err)) }
        let master = try release(pid, syncFd: syncFd) { _ in }
        return Started(pid: pid, master: master)
    }

    /// The sync point of a started process: `started` does the parent's part, then the
    /// process may go on; returns once it has exec'd. Either failing reaps it and throws
    /// (a failed exec with Docker's status: 127 not found, 126 not executable). Closes syncFd.
    /// Returns the master of the process's terminal when it has one, else -1.
    @discardableResult
    static func release(_ pid: pid_t, syncFd: Int32, started: (pid_t) throws -> Void) throws -> Int32 {
        defer { close(syncFd) }
        func reap() {
            var st: Int32 = 0
            waitpid(pid, &st, 0)
        }
        do { try started(pid) } catch {
            kill(pid, SIGKILL)
            reap()
            throw error
        }
        var err = [CChar](repeating: 0, count: 512)
        var execErrno: Int32 = 0
        var master: Int32 = -1
        if mdl_container_release_tty(syncFd, &err, err.count, &execErrno, &master) != 0 {
            reap()
            throw StartError(status: execErrno == ENOENT ? 127 : execErrno != 0 ? 126 : 125, description: String(cString: err))
        }
        Trace.mark("exec'd")
        return master
    }

    /// Docker's exit status for a wait status: the code, or 128 + the signal.
    public static func exitCode(_ status: Int32) -> Int32 {
        if mdl_wifexited(status) != 0 { return mdl_wexitstatus(status) }
        if mdl_wifsignaled(status) != 0 { return 128 + mdl_wtermsig(status) }
        return 125
    }
}

/// What a container's first process and `exec` set up alike: the command, environment,
/// working directory, namespaces, user, capabilities, no_new_privs and seccomp filter. Owns
/// the memory the struct points to until `free()`.
struct ProcessSetup {
    var arena = CStringArena()
    let groups: UnsafeMutablePointer<UInt32>
    let seccomp: SeccompFilter?

    init(_ spec: RuntimeSpec, into c: inout mdl_container) throws {
        for ns in spec.namespaces {
            guard let flag = ContainerProcess.namespaceFlags[ns] else { throw EngineError("unsupported namespace \"\(ns)\"") }
            c.clone_flags |= flag
        }
        c.cwd = arena.dup(spec.cwd)
        c.argv = arena.array(spec.args)
        c.envp = arena.array(spec.env)
        c.uid = spec.uid
        c.gid = spec.gid
        groups = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, spec.additionalGids.count))
        for (i, g) in spec.additionalGids.enumerated() { groups[i] = g }
        c.groups = UnsafePointer(groups)
        c.ngroups = Int32(spec.additionalGids.count)
        c.cap_bounding = try Capabilities.mask(spec.capabilities["bounding"] ?? [])
        c.cap_effective = try Capabilities.mask(spec.capabilities["effective"] ?? [])
        c.cap_permitted = try Capabilities.mask(spec.capabilities["permitted"] ?? [])
        c.cap_inheritable = try Capabilities.mask(spec.capabilities["inheritable"] ?? [])
        c.cap_ambient = try Capabilities.mask(spec.capabilities["ambient"] ?? [])
        c.no_new_privs = spec.noNewPrivileges ? 1 : 0
        seccomp = try spec.seccomp.map(SeccompFilter.load)
        c.seccomp_filter = seccomp.map { UnsafeRawPointer($0.program) }
        c.seccomp_count = seccomp?.count ?? 0
    }

    func free() {
        arena.free()
        groups.deallocate()
    }
}

/// C strings that live until `free()`.
struct CStringArena {
    var strings: [UnsafeMutablePointer<CChar>] = []
    var arrays: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []

    mutating func dup(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        strings.append(p)
        return UnsafePointer(p)
    }

    /// A NULL-terminated array.
    mutating func array(_ list: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let a = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: list.count + 1)
        for (i, s) in list.enumerated() { a[i] = dup(s) }
        a[list.count] = nil
        arrays.append(a)
        return UnsafePointer(a)
    }

    func free() {
        strings.forEach { Glibc.free($0) }
        arrays.forEach { $0.deallocate() }
    }
}
