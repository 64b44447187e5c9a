import Foundation
import XCTest

/// Debian's `docker-registry` (CNCF distribution 2.8) on 127.0.0.1 at a free port, with its
/// storage in the test's directory: plain HTTP, or TLS with a CA made here by openssl;
/// no auth, basic auth (htpasswd), or token auth with Tests/fixtures/registry_token_server.py.
/// Stopped when the test ends.
final class LocalRegistry {
    enum Auth { case none, basic, token }

    let dir: URL
    let port: Int
    let tls: Bool
    let auth: Auth
    var host: String { "127.0.0.1:\(port)" }
    var storage: String { dir.appendingPathComponent("storage").path }
    var caCert: String { dir.appendingPathComponent("ca.crt").path }
    private var processes: [Process] = []
    static let user = "tester", password = "s3cret"

    static var fixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures").path
    }

    init(in parent: URL, test: XCTestCase, tls: Bool = false, auth: Auth = .none) throws {
        dir = parent.appendingPathComponent("registry-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.tls = tls
        self.auth = auth
        port = LocalRegistry.freePort()
        test.addTeardownBlock { [self] in stop() }
        var config = """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(storage)
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
              secret: test-secret

            """
        if tls {
            try LocalRegistry.sh("""
                cd '\(dir.path)' && \
                openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mdlua-test-ca -keyout ca.key -out ca.crt 2>/dev/null && \
                openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null && \
                printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext && \
                openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out server.crt 2>/dev/null
                """)
            config += "  tls:\n    certificate: \(dir.path)/server.crt\n    key: \(dir.path)/server.key\n"
        }
        switch auth {
        case .none: break
        case .basic:
            try LocalRegistry.sh("htpasswd -Bbc -C 4 '\(dir.path)/htpasswd' \(LocalRegistry.user) \(LocalRegistry.password) 2>/dev/null")
            config += "auth:\n  htpasswd:\n    realm: mdlua-test\n    path: \(dir.path)/htpasswd\n"
        case .token:
            try LocalRegistry.sh("""
                cd '\(dir.path)' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mdlua-token \
                  -keyout token.key -out token.crt 2>/dev/null
                """)
            let portFile = dir.appendingPathComponent("token.port").path
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            server.arguments = ["python3", LocalRegistry.fixtures + "/registry_token_server.py", portFile,
                                dir.path + "/token.key", dir.path + "/token.crt", "mdlua-test-issuer",
                                "\(LocalRegistry.user):\(LocalRegistry.password)"]
            try server.run()
            processes.append(server)
            let deadline = Date().addingTimeInterval(20)
            while !FileManager.default.fileExists(atPath: portFile) && Date() < deadline { usleep(50_000) }
            let tokenPort = try String(contentsOfFile: portFile, encoding: .utf8)
            config += """
                auth:
                  token:
                    realm: http://127.0.0.1:\(tokenPort)/token
                    service: mdlua-test-registry
                    issuer: mdlua-test-issuer
                    rootcertbundle: \(dir.path)/token.crt

                """
        }
        let configPath = dir.appendingPathComponent("config.yml")
        try config.write(to: configPath, atomically: true, encoding: .utf8)
        let registry = Process()
        registry.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        registry.arguments = ["serve", configPath.path]
        let log = FileHandle(forWritingAtPath: dir.appendingPathComponent("registry.log").path)
            ?? { FileManager.default.createFile(atPath: dir.appendingPathComponent("registry.log").path, contents: nil)
                 return FileHandle(forWritingAtPath: dir.appendingPathComponent("registry.log").path)! }()
        registry.standardOutput = log
        registry.standardError = log
        try registry.run()
        processes.append(registry)
        // Ready when it accepts connections.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if LocalRegistry.canConnect(port) { return }
            usleep(50_000)
        }
        throw NSError(domain: "LocalRegistry", code: 1, userInfo: [NSLocalizedDescriptionKey: "registry did not start"])
    }

    func stop() {
        for p in processes where p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
        processes = []
    }

    /// A port nobody listens on now (the kernel's pick for a socket bound to port 0).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    @discardableResult
    static func sh(_ command: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "sh", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "\(command): \(text)"])
        }
        return text
    }

    /// skopeo's flags to reach this registry: its CA, or plain HTTP; the credentials when it
    /// wants some.
    func skopeoDest(creds: Bool = true) -> String {
        var f = tls ? "--dest-cert-dir '\(dir.path)/skopeo-certs'" : "--dest-tls-verify=false"
        if auth != .none && creds { f += " --dest-creds \(LocalRegistry.user):\(LocalRegistry.password)" }
        return f
    }

    /// The same for `skopeo inspect`.
    func skopeoInspect() -> String {
        var f = tls ? "--cert-dir '\(dir.path)/skopeo-certs'" : "--tls-verify=false"
        if auth != .none { f += " --creds \(LocalRegistry.user):\(LocalRegistry.password)" }
        return f
    }

    /// Copies an image into the registry with skopeo (`extra`: --format v2s2, --all, ...).
    func put(_ source: String, as name: String, extra: String = "") throws {
        if tls {
            try FileManager.default.createDirectory(atPath: dir.path + "/skopeo-certs", withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: caCert, toPath: dir.path + "/skopeo-certs/ca.crt")
        }
        try LocalRegistry.sh("skopeo copy -q \(extra) \(skopeoDest()) \(source) docker://\(host)/\(name)")
    }
}
