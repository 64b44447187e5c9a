#if canImport(Glibc)
import Glibc
#endif
import MDCore

/// `mdlua-registry`: one request as JSON on stdin, one answer as JSON on fd 3
/// (`{"error": MESSAGE}` when it failed), progress events on fd 4 (ProgressEvents) when
/// the request asks for them (`"events": true`). mdlua starts it
/// (Sources/MDCore/Registry/RegistryHelper.swift) for pull, push, login and logout.
public enum RegistryCommand {
    public static func main() -> Int32 {
        // A credential helper that exits without reading its stdin must not kill us with
        // SIGPIPE (a write gets EPIPE), and it must not hold our answer and event pipes
        // open (mdlua reads them to their end).
        signal(SIGPIPE, SIG_IGN)
        Trace.mark("registry helper")
        for fd: Int32 in [3, 4] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var answer: JSON
        do {
            let request = try JSON.parse(try FileSystem.readAll(0, what: "stdin"))
            answer = try run(request)
        } catch {
            answer = .object(["error": .string("\(error)")])
        }
        let bytes = Array(answer.serialized().utf8)
        do { try bytes.withUnsafeBytes { try FileSystem.writeAll(3, $0, what: "fd 3") } } catch { return 2 }
        return answer["error"] == nil ? 0 : 1
    }

    static func progress(_ j: JSON) -> ProgressEvents {
        ProgressEvents(fd: j["events"] == .bool(true) ? 4 : -1)
    }

    static func string(_ j: JSON, _ key: String) throws -> String {
        guard let s = j[key]?.string else { throw EngineError("registry request: \(key) is missing") }
        return s
    }

    /// A registry that could not be reached at all says so after what was being done
    /// (`pull 127.0.0.1:5999/x: cannot connect to 127.0.0.1:5999: connection refused`); the
    /// other errors name their reference already.
    static func naming<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as TransportError { throw EngineError("\(what): \(e)") }
    }

    static func run(_ j: JSON) throws -> JSON {
        let tlsVerify = j["tls_verify"] != .bool(false)
        switch j["verb"]?.string ?? "" {
        case "pull":
            var o = ImagePuller.Options()
            if let p = j["platform"]?.string { o.platform = try Descriptor.Platform(parsing: p) }
            o.tlsVerify = tlsVerify
            o.progress = progress(j)
            let ref = try string(j, "ref")
            let r = try naming("pull \(ref)") { try ImagePuller.pull(ref, into: Store(root: try string(j, "root")), options: o) }
            return .object(["image": .string(r.image.id.description), "reference": .string(r.reference.description),
                            "digest": .string(r.digest.description), "platform": .string(r.platform.description)])
        case "tags":
            return .object(["tags": .array(try ImagePuller.tags(try string(j, "ref"), tlsVerify: tlsVerify).map { .string($0) })])
        case "push":
            let image = try string(j, "image")
            let r = try naming("push \(j["destination"]?.string ?? image)") {
                try ImagePusher.push(image, as: j["destination"]?.string, from: Store(root: try string(j, "root")),
                                     tlsVerify: tlsVerify, progress: progress(j))
            }
            return .object(["reference": .string(r.reference.description), "digest": .string(r.digest.description),
                            "size": .int(Int64(r.size))])
        case "login":
            let at = try RegistryClient.login(j["registry"]?.string ?? "",
                                              Credentials(username: try string(j, "username"), password: try string(j, "password")),
                                              tlsVerify: tlsVerify)
            return .object(["stored": .string(at)])
        case "logout":
            return .object(["removed": .bool(try RegistryClient.logout(j["registry"]?.string ?? ""))])
        case "user":
            let c = try CredentialStore().lookup(j["registry"]?.string ?? Reference.defaultDomain)
            return .object(["username": c.map { .string($0.username) } ?? .null])
        case let v:
            throw EngineError("registry request: unknown verb \"\(v)\"")
        }
    }
}
