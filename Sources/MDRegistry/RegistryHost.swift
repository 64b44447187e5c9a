import MDCore
import NIOSSL

/// Where a registry named in a reference is reached, and how: Docker Hub's name
/// (`docker.io`) maps to its API host, loopback registries and listed insecure ones may
/// speak plain HTTP, a registry's own CA comes from the certs directory. A mirror of
/// Docker Hub (`registry-mirrors`) is a URL: its scheme is the one used.
public struct RegistryHost {
    /// The name as in references (`docker.io`, `127.0.0.1:5000`).
    public let name: String
    /// HOST[:PORT] the API is at.
    public let apiHost: String
    /// May fall back to plain HTTP (or skip TLS verification): loopback, listed, or
    /// `--tls-verify=false`.
    public let insecure: Bool
    /// A CA from `certs.d/HOST[:PORT]/ca.crt`, when there is one.
    public let caFile: String?
    /// A mirror's scheme ("http" or "https"): the only one tried.
    public let scheme: String?

    public init(_ name: String, config: RegistryConfig, tlsVerify: Bool = true) {
        self.name = name
        apiHost = name == Reference.defaultDomain ? config.dockerHubHost : name
        insecure = !tlsVerify || RegistryHost.isLoopback(RegistryHost.stripPort(apiHost)) || config.isListedInsecure(name)
            || config.isListedInsecure(apiHost)
        caFile = RegistryHost.ca(for: apiHost, config: config) ?? RegistryHost.ca(for: name, config: config)
        scheme = nil
    }

    /// A mirror, `http://HOST[:PORT]` or `https://HOST[:PORT]` (a trailing `/` allowed).
    public init(mirror url: String, config: RegistryConfig) throws {
        var rest = Substring(url)
        let scheme: String
        if rest.hasPrefix("https://") { scheme = "https" } else if rest.hasPrefix("http://") { scheme = "http" } else {
            throw EngineError("invalid registry mirror \"\(url)\": expected http://HOST[:PORT] or https://HOST[:PORT]")
        }
        rest = rest.dropFirst(scheme.count + 3)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("@") else {
            throw EngineError("invalid registry mirror \"\(url)\": expected http://HOST[:PORT] or https://HOST[:PORT]")
        }
        name = String(rest)
        apiHost = name
        insecure = RegistryHost.isLoopback(RegistryHost.stripPort(name)) || config.isListedInsecure(name)
        caFile = RegistryHost.ca(for: name, config: config)
        self.scheme = scheme
    }

    static func ca(for host: String, config: RegistryConfig) -> String? {
        let file = config.certsDirectory + "/" + host + "/ca.crt"
        return FileSystem.exists(file) ? file : nil
    }

    /// The schemes to try, in order. With a CA of its own, a registry is always verified
    /// against it; an insecure one is tried over plain HTTP first, then over HTTPS without
    /// verification. Not the other way round: a plain HTTP server (distribution's among
    /// them) waits for the end of a request line that a TLS hello never sends, so an HTTPS
    /// attempt on it hangs until the connect timeout, while a TLS server answers a plain
    /// request at once (400).
    var attempts: [(scheme: String, tls: TLSConfiguration?)] {
        if scheme == "http" { return [("http", nil)] }
        if let caFile {
            var t = TLSConfiguration.makeClientConfiguration()
            t.trustRoots = .file(caFile)
            return [("https", t)]
        }
        if insecure {
            var t = TLSConfiguration.makeClientConfiguration()
            t.certificateVerification = .none
            return scheme == "https" ? [("https", t)] : [("http", nil), ("https", t)]
        }
        return [("https", nil)]
    }

    static func stripPort(_ host: String) -> String {
        if host.hasPrefix("[") { return String(host.dropFirst().prefix(while: { $0 != "]" })) }
        if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon { return String(host[..<colon]) }
        return host
    }

    /// 127.0.0.0/8, ::1 and `localhost`, as Docker treats them (insecure by default).
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        if let ip = ipv4(host) { return ip >> 24 == 127 }
        return false
    }

    static func ipv4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        return v
    }

    static func cidr(_ s: String) -> (UInt32, Int)? {
        let p = s.split(separator: "/")
        guard p.count == 2, let ip = ipv4(String(p[0])), let bits = Int(p[1]) else { return nil }
        return (ip, bits)
    }
}
