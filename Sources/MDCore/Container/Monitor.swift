import CShim
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

            let log = try LogWriter(path: store.path(id) + "/container.log",
                                    maxSize: Int(spec.annotations["io.mdlua.log-max-size"] ?? "") ?? 10 << 20,
                                    maxFiles: Int(spec.annotations["io.mdlua.log-max-file"] ?? "") ?? 3)
            let sigfd = mdl_sigchld_fd()
            var backoff: useconds_t = 100_000
            while true {
                let began = Clock.now()
                let (status, startError) = runOnce(store: store, record: &r, spec: spec, log: log, sigfd: sigfd) { tell("ok") }
                if let e = startError {
                    tell("err:\(e.status) \(e.description)")
                    return 1
                }
                log.flush()
                let oom = r.oomKilled
                _ = began
                var restart = false
                // Read now: `update --restart` may have changed it while the container ran.
                let policy = RestartPolicy((try? store.spec(r))?.annotations["io.mdlua.restart"] ?? "no")
                r = try store.modify(id) { rec in
                    rec.oomKilled = oom
                    rec.status = "exited"
                    rec.pid = 0
                    rec.exitCode = ContainerProcess.exitCode(status)
                    rec.finishedAt = Clock.now()
                    restart = !rec.stopRequested && policy.restarts(exitCode: rec.exitCode, count: rec.restartCount)
                    if restart {
                        rec.status = "restarting"
                        rec.restartCount += 1
                    }
                }
                guard restart else {
                    if spec.annotations["io.mdlua.rm"] == "true" { try? store.remove(r) }
                    return 0
                }
                usleep(backoff)
                backoff = min(backoff * 2, 60_000_000)
                r = try store.find(id)
                if r.stopRequested {
                    try store.modify(id) { $0.status = "exited" }
                    return 0
                }
            }
        } catch {
            tell("err:125 \(error)")
            _ = try? store.modify(id) { r in
                r.status = "exited"
                r.error = "\(error)"
                r.exitCode = 125
                r.pid = 0
            }
            return 1
        }
    }

    /// One run of the container: start, log, reap. Returns the wait status, or the start error.
    static func runOnce(store: ContainerStore, record r: inout ContainerRecord, spec: RuntimeSpec, log: LogWriter,
                        sigfd: Int32, started: () -> Void) -> (Int32, StartError?) {
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        guard mdl_pipe_cloexec(&out) == 0, mdl_pipe_cloexec(&err) == 0 else {
            return (0, StartError(status: 125, description: "pipe: \(String(cString: strerror(errno)))"))
        }
        var io = ProcessIO()
        io.stdout = out[1]
        io.stderr = err[1]
        let process: ContainerProcess.Started
        do {
            let rootfs = try store.mountRootfs(r, ephemeral: spec.ephemeral)
            var record = r
            let cg = store.cgroup(r, spec)
            try cg.create(spec.resources)
            process = try ContainerProcess.start(spec, rootfs: rootfs, io: io) { pid in
                try cg.add(pid: pid)
                record.status = "running"
                record.pid = pid
                record.pidStart = ProcessInfoReader.startTime(pid)
                record.monitorPid = getpid()
                record.startedAt = Clock.now()
                record.error = ""
                try store.save(record)
            }
            r = record
        } catch let e as StartError {
            [out[0], out[1], err[0], err[1]].forEach { close($0) }
            try? store.unmountRootfs(r)
            store.cgroup(r, spec).remove()
            return (0, e)
        } catch {
            [out[0], out[1], err[0], err[1]].forEach { close($0) }
            try? store.unmountRootfs(r)
            store.cgroup(r, spec).remove()
            return (0, StartError(status: 125, description: "\(error)"))
        }
        close(out[1])
        close(err[1])
        started()
        let health = HealthCheck.Config(json: spec.annotations["io.mdlua.healthcheck"].flatMap { try? JSON.parse($0) })
            .map { HealthCheck(config: $0, store: store, spec: spec, id: r.id) }
        var status: Int32 = 0
        var exited = false
        var open = [out[0]: "stdout", err[0]: "stderr"]
        var buf = [UInt8](repeating: 0, count: 65536)
        var trimmed = false
        let trimAt = HealthCheck.now() + 1
        while !exited || !open.isEmpty {
            var fds = [pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0)]
            for fd in open.keys.sorted() { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            var wait: Int32 = exited ? 100 : (health?.pollTimeout() ?? -1)
            if !trimmed && !exited { wait = wait < 0 ? 1000 : min(wait, 1000) }
            if !trimmed && HealthCheck.now() >= trimAt {
                // A second after the start (the CLI that shared the binary's pages has gone):
                // the code touched at start-up goes back to the page cache, and the monitor,
                // which mostly waits, keeps only what it uses.
                mdl_trim_resident()
                trimmed = true
            }
            if poll(&fds, nfds_t(fds.count), wait) <= 0 {
                if exited { break }   // output still open after exit: a child kept the pipe
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
            for p in fds.dropFirst() where p.revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    buf.withUnsafeBytes { log.write(UnsafeRawBufferPointer(rebasing: $0[0..<n]), stream: open[p.fd] ?? "stdout") }
                } else {
                    close(p.fd)
                    open[p.fd] = nil
                }
            }
        }
        for fd in open.keys { close(fd) }
        try? store.unmountRootfs(r)
        store.releaseCgroup(&r, spec)
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
