#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// Runs `mdlua-registry`, the program that talks to registries (Sources/MDRegistry): a
/// request as JSON on its stdin, the answer as JSON on its fd 3, its progress on our
/// stdout. It is a program of its own so that mdlua's start-up does not pay for the HTTP
/// stack (docs/registries.md). Found as `MDLUA_REGISTRY_HELPER`, else next to this
/// binary, else in this binary's `.mdlua_registry` section (a release build made by `make
/// build` carries it: one file to install), run from memory.
public enum RegistryHelper {
    static let section = ".mdlua_registry"

    public static func call(_ request: JSON) throws -> JSON {
        let (path, memfd) = try locate()
        defer { if memfd >= 0 { close(memfd) } }
        var input: [Int32] = [0, 0], answer: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&answer) == 0 else { throw EngineError.system("pipe") }
        for fd in input + answer { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, answer[1], 3)
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
        defer { for a in argv { free(a) } }
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        close(input[0]); close(answer[1])
        guard rc == 0 else {
            close(input[1]); close(answer[0])
            throw EngineError("cannot start the registry helper \(path): \(String(cString: strerror(rc)))")
        }
        let body = Array(request.serialized().utf8)
        _ = body.withUnsafeBytes { try? FileSystem.writeAll(input[1], $0, what: "the registry helper's stdin") }
        close(input[1])
        let out = (try? FileSystem.readAll(answer[0], what: "the registry helper's answer")) ?? []
        close(answer[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard let reply = try? JSON.parse(out) else {
            let how = (status & 0x7f) == 0 ? "exited with \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            throw EngineError("the registry helper \(how) without an answer")
        }
        if let e = reply["error"]?.string { throw EngineError(e) }
        return reply
    }

    /// The program's path (and the memfd holding it, to close after the start, or -1).
    static func locate() throws -> (String, Int32) {
        if let p = getenv("MDLUA_REGISTRY_HELPER") { return (String(cString: p), -1) }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            let exe = String(cString: buf)
            let beside = String(exe[..<(exe.lastIndex(of: "/") ?? exe.startIndex)]) + "/mdlua-registry"
            if access(beside, X_OK) == 0 { return (beside, -1) }
        }
        let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open /proc/self/exe") }
        defer { close(fd) }
        guard let (offset, size) = EmbeddedFile.find(section, in: fd), size > 0 else {
            throw EngineError("no registry helper: mdlua-registry is neither beside this binary nor inside it (make build puts it inside)")
        }
        let mem = mdl_memfd("mdlua-registry")
        guard mem >= 0 else { throw EngineError.system("memfd_create") }
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
        return ("/proc/self/fd/\(mem)", mem)
    }
}
