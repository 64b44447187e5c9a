#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// Runs `mdlua-registry`, the program that talks to registries (Sources/MDRegistry): a
/// request as JSON on its stdin, the answer as JSON on its fd 3, progress events (one JSON
/// object a line, Sources/MDRegistry/ProgressEvents.swift) on its fd 4. It is a program of
/// its own so that mdlua's start-up does not pay for the HTTP stack (docs/registries.md).
/// Found as `MDLUA_REGISTRY_HELPER`, else next to this binary, else in this binary's
/// `.mdlua_registry` section (a release build made by `make build` carries it: one file to
/// install), run from its copy in the state root (HelperCache), or from memory when that
/// cannot be.
public enum RegistryHelper {
    static let section = ".mdlua_registry"
    /// The helper's SHA-256 in hex (scripts/embed-registry.sh), naming its copy.
    static let digestSection = ".mdlua_registry_sha256"

    /// Runs a request to its end, its events dropped.
    public static func call(_ request: JSON) throws -> JSON {
        let c = try start(request)
        while try c.nextEvent() != nil {}
        return try c.finish()
    }

    /// Starts a request; its caller reads the events (`nextEvent`) until there are no more,
    /// then the answer (`finish`).
    /// The helper's copy is kept in the request's `root` (its state root) when it has one.
    public static func start(_ request: JSON) throws -> Call {
        let program = try locate(root: request["root"]?.string)
        do {
            return try start(request, program)
        } catch let e as SpawnFailure {
            guard program.fd >= 0 && !program.inMemory else { throw EngineError(e.description) }
            // The copy cannot be run after all (a security module, a mount changed): memory.
            do { return try start(request, try locate(root: nil)) } catch let e as SpawnFailure { throw EngineError(e.description) }
        }
    }

    struct SpawnFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func start(_ request: JSON, _ program: Program) throws -> Call {
        let path = program.path
        defer { if program.fd >= 0 { close(program.fd) } }
        // The ends the child gets are first moved above 4, so that putting them at 3 and
        // 4 cannot overwrite one with the other.
        var pipes: [[Int32]] = []
        defer { for p in pipes { for fd in p where fd >= 0 { close(fd) } } }
        for _ in 0..<3 {
            var p: [Int32] = [0, 0]
            guard pipe(&p) == 0 else { throw EngineError.system("pipe") }
            for fd in p { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            pipes.append(p)
        }
        for (i, end) in [(0, 0), (1, 1), (2, 1)] {
            let moved = fcntl(pipes[i][end], F_DUPFD_CLOEXEC, 10)
            guard moved >= 0 else { throw EngineError.system("fcntl") }
            close(pipes[i][end]); pipes[i][end] = moved
        }
        let (input, answer, events) = (pipes[0], pipes[1], pipes[2])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, answer[1], 3)
        posix_spawn_file_actions_adddup2(&actions, events[1], 4)
        // The child starts with no signal blocked, whatever this thread blocks.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("mdlua-registry"), nil]
        Trace.exportOrigin()
        defer { for a in argv { free(a) } }
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        guard rc == 0 else {
            throw SpawnFailure(description: "cannot start the registry helper \(path): \(String(cString: strerror(rc)))")
        }
        close(input[0]); close(answer[1]); close(events[1])
        let call = Call(pid: pid, answer: answer[0], events: events[0])
        pipes = []
        let body = Array(request.serialized().utf8)
        _ = body.withUnsafeBytes { try? FileSystem.writeAll(input[1], $0, what: "the registry helper's stdin") }
        close(input[1])
        return call
    }

    /// A running request.
    public final class Call {
        let pid: pid_t
        var answer: Int32, events: Int32
        var buffer: [UInt8] = []
        var done = false

        init(pid: pid_t, answer: Int32, events: Int32) { (self.pid, self.answer, self.events) = (pid, answer, events) }

        /// The next progress event, or nil when the helper has no more (it is finishing).
        public func nextEvent() throws -> JSON? {
            while events >= 0 {
                if let nl = buffer.firstIndex(of: 10) {
                    let line = Array(buffer[..<nl])
                    buffer.removeSubrange(...nl)
                    if let e = try? JSON.parse(line) { return e }
                    continue
                }
                var chunk = [UInt8](repeating: 0, count: 16384)
                let n = chunk.withUnsafeMutableBytes { read(events, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { close(events); events = -1; break }
                buffer += chunk[0..<n]
            }
            return nil
        }

        /// The answer: what the request made, or its error thrown.
        public func finish() throws -> JSON {
            while try nextEvent() != nil {}
            let out = (try? FileSystem.readAll(answer, what: "the registry helper's answer")) ?? []
            let status = reap()
            guard let reply = try? JSON.parse(out) else {
                let how = (status & 0x7f) == 0 ? "exited with \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
                throw EngineError("the registry helper \(how) without an answer")
            }
            if let e = reply["error"]?.string { throw EngineError(e) }
            return reply
        }

        /// Stops the request (its progress callback failed): the helper is killed; what a
        /// pull had downloaded stays resumable, nothing half-made is published (the
        /// helper publishes under the store lock, all or nothing).
        public func cancel() {
            if !done { kill(pid, SIGTERM) }
            _ = reap()
        }

        @discardableResult
        func reap() -> Int32 {
            if events >= 0 { close(events); events = -1 }
            if answer >= 0 { close(answer); answer = -1 }
            guard !done else { return 0 }
            done = true
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return status
        }

        deinit { if !done { cancel() } }
    }

    /// The program to run: its path, and the descriptor it is run by (to close after the
    /// start), or -1.
    struct Program {
        let path: String
        let fd: Int32
        let inMemory: Bool
    }

    /// The program; with a state root, an embedded helper runs from its copy there.
    static func locate(root: String?) throws -> Program {
        if let p = getenv("MDLUA_REGISTRY_HELPER") { return Program(path: String(cString: p), fd: -1, inMemory: false) }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            let exe = String(cString: buf)
            let beside = String(exe[..<(exe.lastIndex(of: "/") ?? exe.startIndex)]) + "/mdlua-registry"
            if access(beside, X_OK) == 0 { return Program(path: beside, fd: -1, inMemory: false) }
        }
        let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open /proc/self/exe") }
        defer { close(fd) }
        let sections = EmbeddedFile.find([section, digestSection], in: fd)
        guard let (offset, size) = sections[section], size > 0 else {
            throw EngineError("no registry helper: mdlua-registry is neither beside this binary nor inside it (make build puts it inside)")
        }
        if let root, let (at, length) = sections[digestSection], length == 64 {
            var hex = [UInt8](repeating: 0, count: 64)
            if hex.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 64, off_t(at)) }) == 64,
               let copy = try HelperCache.open(root: root, digest: String(decoding: hex, as: UTF8.self),
                                               source: fd, offset: offset, size: size) {
                return Program(path: "/proc/self/fd/\(copy)", fd: copy, inMemory: false)
            }
        }
        let created = mdl_memfd("mdlua-registry")
        guard created >= 0 else { throw EngineError.system("memfd_create") }
        // Above the descriptors the child gets (0-4): it is run by its /proc/self/fd path,
        // which the child resolves after they are in place.
        let mem = fcntl(created, F_DUPFD_CLOEXEC, 10)
        close(created)
        guard mem >= 0 else { throw EngineError.system("fcntl") }
        var copied = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while copied < size {
            let want = min(chunk.count, size - copied)
            let r = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset + copied)) }
            guard r > 0 else { close(mem); throw EngineError.system("read the registry helper") }
            do { try chunk.withUnsafeBytes { try FileSystem.writeAll(mem, UnsafeRawBufferPointer(rebasing: $0[0..<r]), what: "memfd") } } catch {
                close(mem); throw error
            }
            copied += r
        }
        return Program(path: "/proc/self/fd/\(mem)", fd: mem, inMemory: true)
    }
}
