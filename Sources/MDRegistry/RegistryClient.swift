import MDCore
/// The entry points that set up a session with a registry: its configuration, the
/// credentials stored for it, and `login`'s check of new ones.
public enum RegistryClient {
    /// A session for `repository` on `registry`, with the stored credentials, asking for
    /// `actions` (`pull`, `pull,push`) in token scopes.
    static func session(for registry: String, repository: String, actions: String, tlsVerify: Bool,
                        extraScopes: [String] = []) throws -> RegistrySession {
        let config = try RegistryConfig.load()
        let host = RegistryHost(registry, config: config, tlsVerify: tlsVerify)
        let creds = try CredentialStore().lookup(registry)
        return RegistrySession(host: host, credentials: creds,
                               scopes: ["repository:\(repository):\(actions)"] + extraScopes)
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
