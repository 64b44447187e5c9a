#if canImport(Glibc)
import Glibc
#endif
import MDCore
import AsyncHTTPClient
import NIOHTTP1
import NIOSSL
import NIOConcurrencyHelpers

/// Talks to one registry on behalf of one or more repositories, per the distribution spec:
/// finds how the registry is reached (the `/v2/` ping, HTTPS first, then HTTP where
/// allowed), answers its `WWW-Authenticate` challenges (basic, or bearer tokens fetched
/// from its token service for the scopes asked, anonymously when there are no
/// credentials), and retries what failed in transit, with backoff.
public final class RegistrySession {
    public let host: RegistryHost
    let credentials: Credentials?
    /// `repository:NAME:ACTIONS` scopes asked for in token requests.
    var scopes: [String]
    var scheme = "https"
    var tls: TLSConfiguration?
    var challenge: AuthChallenge?
    var authorization: String?
    var pinged = false
    /// Guards the ping's outcome and the authorisation: a pull fetches its layers on several
    /// threads through one session, and a 401 on one of them renews the token for all.
    private let lock = NIOLock()

    static let attempts = 4

    public init(host: RegistryHost, credentials: Credentials?, scopes: [String]) {
        self.host = host
        self.credentials = credentials
        self.scopes = scopes
    }

    var base: String { scheme + "://" + host.apiHost }

    /// `GET /v2/`: picks the scheme and learns the challenge. A 401 is an answer (auth is
    /// needed); only a transport failure makes the next scheme be tried.
    func ping() throws {
        if pinged { return }
        var last: Error = EngineError("\(host.name): unreachable")
        for (s, t) in host.attempts {
            do {
                let r = try withRetry { try HTTPTransport.shared.send(.GET, s + "://" + host.apiHost + "/v2/", headers: userAgent(), tls: t) }
                // A TLS server's answer to plain HTTP: try the next scheme.
                if s == "http" && r.status == 400 { last = EngineError("\(host.name): answered 400 over HTTP"); continue }
                scheme = s; tls = t; pinged = true
                if r.status == 401, let h = r.header("WWW-Authenticate") { challenge = AuthChallenge(header: h) }
                if r.status == 404 { throw EngineError("\(host.name) is not a registry (/v2/ answered 404)") }
                return
            } catch let e as TransportError {
                last = e
            }
        }
        throw last
    }

    func userAgent() -> HTTPHeaders { ["User-Agent": "mdlua"] }

    /// The `Authorization` to send (nil: none is asked for), once the registry is pinged
    /// and, if its challenge asks for it, authorised.
    func prepared() throws -> String? {
        try lock.withLock {
            try ping()
            if authorization == nil && challenge != nil { try authorize() }
            return authorization
        }
    }

    /// After a 401 to a request sent with `sent`: authorised again for the challenge `c`,
    /// unless another thread did so meanwhile (then its authorisation is the one to use).
    func renewed(_ c: AuthChallenge, after sent: String?) throws -> String? {
        try lock.withLock {
            if authorization == sent {
                challenge = c
                try authorize()
            }
            return authorization
        }
    }

    /// Authorization for the current challenge: basic credentials, or a token.
    func authorize() throws {
        guard let c = challenge else { authorization = nil; return }
        switch c.scheme {
        case "basic":
            guard let creds = credentials else {
                throw RegistryError.unauthorized("\(host.name): authentication required (no credentials; mdlua login \(host.name))")
            }
            authorization = "Basic " + Base64.encode(Array("\(creds.username):\(creds.password)".utf8))
        case "bearer":
            authorization = "Bearer " + (try fetchToken(c))
        default:
            throw EngineError("\(host.name): unsupported authentication scheme \"\(c.scheme)\"")
        }
    }

    /// A token from the challenge's realm for our scopes (docs/registries.md).
    func fetchToken(_ c: AuthChallenge) throws -> String {
        guard let realm = c.parameters["realm"], realm.hasPrefix("http") else {
            throw EngineError("\(host.name): bearer challenge without a realm")
        }
        var query: [String] = []
        if let service = c.parameters["service"] { query.append("service=" + RegistrySession.escape(service)) }
        var scopes = self.scopes
        if let s = c.parameters["scope"] { for x in s.split(separator: " ").map(String.init) where !scopes.contains(x) { scopes.append(x) } }
        for s in scopes { query.append("scope=" + RegistrySession.escape(s)) }
        if credentials != nil { query.append("account=" + RegistrySession.escape(credentials!.username)) }
        let url = realm + (query.isEmpty ? "" : (realm.contains("?") ? "&" : "?") + query.joined(separator: "&"))
        var headers = userAgent()
        if let creds = credentials {
            headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("\(creds.username):\(creds.password)".utf8)))
        }
        let tokenHost = RegistryHost(RegistrySession.hostOf(url), config: RegistryConfig(), tlsVerify: !host.insecure)
        let tokenTLS = url.hasPrefix("https:") ? (tokenHost.caFile != nil ? tokenHost.attempts.first?.tls : (host.insecure ? host.attempts.first?.tls : nil)) : nil
        let r = try withRetry { try HTTPTransport.shared.send(.GET, url, headers: headers, tls: tokenTLS ?? tls) }
        if r.status == 401 || r.status == 403 {
            throw RegistryError.unauthorized(credentials == nil
                ? "\(host.name): authentication required (no credentials; mdlua login \(host.name))"
                : "\(host.name): unauthorized: incorrect username or password")
        }
        guard r.status == 200 else { throw EngineError("\(host.name): token service answered \(r.status)") }
        let j = try? JSON.parse(r.body)
        guard let token = j?["token"]?.string ?? j?["access_token"]?.string, !token.isEmpty else {
            throw EngineError("\(host.name): the token service's answer has no token")
        }
        return token
    }

    static func hostOf(_ url: String) -> String {
        var s = Substring(url)
        if let r = s.firstRange(of: "://") { s = s[r.upperBound...] }
        return String(s.prefix(while: { $0 != "/" && $0 != "?" }))
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-_.~".contains(c) {
                out.append(c)
            } else {
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// Retries transport failures (a dropped connection, a timeout, a TLS failure) with
    /// backoff: 0.25 s, 0.5 s, 1 s. A refused connection is not retried
    /// (TransportError.refused).
    func withRetry<T>(_ body: () throws -> T) throws -> T {
        var delay: UInt32 = 250_000
        for attempt in 1... {
            do { return try body() } catch let e as TransportError {
                RegistrySession.traceFailure(e, attempt: attempt)
                if e.refused || attempt >= RegistrySession.attempts { throw e }
                usleep(delay)
                delay *= 2
            }
        }
        fatalError("unreachable")
    }

    /// Each failed attempt, under MDLUA_TRACE: what the retries did.
    static func traceFailure(_ e: TransportError, attempt: Int) {
        Trace.mark("registry: attempt \(attempt) failed: \(e)" + (e.refused ? " (refused: not retried)" : ""))
    }

    /// An answer that says the trouble is passing (a proxy's 502, 503 overloaded or in
    /// maintenance, a gateway's 504): a read (GET, HEAD) is tried again, with the backoff of
    /// a failure in transit. Other answers are final.
    static func isPassing(_ status: Int, _ method: HTTPMethod) -> Bool {
        (method == .GET || method == .HEAD) && (status == 502 || status == 503 || status == 504)
    }

    /// An exchange with the registry (`path` starts with `/v2/`, or is a full URL from a
    /// `Location` header), authorised, retried when it failed in transit and once more
    /// after a 401 with a fresh token (it may have expired).
    func send(_ method: HTTPMethod, _ path: String, headers extra: HTTPHeaders = [:],
              body: (() -> HTTPClient.Body?)? = nil, limit: Int = 8 << 20) throws -> HTTPResult {
        var auth = try prepared()
        var refreshed = false
        var answered = 0
        var delay: UInt32 = 250_000
        while true {
            var headers = userAgent()
            headers.add(contentsOf: extra)
            if let a = auth { headers.replaceOrAdd(name: "Authorization", value: a) }
            let url = path.hasPrefix("http") ? path : base + path
            let r = try withRetry {
                try HTTPTransport.shared.send(method, url, headers: headers, body: body?(), tls: tls, limit: limit)
            }
            answered += 1
            if RegistrySession.isPassing(r.status, method) && answered < RegistrySession.attempts {
                Trace.mark("registry: attempt \(answered) answered \(r.status)")
                usleep(delay)
                delay *= 2
                continue
            }
            if r.status == 401 && !refreshed, let h = r.header("WWW-Authenticate"), let c = AuthChallenge(header: h) {
                auth = try renewed(c, after: auth)
                refreshed = true
                continue
            }
            if r.status == 401 {
                throw RegistryError.unauthorized("\(host.name): unauthorized" + RegistryError.detail(r.body))
            }
            return r
        }
    }

    /// A download into `sink`, authorised as `send` is. The sink may be asked to begin
    /// again: each attempt after a transport failure resumes where it stopped (`Range`).
    func stream(_ path: String, headers extra: HTTPHeaders = [:], sink: ResumableSink) throws -> HTTPResult {
        var auth = try prepared()
        var refreshed = false
        var delay: UInt32 = 250_000
        var attempt = 0
        while true {
            attempt += 1
            var headers = userAgent()
            headers.add(contentsOf: extra)
            if let a = auth { headers.replaceOrAdd(name: "Authorization", value: a) }
            if sink.offset > 0 { headers.replaceOrAdd(name: "Range", value: "bytes=\(sink.offset)-") }
            let url = path.hasPrefix("http") ? path : base + path
            let r: HTTPResult
            do {
                r = try HTTPTransport.shared.stream(url, headers: headers, tls: tls, into: sink)
            } catch let e as TransportError {
                RegistrySession.traceFailure(e, attempt: attempt)
                if e.refused || attempt >= RegistrySession.attempts + 2 { throw e }
                usleep(delay)
                delay = min(delay * 2, 4_000_000)
                continue
            }
            if RegistrySession.isPassing(r.status, .GET) && attempt < RegistrySession.attempts + 2 {
                Trace.mark("registry: attempt \(attempt) answered \(r.status)")
                usleep(delay)
                delay = min(delay * 2, 4_000_000)
                continue
            }
            if r.status == 401 && !refreshed, let h = r.header("WWW-Authenticate"), let c = AuthChallenge(header: h) {
                auth = try renewed(c, after: auth)
                refreshed = true
                continue
            }
            if r.status == 401 {
                throw RegistryError.unauthorized("\(host.name): unauthorized" + RegistryError.detail(r.body))
            }
            return r
        }
    }
}

/// A registry's answer that is a refusal, with the spec's error body's message.
public enum RegistryError: Error, CustomStringConvertible {
    case unauthorized(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .unauthorized(let s), .notFound(let s): return s
        }
    }

    /// `: MESSAGE` from a spec error body (`{"errors":[{"code":..,"message":..}]}`).
    static func detail(_ body: [UInt8]) -> String {
        guard let j = try? JSON.parse(body), let e = j["errors"]?.array?.first else { return "" }
        let code = e["code"]?.string ?? ""
        let message = e["message"]?.string ?? ""
        return ": " + [code, message].filter { !$0.isEmpty }.joined(separator: " ").lowercased()
    }
}
