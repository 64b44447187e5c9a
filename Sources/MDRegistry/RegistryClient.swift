import MDCore
/// The entry points that set up a session with a registry: its configuration, the
/// credentials stored for it, and `login`'s check of new ones.
public enum RegistryClient {
    /// A session for `repository` on `registry`, with the stored credentials, asking for
    /// `actions` (`pull`, `pull,push`) in token scopes.
    static func session(for registry: String, repository: String, actions: String, tlsVerify: Bool,
                        extraScopes: [String] = []) throws -> RegistrySession {
        let config = try RegistryConfig.load()
        return try session(at: RegistryHost(registry, config: config, tlsVerify: tlsVerify), repository: repository,
                           actions: actions, extraScopes: extraScopes)
    }

    /// A session with `host`, with the credentials stored for its name.
    static func session(at host: RegistryHost, repository: String, actions: String,
                        extraScopes: [String] = []) throws -> RegistrySession {
        RegistrySession(host: host, credentials: try CredentialStore().lookup(host.name),
                        scopes: ["repository:\(repository):\(actions)"] + extraScopes)
    }

    /// Runs `body` with a session for reading `repository` of `registry`: for Docker Hub,
    /// with each of its mirrors in turn (`registry-mirrors`), then Docker Hub itself when
    /// every mirror failed, whatever the failure (unreachable, missing, refused, a blob
    /// that does not match), as Docker does; for another registry, with it alone.
    static func reading<T>(_ registry: String, repository: String, tlsVerify: Bool,
                           _ body: (RegistrySession) throws -> T) throws -> T {
        let config = try RegistryConfig.load()
        if registry == Reference.defaultDomain {
            for mirror in try config.mirrorHosts() {
                do { return try body(try session(at: mirror, repository: repository, actions: "pull")) } catch {}
            }
        }
        return try body(try session(at: RegistryHost(registry, config: config, tlsVerify: tlsVerify),
                                    repository: repository, actions: "pull"))
    }

    /// `login`: the credentials must be accepted by the registry (for a token registry:
    /// its token service) before they are stored. Returns where they were stored.
    @discardableResult
    public static func login(_ registry: String, _ creds: Credentials, tlsVerify: Bool = true) throws -> String {
        let name = registry.isEmpty ? Reference.defaultDomain : CredentialStore.normalize(registry)
        let config = try RegistryConfig.load()
        let session = RegistrySession(host: RegistryHost(name, config: config, tlsVerify: tlsVerify),
                                      credentials: creds, scopes: [])
        let r = try session.send(.GET, "/v2/")
        guard r.status == 200 else {
            throw RegistryError.unauthorized("\(name): login failed (\(r.status))" + RegistryError.detail(r.body))
        }
        return try CredentialStore().store(name, creds)
    }

    /// `logout`: false when nothing was stored for the registry.
    public static func logout(_ registry: String) throws -> Bool {
        try CredentialStore().erase(registry.isEmpty ? Reference.defaultDomain : CredentialStore.normalize(registry))
    }
}
