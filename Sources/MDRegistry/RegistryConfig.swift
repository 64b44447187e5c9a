import MDCore
/// What the user configured about registries, in Docker's `daemon.json` keys:
///
///     { "insecure-registries": ["myhost:5000", "10.0.0.0/8"],
///       "registry-mirrors": ["https://mirror.example"] }
///
/// read from `/etc/mdlua/registries.json` (`MDLUA_REGISTRIES_CONF` names another file).
/// Docker Hub's API is reached at `registry-1.docker.io` (`MDLUA_DOCKER_HUB_HOST` names
/// another HOST[:PORT]: a registry that stands in for Docker Hub itself, not a mirror).
/// Certificates for a registry are read as Docker reads them: `/etc/docker/certs.d/HOST:PORT/ca.crt`
/// (`MDLUA_CERTS_D` names another directory).
public struct RegistryConfig {
    public var insecure: [String] = []
    public var mirrors: [String] = []
    public var certsDirectory = "/etc/docker/certs.d"
    public var dockerHubHost = "registry-1.docker.io"

    public init() {}

    public static func load() throws -> RegistryConfig {
        var c = RegistryConfig()
        if let d = HTTPTransport.env("MDLUA_CERTS_D") { c.certsDirectory = d }
        if let h = HTTPTransport.env("MDLUA_DOCKER_HUB_HOST"), !h.isEmpty { c.dockerHubHost = h }
        let path = HTTPTransport.env("MDLUA_REGISTRIES_CONF") ?? "/etc/mdlua/registries.json"
        guard FileSystem.exists(path) else { return c }
        let j: JSON
        do { j = try JSON.parse(try FileSystem.readFile(path)) } catch {
            throw EngineError("\(path): not valid JSON (\(error))")
        }
        c.insecure = j["insecure-registries"]?.stringArray ?? []
        c.mirrors = j["registry-mirrors"]?.stringArray ?? []
        return c
    }

    /// The mirrors to try, in order, before Docker Hub itself, as hosts.
    public func mirrorHosts() throws -> [RegistryHost] {
        try mirrors.map { try RegistryHost(mirror: $0, config: self) }
    }

    /// Whether the user listed `host` (HOST[:PORT]) as insecure, by name or by an IPv4 CIDR
    /// range that holds its address literal.
    public func isListedInsecure(_ host: String) -> Bool {
        let bare = RegistryHost.stripPort(host)
        for entry in insecure {
            if entry == host || entry == bare { return true }
            if entry.contains("/"), let ip = RegistryHost.ipv4(bare), let (net, bits) = RegistryHost.cidr(entry),
               bits <= 32, (bits == 0 || (ip >> (32 - bits)) == (net >> (32 - bits))) {
                return true
            }
        }
        return false
    }
}
