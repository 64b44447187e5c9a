import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// The per-container monitor of a detached container (what conmon is to Podman): started as
/// `mdlua --internal-monitor ROOT ID FD`, it outlives the CLI. It starts the container, writes
/// its output to the log, reaps it, records the exit, and applies the restart policy.
/// It runs no Lua.
public enum Monitor {
    /// Starts a monitor for a created container and waits until the container runs (or
    /// failed to start: the error, with its exit status, is thrown).
    public static func launch(store: ContainerStore, id: String) throws {
        var fds: [Int32] = [0, 0]
        guard mdl_pipe_cloexec(&fds) == 0 else { throw EngineError.system("pipe") }
        let exe = (try? readLink("/proc/self/exe")) ?? "/proc/self/exe"
        let args = [exe, "--internal-monitor", store.store.root, id, String(fds[1])]
        let cArgs = args.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = cArgs.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { mdl_spawn_daemon($0.baseAddress, fds[1]) }
        close(fds[1])
        defer { close(fds[0]) }
        guard rc == 0 else { throw EngineError("cannot start the container's monitor") }
        let answer = String(decoding: (try? FileSystem.readAll(fds[0], what: "monitor")) ?? [], as: UTF8.self)
        if answer.hasPrefix("ok") { return }
        let parts = answer.split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].hasPrefix("err:"), let status = Int32(parts[0].dropFirst(4)) {
            throw StartError(status: status, description: String(parts[1]))
        }
        throw EngineError("the container's monitor died before the container started")
    }

    static func readLink(_ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buf, 4096)
        guard n > 0 else { throw EngineError.system("readlink \(path)") }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The monitor process's main. Returns its exit status.
    public static func main(root: String, id: String, readyFd: Int32) -> Int32 {
        mdl_ignore_hangups()
        _ = fcntl(readyFd, F_SETFD, FD_CLOEXEC)   // the container must not hold it open
        let store = ContainerStore(store: Store(root: root))
        let lifecycle = ContainerLifecycle(store)
        SeccompFilter.cacheDirectory = store.store.seccompCache
        var ready: Int32 = readyFd
        func tell(_ s: String) {
            guard ready >= 0 else { return }
            Array(s.utf8).withUnsafeBytes { try? FileSystem.writeAll(ready, $0, what: "monitor") }
            close(ready)
            ready = -1
        }
        do {
            var r = try store.find(id)
            let spec = try store.spec(r)

            let log = try ContainerLifecycle.logWriter(store, r)
            let sigfd = mdl_sigchld_fd()
            // `attach` connects here; the socket lives as long as the monitor.
            let dirfd = open(store.path(id), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            let listener = dirfd >= 0 ? mdl_unix_listen(dirfd, "attach.sock") : -1
            defer {
                if listener >= 0 { close(listener); unlinkat(dirfd, "attach.sock", 0) }
                if dirfd >= 0 { close(dirfd) }
            }
            var backoff: useconds_t = 100_000
            while true {
                let began = Clock.now()
                let (status, startError) = runOnce(store: store, record: &r, spec: spec, log: log, sigfd: sigfd,
                                                       listener: listener) { tell("ok") }
                if let e = startError {
                    // Recorded before the CLI hears of it: `run -d` returns this status, and
                    // the record must say the same (not a dead monitor's 255).
                    lifecycle.recordStartFailure(id, status: e.status, error: e.description)
                    tell("err:\(e.status) \(e.description)")
                    return 1
                }
                log.flush()
                let oom = r.oomKilled
                _ = began
                let restart: Bool
                // Read now: `update --restart` may have changed it while the container ran.
                let policy = RestartPolicy(store.load(id)?.config.restart ?? r.config.restart)
                do {
                    restart = try lifecycle.writeExit(&r, code: ContainerProcess.exitCode(status), error: nil,
                                                      oomKilled: oom, policy: policy)
                } catch {
                    // Not recorded (a full disk, a record that cannot be written): kept for the
                    // next command to record; a --rm container still goes (that frees space).
                    store.stashExit(id, code: ContainerProcess.exitCode(status), error: "")
                    if r.config.remove { try? store.remove(r) }
                    return 1
                }
                lifecycle.announceExit(r, oomKilled: oom)
                guard restart else {
                    if r.config.remove { try? store.remove(r) }
                    return 0
                }
                usleep(backoff)
                backoff = min(backoff * 2, 60_000_000)
                r = try store.find(id)
                if r.stopRequested {
                    try store.modify(id) { $0.status = .exited }
                    return 0
                }
            }
        } catch {
            tell("err:125 \(error)")
            _ = try? store.modify(id) { r in
                r.status = .exited
                r.error = "\(error)"
                r.exitCode = 125
                r.pid = 0
                r.monitorPid = 0
                r.monitorStart = 0
            }
            return 1
        }
    }

    /// One run of the container: start, log, reap, serve `attach`. Returns the wait status,
    /// or the start error.
    static func runOnce(store: ContainerStore, record r: inout ContainerRecord, spec: RuntimeSpec, log: LogWriter,
                        sigfd: Int32, listener: Int32, started: () -> Void) -> (Int32, StartError?) {
        // Output comes from pipes, or from the pty master with a terminal; input (-i) goes
        // to a pipe, or to the master.
        var pipes: [Int32] = []
        func closePipes() { pipes.forEach { close($0) }; pipes = [] }
        func makePipe() -> [Int32]? {
            var p: [Int32] = [0, 0]
            guard mdl_pipe_cloexec(&p) == 0 else { return nil }
            pipes += p
            return p
        }
        var io = ProcessIO()
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], input: [Int32] = [-1, -1]
        if spec.terminal {
            io.tty = true
        } else {
            guard let o = makePipe(), let e = makePipe() else {
                closePipes()
                return (0, StartError(status: 125, description: "pipe: \(String(cString: strerror(errno)))"))
            }
            (out, err) = (o, e)
            io.stdout = out[1]
            io.stderr = err[1]
            if r.config.interactive {
                guard let i = makePipe() else { closePipes(); return (0, StartError(status: 125, description: "pipe")) }
                input = i
                io.stdin = input[0]
            }
        }
        let process: ContainerProcess.Started
        do {
            process = try ContainerLaunch.start(store, &r, spec: spec, io: io)
        } catch {
            closePipes()
            return (0, error as? StartError ?? StartError(status: 125, description: "\(error)"))
        }
        // The container's ends are its own now.
        for fd in [out[1], err[1], input[0]] where fd >= 0 { close(fd) }
        let sink = spec.terminal ? (r.config.interactive ? process.master : -1) : input[1]
        if sink >= 0 { _ = fcntl(sink, F_SETFL, fcntl(sink, F_GETFL) | O_NONBLOCK) }
        started()
        let health = r.config.health.map { HealthCheck(config: $0, store: store, spec: spec, id: r.id) }
        var status: Int32 = 0
        var exited = false
        var open = spec.terminal ? [process.master: "stdout"] : [out[0]: "stdout", err[0]: "stderr"]
        var clients: [Int32] = []
        // `run -it` attaches right after the start and leaves `attach.hold` for it: the
        // container's output waits for that client (up to 2 s) instead of reaching the log
        // alone, so the terminal shows it from the first byte (stdlib/commands/run.lua).
        let holdUntil = unlink(store.path(r.id) + "/attach.hold") == 0 ? HealthCheck.now() + 2 : 0
        func holding() -> Bool { clients.isEmpty && holdUntil > HealthCheck.now() }
        func drop(_ c: Int32) { close(c); clients.removeAll { $0 == c } }
        var buf = [UInt8](repeating: 0, count: 65536)
        // The code touched at start-up goes back to the page cache, and the monitor, which
        // mostly waits, keeps only what it uses. The kernel leaves a page that another
        // process maps too (the CLI that started this monitor, another mdlua command, a
        // monitor that could not trim yet): so a second after the start, and again later.
        let started = HealthCheck.now()
        var trims = [1.0, 5.0, 30.0].map { started + $0 }
        while !exited || !open.isEmpty {
            var fds = [pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            let outputs = holding() ? [] : open.keys.sorted()
            for fd in outputs + clients { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            var wait: Int32 = exited ? 100 : (health?.pollTimeout() ?? -1)
            if holding() { wait = wait < 0 ? 20 : min(wait, 20) }
            if let next = trims.first, !exited {
                let untilTrim = Int32(max(0, (next - HealthCheck.now()) * 1000).rounded(.up))
                wait = wait < 0 ? untilTrim : min(wait, untilTrim)
            }
            if let next = trims.first, HealthCheck.now() >= next {
                mdl_trim_resident()
                trims.removeFirst()
            }
            if poll(&fds, nfds_t(fds.count), wait) <= 0 {
                if exited && !holding() { break }   // output still open after exit: a child kept the pipe
                health?.tick(target: process.pid)
                continue
            }
            if fds[0].revents != 0 {
                var info = [UInt8](repeating: 0, count: 128)
                while read(sigfd, &info, 128) > 0 {}
                // The container's process, or a health check's.
                while true {
                    var st: Int32 = 0
                    let p = waitpid(-1, &st, WNOHANG)
                    if p <= 0 { break }
                    if p == process.pid { status = st; exited = true }
                    else { _ = health?.reaped(p, status: st) }
                }
            }
            if !exited { health?.tick(target: process.pid) }
            if fds[1].revents != 0 {
                let c = mdl_attach_accept(listener)
                if c >= 0 {
                    if mdl_attach_greet(c, CChar(UInt8(ascii: spec.terminal ? "T" : "M")), spec.terminal ? process.master : -1) == 0 {
                        clients.append(c)
                    } else {
                        close(c)
                    }
                }
            }
            for p in fds.dropFirst(2) where p.revents != 0 {
                // A client dropped earlier in this round is closed: its number may be reused.
                guard open[p.fd] != nil || clients.contains(p.fd) else { continue }
                let n = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                if let stream = open[p.fd] {
                    guard n > 0 else { close(p.fd); open[p.fd] = nil; continue }
                    buf.withUnsafeBytes { b in
                        let chunk = UnsafeRawBufferPointer(rebasing: b[0..<n])
                        log.write(chunk, stream: stream)
                        let id: Int32 = spec.terminal ? 0 : (stream == "stdout" ? 1 : 2)
                        for c in clients where mdl_attach_send(c, id, chunk.baseAddress, n) != 0 { drop(c) }
                    }
                } else {
                    // A client's input; a full stdin drops it rather than stall the monitor.
                    guard n > 0 else { drop(p.fd); continue }
                    if sink >= 0 { _ = buf.withUnsafeBytes { write(sink, $0.baseAddress, n) } }
                }
            }
        }
        for fd in open.keys { close(fd) }
        clients.forEach { close($0) }
        if input[1] >= 0 { close(input[1]) }
        ContainerLaunch.release(store, &r, spec: spec)
        return (status, nil)
    }
}

/// `--restart no|on-failure[:N]|always|unless-stopped`.
public struct RestartPolicy {
    public let name: String
    public let maxRetries: Int

    public init(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        name = parts.first.map(String.init) ?? "no"
        maxRetries = parts.count == 2 ? Int(parts[1]) ?? 0 : 0
    }

    public func restarts(exitCode: Int32, count: Int) -> Bool {
        switch name {
        case "always", "unless-stopped": return true
        case "on-failure": return exitCode != 0 && (maxRetries == 0 || count < maxRetries)
        default: return false
        }
    }
}
