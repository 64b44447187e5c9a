#if canImport(Glibc)
import Glibc
#endif
import MDCore

/// A `docker-credential-NAME` program (the protocol Docker's `credsStore` and
/// `credHelpers` name): `get`, `store` and `erase`, one request on stdin, JSON on stdout.
struct CredentialHelper {
    let name: String
    var program: String { "docker-credential-" + name }

    func get(_ server: String) throws -> Credentials? {
        let (status, out) = try run("get", input: Array(server.utf8))
        // Helpers answer "credentials not found in native keychain" with a failure.
        guard status == 0 else { return nil }
        let j: JSON
        do { j = try JSON.parse(out) } catch { throw EngineError("\(program) get: not JSON: \(String(decoding: out.prefix(200), as: UTF8.self))") }
        guard let user = j["Username"]?.string, let secret = j["Secret"]?.string, !secret.isEmpty else { return nil }
        return Credentials(username: user, password: secret)
    }

    func store(_ server: String, _ c: Credentials) throws {
        let body = JSON.object(["ServerURL": .string(server), "Username": .string(c.username), "Secret": .string(c.password)])
        let (status, out) = try run("store", input: Array(body.serialized().utf8))
        guard status == 0 else { throw EngineError("\(program) store: \(String(decoding: out.prefix(200), as: UTF8.self))") }
    }

    func erase(_ server: String) throws {
        let (status, out) = try run("erase", input: Array(server.utf8))
        guard status == 0 else { throw EngineError("\(program) erase: \(String(decoding: out.prefix(200), as: UTF8.self))") }
    }

    /// Runs the helper found on PATH with `input` on its stdin; its stdout (and stderr).
    func run(_ verb: String, input: [UInt8]) throws -> (Int32, [UInt8]) {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0 else { throw EngineError.system("pipe") }
        for fd in inPipe + outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), strdup(verb), nil]
        defer { for a in argv { free(a) } }
        let rc = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        close(inPipe[0]); close(outPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0])
            throw EngineError("credential helper \(program): \(String(cString: strerror(rc)))")
        }
        _ = input.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
        close(inPipe[1])
        let out = (try? FileSystem.readAll(outPipe[0], what: program)) ?? []
        close(outPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), out)
    }
}
