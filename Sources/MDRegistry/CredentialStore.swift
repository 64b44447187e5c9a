#if canImport(Glibc)
import Glibc
#endif
import MDCore

public struct Credentials: Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) { self.username = username; self.password = password }
}

/// Registry credentials where Docker keeps them: `~/.docker/config.json` (`DOCKER_CONFIG`
/// names its directory), `auths` with a base64 `user:password` in `auth`, or a credential
/// helper named by `credHelpers` (per registry) or `credsStore` (all). Podman's `auth.json`
/// (`REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `~/.config/containers/auth.json`) is read too, after Docker's. `login` writes Docker's
/// file, mode 0600.
public struct CredentialStore {
    public let dockerConfig: String
    public let podmanFiles: [String]

    public init() {
        let home = HTTPTransport.env("HOME") ?? "/root"
        if let d = getenv("DOCKER_CONFIG").map({ String(cString: $0) }) {
            dockerConfig = d + "/config.json"
        } else {
            dockerConfig = home + "/.docker/config.json"
        }
        var podman: [String] = []
        if let f = getenv("REGISTRY_AUTH_FILE").map({ String(cString: $0) }) { podman.append(f) }
        if let r = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }) { podman.append(r + "/containers/auth.json") }
        podman.append(home + "/.config/containers/auth.json")
        podmanFiles = podman
    }

    /// The key a registry has in `auths`: Docker Hub's is its old v1 URL.
    public static func key(for registry: String) -> String {
        registry == Reference.defaultDomain ? "https://index.docker.io/v1/" : registry
    }

    /// `https://host/v1/` → `host`: keys are written in several ways.
    static func normalize(_ key: String) -> String {
        var k = Substring(key)
        if let r = k.firstRange(of: "://") { k = k[r.upperBound...] }
        k = k.prefix(while: { $0 != "/" })
        if k == "index.docker.io" || k == "registry-1.docker.io" { return Reference.defaultDomain }
        return String(k)
    }

    func read(_ path: String) throws -> [String: JSON] {
        guard FileSystem.exists(path) else { return [:] }
        do {
            return try JSON.parse(try FileSystem.readFile(path)).object ?? [:]
        } catch {
            throw EngineError("\(path): not valid JSON (\(error))")
        }
    }

    func helper(for registry: String, in config: [String: JSON]) -> CredentialHelper? {
        for (k, v) in config["credHelpers"]?.object ?? [:] where CredentialStore.normalize(k) == registry {
            if let name = v.string { return CredentialHelper(name: name) }
        }
        if let name = config["credsStore"]?.string, !name.isEmpty { return CredentialHelper(name: name) }
        return nil
    }

    static func fromAuths(_ auths: [String: JSON], registry: String) -> Credentials? {
        for (k, v) in auths where normalize(k) == registry {
            if let auth = v["auth"]?.string, let bytes = Base64.decode(auth) {
                let s = String(decoding: bytes, as: UTF8.self)
                if let colon = s.firstIndex(of: ":") {
                    return Credentials(username: String(s[..<colon]), password: String(s[s.index(after: colon)...]))
                }
            }
            if let u = v["username"]?.string, let p = v["password"]?.string { return Credentials(username: u, password: p) }
        }
        return nil
    }

    /// The credentials for a registry (`docker.io`, `host:5000`), or nil: anonymous.
    public func lookup(_ registry: String) throws -> Credentials? {
        let config = try read(dockerConfig)
        if let h = helper(for: registry, in: config), let c = try h.get(CredentialStore.key(for: registry)) { return c }
        if let c = CredentialStore.fromAuths(config["auths"]?.object ?? [:], registry: registry) { return c }
        for f in podmanFiles {
            if let c = CredentialStore.fromAuths(try read(f)["auths"]?.object ?? [:], registry: registry) { return c }
        }
        return nil
    }

    /// Records credentials that worked; returns where they went.
    @discardableResult
    public func store(_ registry: String, _ c: Credentials) throws -> String {
        var config = try read(dockerConfig)
        if let h = helper(for: registry, in: config) {
            try h.store(CredentialStore.key(for: registry), c)
            return h.program
        }
        var auths = config["auths"]?.object ?? [:]
        for k in auths.keys where CredentialStore.normalize(k) == registry { auths[k] = nil }
        auths[CredentialStore.key(for: registry)] = .object(["auth": .string(Base64.encode(Array("\(c.username):\(c.password)".utf8)))])
        config["auths"] = .object(auths)
        try write(config)
        return dockerConfig
    }

    /// Forgets a registry's credentials. False when there were none.
    public func erase(_ registry: String) throws -> Bool {
        var config = try read(dockerConfig)
        if let h = helper(for: registry, in: config) {
            try h.erase(CredentialStore.key(for: registry))
            return true
        }
        var auths = config["auths"]?.object ?? [:]
        let keys = auths.keys.filter { CredentialStore.normalize($0) == registry }
        guard !keys.isEmpty else { return false }
        for k in keys { auths[k] = nil }
        config["auths"] = .object(auths)
        try write(config)
        return true
    }

    func write(_ config: [String: JSON]) throws {
        let dir = String(dockerConfig.prefix(upTo: dockerConfig.lastIndex(of: "/")!))
        try FileSystem.makeDirectories(dir, mode: 0o700)
        try FileSystem.writeAtomically(dockerConfig, Array(JSON.object(config).pretty().utf8) + [10], mode: 0o600)
        chmod(dockerConfig, 0o600)
    }
}
