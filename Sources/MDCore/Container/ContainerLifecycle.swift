import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// A container's life, each step once: create, start in the foreground (this process supervises it)
/// or under a monitor, the exit recorded, stop, pause, update, remove. The Lua binding
/// (Sources/MDLua/Bindings/RuntimeBinding.swift) calls one function each; the monitor
/// (Monitor.swift) records its exits through `recordExit` too. The start itself is
/// `ContainerLaunch.start` for both, and its undo `ContainerLaunch.release`.
public struct ContainerLifecycle {
    public let store: ContainerStore

    public init(_ store: ContainerStore) { self.store = store }

    // MARK: create

    /// A new container of the image `image` (an ID or a reference): `spec` is config.json's
    /// text as the stdlib built it, `files` the generated files (hostname, hosts,
    /// resolv.conf), `config` what it is created with. `starting`: this process starts it
    /// right after, in the foreground (the record names it as the monitor from the start).
    public func create(id: String, name: String, image: String, imageName: String, spec: String, command: [String],
                       files: [String: String], config: ContainerConfig, starting: Bool) throws -> ContainerRecord {
        let found = try ImageLookup.find(image, in: try store.store.images.load())
        return try store.create(id: id, name: name, image: found, imageName: imageName, spec: spec, command: command,
                                files: files, config: config, starting: starting)
    }

    // MARK: start

    /// How a foreground start connects the container: a terminal, this process's stdin,
    /// or its output captured into memory files (md.run{capture=true}).
    public struct ForegroundIO {
        public var tty = false
        public var stdin = false
        public var capture = false
        public init() {}
    }

    /// A foreground run's end: the exit status, the message of a start that failed or an
    /// exit that could not be recorded, what was captured, and the record as it is now.
    public struct ForegroundResult {
        public var exitCode: Int32 = 0
        public var error: String?
        /// The process did not start (`error` says why, `exitCode` is 125, 126 or 127).
        public var startFailed = false
        public var stdout: [UInt8]?
        public var stderr: [UInt8]?
        public var record: ContainerRecord
    }

    /// Starts the container with this process as its monitor and waits for it (signals are
    /// forwarded to it). Its output goes to this process's stdout and stderr and, unless the
    /// container goes at its exit (`--rm`), has a terminal or is captured, to its log too,
    /// as a detached container's does (`OutputTee`).
    public func runForeground(_ ref: String, _ options: ForegroundIO) throws -> ForegroundResult {
        var r = try store.find(ref)
        guard r.status != .running else { throw EngineError("container \(r.name) is already running") }
        try ContainerLifecycle.startable(r)
        let spec = try store.spec(r)
        Trace.mark("start: spec read")
        // This process is the monitor from here (a `run` wrote that into the record it
        // created, so its path has no write here): a start killed before the container
        // runs gives back what it held at the next read.
        if r.stopRequested || r.monitorPid != getpid() {
            r = try store.modify(r.id) { $0.stopRequested = false; $0.supervised() }
        }
        var io = ProcessIO()
        io.tty = options.tty
        io.stdin = options.stdin ? 0 : -1
        var outFd: Int32 = -1, errFd: Int32 = -1
        if options.capture {
            outFd = mdl_memfd("stdout")
            errFd = mdl_memfd("stderr")
            io.stdout = outFd
            io.stderr = errFd
        }
        defer { if outFd >= 0 { close(outFd) }; if errFd >= 0 { close(errFd) } }
        var tee: OutputTee?
        if !options.capture && !options.tty && !spec.terminal && !r.config.remove {
            tee = try OutputTee(log: try ContainerLifecycle.logWriter(store, r))
            io.stdout = tee!.stdout
            io.stderr = tee!.stderr
        }
        var result = ForegroundResult(record: r)
        do {
            // In the foreground, this process is the container's monitor.
            mdl_block_forwarded_signals()
            defer { mdl_unblock_forwarded_signals() }
            let started = try ContainerLaunch.start(store, &r, spec: spec, io: io)
            do { try tee?.begin() } catch { tee = nil }   // no copy: the pipes close, the output is lost
            let status = ContainerProcess.supervise(started)
            tee?.finish()
            Trace.mark("exited")
            r.exitCode = ContainerProcess.exitCode(status)
            r.error = ""
        } catch let e as StartError {
            r.exitCode = e.status
            r.error = e.description
            result.error = e.description
            result.startFailed = true
        } catch {
            r.exitCode = 125
            r.error = "\(error)"
            result.error = "\(error)"
            result.startFailed = true
        }
        tee = nil
        ContainerLaunch.release(store, &r, spec: spec)
        let (code, message) = (r.exitCode, r.error)
        if let unrecorded = recordExit(&r, code: code, error: message, oomKilled: r.oomKilled) {
            result.error = (message.isEmpty ? "" : message + "; ") + "its exit (\(code)) could not be recorded "
                + "(the next command that can will record it): \(unrecorded)"
        }
        Trace.mark("exit recorded")
        result.exitCode = r.exitCode
        if outFd >= 0 { result.stdout = ContainerLifecycle.readMemfd(outFd) }
        if errFd >= 0 { result.stderr = ContainerLifecycle.readMemfd(errFd) }
        result.record = r
        return result
    }

    /// Starts the container under a monitor of its own (`run -d`, `start`) and returns once
    /// it runs; a start that failed is thrown as a StartError with its status.
    public func startDetached(_ ref: String) throws {
        var r = try store.find(ref)
        guard r.status != .running && r.status != .restarting else {
            throw EngineError("container \(r.name) is already running")
        }
        try ContainerLifecycle.startable(r)
        r.stopRequested = false
        // This process watches the start until the monitor takes over: a start killed
        // in between gives back what it held at the next read (ContainerStore.repaired).
        r.supervised()
        try store.save(r)
        try Monitor.launch(store: store, id: r.id)
    }

    /// A dead container is not started: what is left of it is for `rm`.
    public static func startable(_ r: ContainerRecord) throws {
        guard r.status == .dead else { return }
        throw EngineError("container \(r.name) (\(r.id.prefix(12))) cannot be started: it is dead, \(r.error.isEmpty ? "remove it" : r.error)"
                          + (r.damaged ? "" : ": remove it (mdlua rm -f \(r.name))"))
    }

    /// The container's log writer, with its `--log-opt` limits (Docker's defaults otherwise).
    static func logWriter(_ store: ContainerStore, _ r: ContainerRecord) throws -> LogWriter {
        try LogWriter(path: store.path(r.id) + "/container.log", maxSize: r.config.logMaxSize, maxFiles: r.config.logMaxFiles)
    }

    // MARK: exit

    /// Records an exit of a foreground run: status exited, no pid, the code and message, and
    /// the oom and die events. When the record cannot be written (a full disk) the exit is
    /// stashed for the next command and the error returned; the status is still the
    /// container's own (a full disk must not turn an exit 0 into 125).
    func recordExit(_ r: inout ContainerRecord, code: Int32, error message: String, oomKilled oom: Bool) -> Error? {
        var unrecorded: Error?
        do {
            _ = try writeExit(&r, code: code, error: message, oomKilled: oom)
        } catch {
            r.status = .exited
            r.pid = 0
            store.stashExit(r.id, code: code, error: message)
            unrecorded = error
        }
        announceExit(r, oomKilled: oom)
        return unrecorded
    }

    /// Writes an exit into the record, for the foreground and the monitor alike: exited, no
    /// pid, the time, the code, the OOM kill, and the message when one is given. With a
    /// restart policy (the monitor's), a container the policy restarts (and no `stop` asked
    /// to keep down) says "restarting" instead, its count one up: returns whether it does.
    public func writeExit(_ r: inout ContainerRecord, code: Int32, error message: String?, oomKilled oom: Bool,
                          policy: RestartPolicy? = nil) throws -> Bool {
        var restart = false
        r = try store.modify(r.id) { rec in
            rec.status = .exited
            rec.pid = 0
            rec.finishedAt = Clock.now()
            rec.exitCode = code
            if let message { rec.error = message }
            rec.oomKilled = oom
            restart = !rec.stopRequested && (policy?.restarts(exitCode: code, count: rec.restartCount) ?? false)
            if restart {
                rec.status = .restarting
                rec.restartCount += 1
            }
        }
        return restart
    }

    /// The events of an exit that was recorded: oom (when the kernel killed it), die.
    public func announceExit(_ r: ContainerRecord, oomKilled oom: Bool) {
        if oom { store.event("oom", r) }
        store.event("die", r, ["exitCode": String(r.exitCode)])
    }

    /// A start that failed, recorded as an exit with its status and why (the monitor records
    /// it before the CLI hears of it, so that `run -d` and the record say the same); nothing
    /// supervises the container any more.
    public func recordStartFailure(_ id: String, status: Int32, error message: String) {
        _ = try? store.modify(id) { rec in
            rec.status = .exited
            rec.pid = 0
            rec.exitCode = status
            rec.error = message
            rec.finishedAt = Clock.now()
            rec.monitorPid = 0
            rec.monitorStart = 0
        }
    }

    // MARK: stop, kill, pause

    /// `stop`: the signal, then SIGKILL after `timeout` seconds. The stop happens even when
    /// the record cannot say so (a full disk): it acts first, then reports what could not be
    /// written. A damaged record: its monitor and whatever is in its cgroups are killed.
    public func stop(_ ref: String, timeout: Double, signal sig: Int32) throws {
        var r = try store.find(ref)
        if r.damaged {
            let dirs = ContainerReaper.cgroupDirectories(id: r.id, parent: (try? store.spec(r))?.cgroupParent)
            let running = !ContainerReaper.processes(dirs).isEmpty   // before its monitor's death takes them
            let monitors = ContainerReaper.monitors(root: store.store.root, id: r.id)
            for m in monitors { kill(m, SIGKILL) }
            let found = ContainerReaper.killAll(dirs)
            try? store.unmountRootfs(r)
            guard !running && found == 0 && monitors.isEmpty else {
                throw EngineError("container \(r.name) was stopped (its processes killed), but \(r.error)")
            }
            throw EngineError("container \(r.name) is not running: \(r.error)")
        }
        r.stopRequested = true
        var unsaved: Error?
        do { try store.save(r) } catch { unsaved = error }
        do { try stopProcess(&r, timeout: timeout, signal: sig) } catch { unsaved = unsaved ?? error }
        store.event("stop", r)
        if let e = unsaved {
            throw EngineError("container \(r.name) was stopped, but its record could not be updated: \(e)")
        }
    }

    /// Signals the container's process, waits up to `timeout` seconds, then SIGKILL; returns
    /// once the process and its monitor are gone and the record says exited.
    func stopProcess(_ r: inout ContainerRecord, timeout: Double, signal: Int32) throws {
        if r.processAlive { kill(r.pid, signal) }
        let deadline = ContainerReaper.now() + timeout
        var killed = signal == SIGKILL
        while true {
            r = try store.find(r.id)
            // Done when the process is gone and so is its monitor (which records the exit last):
            // a restart must not race an old monitor's final write.
            let busy = r.processAlive || (r.monitorAlive && r.monitorPid != getpid())
            if !busy && r.status != .restarting { break }
            if !killed && ContainerReaper.now() >= deadline {
                if r.processAlive { kill(r.pid, SIGKILL) }
                killed = true
            }
            if r.status == .restarting && !r.monitorAlive { break }
            usleep(10_000)
        }
        try store.unmountRootfs(r)
        if r.status != .exited && r.status != .created {
            r.status = .exited
            r.pid = 0
            r.finishedAt = Clock.now()
            try store.save(r)
        }
    }

    /// `kill`: a signal to the container's process (to everything in its cgroups when its
    /// record is damaged and cannot say what runs).
    public func signal(_ ref: String, _ sig: Int32) throws {
        let r = try store.find(ref)
        if r.damaged {
            let pids = ContainerReaper.processes(ContainerReaper.cgroupDirectories(id: r.id, parent: (try? store.spec(r))?.cgroupParent))
            guard !pids.isEmpty else { throw EngineError("container \(r.name) is not running (\(r.error))") }
            for p in pids { kill(p, sig) }
            return
        }
        guard r.status == .running, r.processAlive else { throw EngineError("container \(r.name) is not running") }
        guard kill(r.pid, sig) == 0 else { throw EngineError.system("kill \(r.name)") }
        store.event("kill", r, ["signal": String(sig)])
    }

    /// `pause` (frozen) and `unpause`: the cgroup freezer, and the record.
    public func pause(_ ref: String, frozen: Bool) throws {
        var r = try store.find(ref)
        guard r.status == (frozen ? .running : .paused) else {
            throw EngineError("container \(r.name) is \(r.status), not \(frozen ? "running" : "paused")")
        }
        try store.cgroup(r, try store.spec(r)).freeze(frozen)
        r.status = frozen ? .paused : .running
        try store.save(r)
        store.event(frozen ? "pause" : "unpause", r)
    }

    // MARK: exec, wait

    /// What `exec` runs in a running container, and how it is connected.
    public struct ExecOptions {
        public var args: [String] = []
        public var env: [String] = []
        public var user: String?
        public var workdir: String?
        public var tty = false
        public var stdin = false
        public var capture = false
        /// Started, then left (its output goes nowhere), as Docker's exec -d.
        public var detach = false
        /// The bytes that leave a terminal exec running; nil for Ctrl-P Ctrl-Q.
        public var detachKeys: [UInt8]?
        public init() {}
    }

    /// An exec's end: its status (0 when it was left running), why it did not start, whether
    /// the user detached, what was captured.
    public struct ExecResult {
        public var exitCode: Int32 = 0
        public var error: String?
        public var detached = false
        public var stdout: [UInt8]?
        public var stderr: [UInt8]?
    }

    /// `exec`: a process in the running container's namespaces and cgroup, with the same last
    /// steps as its first one (ContainerProcess.execStart).
    public func exec(_ ref: String, _ o: ExecOptions) throws -> ExecResult {
        let r = try store.find(ref)
        guard r.status == .running, r.processAlive else { throw EngineError("container \(r.name) is not running") }
        var io = ProcessIO()
        io.tty = o.tty
        io.stdin = o.stdin ? 0 : -1
        var outFd: Int32 = -1, errFd: Int32 = -1
        if o.capture {
            outFd = mdl_memfd("stdout"); errFd = mdl_memfd("stderr")
            io.stdout = outFd; io.stderr = errFd
        }
        defer { if outFd >= 0 { close(outFd) }; if errFd >= 0 { close(errFd) } }
        var result = ExecResult()
        if o.detach {
            // Started, then left: when this process exits, the container's pid 1 becomes its
            // parent (it lives in the container's pid namespace), as with Docker's exec -d.
            let null = open("/dev/null", O_RDWR | O_CLOEXEC)
            guard null >= 0 else { throw EngineError.system("open /dev/null") }
            defer { close(null) }
            io.stdin = -1; io.stdout = null; io.stderr = null; io.tty = false
            do {
                let spec = try store.spec(r)
                let cg = store.cgroup(r, spec)
                _ = try ContainerProcess.execStart(spec, target: r.pid, args: o.args, env: o.env, user: o.user,
                                                   cwd: o.workdir, io: io, cgroup: try cg.join())
            } catch let e as StartError {
                result.exitCode = e.status
                result.error = e.description
            }
            return result
        }
        do {
            let spec = try store.spec(r)
            let cg = store.cgroup(r, spec)
            if let status = try ContainerProcess.exec(spec, target: r.pid, args: o.args, env: o.env, user: o.user,
                                                      cwd: o.workdir, io: io, cgroup: try cg.join(), detachKeys: o.detachKeys) {
                result.exitCode = ContainerProcess.exitCode(status)
            } else {
                result.detached = true
            }
        } catch let e as StartError {
            result.exitCode = e.status
            result.error = e.description
        }
        if outFd >= 0 { result.stdout = ContainerLifecycle.readMemfd(outFd) }
        if errFd >= 0 { result.stderr = ContainerLifecycle.readMemfd(errFd) }
        return result
    }

    /// How an `attach` ended: the user detached, the container was removed when it ended
    /// (`--rm`: its die event has the status), or its exit status.
    public enum AttachEnd {
        case detached
        case removed
        case exited(Int32)
    }

    /// `attach`: relays the monitor's stream (attach.sock) to this terminal until the
    /// container stops or the user detaches (`keys`; nil for Ctrl-P Ctrl-Q); `stdin` sends
    /// this process's input to the container.
    public func attach(_ ref: String, stdin withStdin: Bool, detachKeys keys: [UInt8]?) throws -> AttachEnd {
        let r = try store.find(ref)
        guard r.status == .running || r.status == .restarting else { throw EngineError("container \(r.name) is not running") }
        let dirfd = open(store.path(r.id), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else { throw EngineError.system("open \(store.path(r.id))") }
        let sock = mdl_unix_connect(dirfd, "attach.sock")
        close(dirfd)
        guard sock >= 0 else {
            throw EngineError("container \(r.name) cannot be attached: it runs in the foreground of the mdlua that started it")
        }
        let rc = keys.map { k in k.withUnsafeBufferPointer { mdl_attach_relay(sock, withStdin ? 1 : 0, $0.baseAddress, $0.count) } }
            ?? mdl_attach_relay(sock, withStdin ? 1 : 0, nil, 0)
        close(sock)
        if rc == 1 { return .detached }
        guard rc == 0 else { throw EngineError("attach \(r.name): the monitor's stream is broken") }
        // The stream ends when the container stops; its monitor then records the exit (and
        // removes it with --rm: its die event has the status, stdlib/commands/run.lua).
        var now = r
        for _ in 0..<500 {
            guard let found = try? store.find(r.id) else { return .removed }
            now = found
            if now.status != .running { break }
            usleep(10_000)
        }
        return .exited(now.exitCode)
    }

    /// `wait`: until the container is not running (exited, never started, or dead); its
    /// exit status.
    public func wait(_ ref: String) throws -> Int32 {
        while true {
            let r = try store.find(ref)
            if r.status == .exited || r.status == .created || r.status == .dead { return r.exitCode }
            usleep(20_000)
        }
    }

    // MARK: update, remove

    /// `update`: `patch` is merged into the spec's `linux.resources` section by section
    /// (`{"memory": {"limit": N}}` changes only the memory limit), `restart` replaces the
    /// policy in the record (the monitor reads it at the next exit); the limits are applied
    /// live to a running or paused container, and the spec is written back.
    public func update(_ ref: String, resources patch: JSON, restart policy: String?) throws {
        let r = try store.find(ref)
        let path = store.path(r.id) + "/config.json"
        var spec: JSON
        do { spec = try JSON.parse(FileSystem.readFile(path)) } catch {
            throw EngineError("container \(r.name) (\(r.id.prefix(12))): its runtime spec \(path) is damaged: \(error)")
        }
        if case .object(var top) = spec {
            var linux = top["linux"]?.object ?? [:]
            var res = linux["resources"]?.object ?? [:]
            for (k, v) in patch.object ?? [:] {
                var section = res[k]?.object ?? [:]
                for (kk, vv) in v.object ?? [:] { section[kk] = vv }
                res[k] = .object(section)
            }
            linux["resources"] = .object(res)
            top["linux"] = .object(linux)
            spec = .object(top)
        }
        let parsed = try RuntimeSpec(json: spec)
        if r.status == .running || r.status == .paused {
            try store.cgroup(r, parsed).update(parsed.resources)
        }
        try FileSystem.writeAtomically(path, Array(spec.pretty().utf8))
        if let policy { try store.modify(r.id) { $0.config.restart = policy } }
    }

    /// `rm`: a running container only with `force` (killed first); one whose damaged record
    /// cannot say whether it runs only when its cgroups are empty, or with `force`. Returns
    /// the removed container's ID.
    public func remove(_ ref: String, force: Bool, volumes: Bool = false) throws -> String {
        var r = try store.find(ref)
        if r.status == .running || r.status == .restarting {
            guard force else { throw EngineError("container \(r.name) is running: stop it first, or use -f") }
            r.stopRequested = true
            try? store.save(r)   // a full disk must not keep it running
            try? stopProcess(&r, timeout: 0, signal: SIGKILL)
        }
        if r.damaged && !force {
            let dirs = ContainerReaper.cgroupDirectories(id: r.id, parent: (try? store.spec(r))?.cgroupParent)
            if !ContainerReaper.processes(dirs).isEmpty {
                throw EngineError("container \(r.name) (\(r.id.prefix(12))) still has processes, though its record is damaged: use -f")
            }
        }
        try store.remove(r, volumes: volumes)
        return r.id
    }

    static func readMemfd(_ fd: Int32) -> [UInt8] {
        lseek(fd, 0, SEEK_SET)
        return (try? FileSystem.readAll(fd, what: "captured output")) ?? []
    }
}
