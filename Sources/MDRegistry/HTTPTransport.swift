#if canImport(Glibc)
import Glibc
#endif
import MDCore
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOConcurrencyHelpers
import NIOPosix

/// A response whose body was read into memory (manifests, tokens, errors).
public struct HTTPResult {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public func header(_ name: String) -> String? { headers.first(name: name) }
}

/// The one HTTP client of a process (async-http-client over SwiftNIO), made on first use
/// so that nothing of it runs unless a command talks to a registry. Calls block the
/// calling thread until the exchange is over: the engine is synchronous, the event loop
/// threads are the client's own.
///
/// Proxies come from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, also in lower
/// case); loopback addresses never go through a proxy.
final class HTTPTransport {
    static let shared = HTTPTransport()

    private var clients: [String: HTTPClient] = [:]
    private let lock = NIOLockedValueBox(())
    /// The client's own threads, made with every signal blocked (`withSignalsBlocked`).
    private lazy var group: MultiThreadedEventLoopGroup = HTTPTransport.withSignalsBlocked {
        MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    /// Runs `body` (which starts threads) with every signal blocked in this thread, so that
    /// the threads it starts inherit that mask: signals for the process (SIGCHLD, the ones
    /// `run` forwards to a container) must reach the main thread, which waits for them with
    /// sigwaitinfo and signalfd (Sources/CKernel/mdl_container.c), never a helper thread.
    static func withSignalsBlocked<T>(_ body: () throws -> T) rethrows -> T {
        var all = sigset_t(), old = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        return try body()
    }

    /// Timeouts: connecting, and the longest wait for the next bytes of a response (a
    /// stalled registry fails the exchange, which the caller may retry).
    static let connectTimeout = TimeAmount.seconds(Int64(env("MDLUA_REGISTRY_CONNECT_TIMEOUT") ?? "") ?? 15)
    static let readTimeout = TimeAmount.seconds(Int64(env("MDLUA_REGISTRY_READ_TIMEOUT") ?? "") ?? 60)

    static func env(_ name: String) -> String? {
        if let v = getenv(name) { return String(cString: v) }
        if let v = getenv(name.lowercased()) { return String(cString: v) }
        return nil
    }

    /// The proxy for a URL, when the environment names one and `NO_PROXY` does not exempt
    /// the host.
    static func proxy(scheme: String, host: String) -> HTTPClient.Configuration.Proxy? {
        if RegistryHost.isLoopback(host) { return nil }
        if let no = env("NO_PROXY") {
            for raw in no.split(separator: ",") {
                var entry = raw.trimmingCharacters(in: " ")
                if entry == "*" { return nil }
                if entry.hasPrefix(".") { entry.removeFirst() }
                if host == entry || host.hasSuffix("." + entry) { return nil }
            }
        }
        guard let value = env(scheme == "https" ? "HTTPS_PROXY" : "HTTP_PROXY") ?? env("ALL_PROXY"), !value.isEmpty else { return nil }
        var rest = Substring(value)
        if let r = rest.firstRange(of: "://") { rest = rest[r.upperBound...] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        rest = rest.split(separator: "/", maxSplits: 1).first ?? rest
        var proxyHost = String(rest), port = 80
        if let colon = rest.lastIndex(of: ":"), let p = Int(rest[rest.index(after: colon)...]) {
            proxyHost = String(rest[..<colon]); port = p
        }
        return .server(host: proxyHost, port: port)
    }

    func client(scheme: String, host: String) -> HTTPClient {
        let proxy = HTTPTransport.proxy(scheme: scheme, host: host)
        let key = proxy.map { "\($0)" } ?? ""
        return lock.withLockedValue { _ in
            if let c = clients[key] { return c }
            var config = HTTPClient.Configuration(
                redirectConfiguration: .follow(max: 10, allowCycles: false),
                timeout: .init(connect: HTTPTransport.connectTimeout, read: HTTPTransport.readTimeout),
                proxy: proxy, decompression: .disabled)
            config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 8
            // A connection that cannot be made fails the request at once: RegistrySession
            // retries with its own backoff (1.75 s in all), where the pool's own retrying
            // held every request to a dead host (a dead mirror) for the whole connect timeout.
            config.connectionPool.retryConnectionEstablishment = false
            let c = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: config)
            clients[key] = c
            return c
        }
    }

    func request(_ method: HTTPMethod, _ url: String, headers: HTTPHeaders, body: HTTPClient.Body?,
                 tls: TLSConfiguration?) throws -> HTTPClient.Request {
        do {
            return try HTTPClient.Request(url: url, method: method, headers: headers, body: body, tlsConfiguration: tls)
        } catch {
            throw EngineError("invalid registry URL \(url)")
        }
    }

    /// One exchange with the body read into memory (at most `limit` bytes).
    func send(_ method: HTTPMethod, _ url: String, headers: HTTPHeaders, body: HTTPClient.Body? = nil,
              tls: TLSConfiguration?, limit: Int = 8 << 20) throws -> HTTPResult {
        let req = try request(method, url, headers: headers, body: body, tls: tls)
        let collector = BodyCollector(limit: limit)
        let c = client(scheme: String(url.prefix(while: { $0 != ":" })), host: req.host)
        do {
            return try c.execute(request: req, delegate: collector).wait()
        } catch {
            throw HTTPTransport.describe(error, url: url)
        }
    }

    /// Streams a response body to `sink` (a download): the status and headers first, then
    /// the bytes as they come.
    func stream(_ url: String, headers: HTTPHeaders, tls: TLSConfiguration?, into sink: BodySink) throws -> HTTPResult {
        let req = try request(.GET, url, headers: headers, body: nil, tls: tls)
        let c = client(scheme: String(url.prefix(while: { $0 != ":" })), host: req.host)
        do {
            return try c.execute(request: req, delegate: StreamingDelegate(sink: sink)).wait()
        } catch let e as EngineError {
            throw e
        } catch {
            throw HTTPTransport.describe(error, url: url)
        }
    }

    /// A transport failure in one line: what could not be reached and why.
    static func describe(_ error: Error, url: String) -> Error {
        if let e = error as? EngineError { return e }
        let host = url.split(separator: "/").dropFirst(1).first.map(String.init) ?? url
        var why = "\(error)"
        if let f = connectionFailure(error) {
            return TransportError(description: f.connecting ? "cannot connect to \(host): \(f.reason)" : "\(host): \(f.reason)",
                                  refused: f.refused)
        }
        if let h = error as? HTTPClientError {
            switch h {
            case .readTimeout: why = "no answer for \(readTimeout.nanoseconds / 1_000_000_000) s (read timeout)"
            case .connectTimeout: why = "connection timed out"
            case .remoteConnectionClosed: why = "the registry closed the connection"
            default: why = "\(h)"
            }
        } else if let s = error as? NIOSSLError {
            why = "TLS: \(s)"
        } else if let s = error as? BoringSSLError {
            why = "TLS: \(s)"
        }
        return TransportError(description: "\(host): \(why.replacingOccurrences(of: "\n", with: " "))")
    }
}

extension HTTPTransport {
    /// A system error under the client's (NIO's) own wording, as the system says it: whether
    /// it is one of connecting (refused, unreachable, timed out), whether the connection was
    /// refused, and its reason.
    static func connectionFailure(_ error: Error) -> (connecting: Bool, refused: Bool, reason: String)? {
        if let io = error as? IOError {
            let reason = String(cString: strerror(io.errnoCode))
            let connecting = [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, EADDRNOTAVAIL].contains(io.errnoCode)
            return (connecting, io.errnoCode == ECONNREFUSED, reason.prefix(1).lowercased() + reason.dropFirst())
        }
        if let c = error as? NIOConnectionError {
            // Every address refused: nothing listens at any of them.
            let refused = !c.connectionErrors.isEmpty
                && c.connectionErrors.allSatisfy { connectionFailure($0.error)?.refused == true }
            if let first = c.connectionErrors.first {
                return connectionFailure(first.error).map { (true, refused, $0.reason) } ?? (true, false, "\(first.error)")
            }
            if c.dnsAError != nil || c.dnsAAAAError != nil { return (true, false, "its name does not resolve") }
        }
        return nil
    }
}

/// A failure to talk to a registry at all (as opposed to an answer): worth a retry, unless
/// the connection was refused.
public struct TransportError: Error, CustomStringConvertible {
    public let description: String
    /// The host answered the connection attempt with a refusal (ECONNREFUSED): nothing
    /// listens at that port. Not a failure in transit, and trying again a moment later finds
    /// the same (Docker does not retry it either): it fails at once.
    public var refused = false

    public init(description: String, refused: Bool = false) {
        self.description = description
        self.refused = refused
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(String(self))
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }

    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return String(self) }
        var out = ""
        var rest = Substring(String(self))
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

/// Reads a whole (small) body into memory.
final class BodyCollector: HTTPClientResponseDelegate {
    typealias Response = HTTPResult
    let limit: Int
    var result = HTTPResult(status: 0, headers: [:], body: [])

    init(limit: Int) { self.limit = limit }

    func didReceiveHead(task: HTTPClient.Task<HTTPResult>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        result.status = Int(head.status.code)
        result.headers = head.headers
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<HTTPResult>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard result.body.count + buffer.readableBytes <= limit else {
            return task.eventLoop.makeFailedFuture(EngineError("the registry's answer is larger than \(limit) bytes"))
        }
        result.body.append(contentsOf: buffer.readableBytesView)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<HTTPResult>) throws -> HTTPResult { result }
}

/// Where a streamed body goes. Called on the client's event loop thread, in order.
protocol BodySink: AnyObject {
    /// The response head; returning false keeps the body out of `write` (an error answer,
    /// read into the result instead).
    func begin(status: Int, headers: HTTPHeaders) throws -> Bool
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

final class StreamingDelegate: HTTPClientResponseDelegate {
    typealias Response = HTTPResult
    let sink: BodySink
    var result = HTTPResult(status: 0, headers: [:], body: [])
    var streaming = false

    init(sink: BodySink) { self.sink = sink }

    func didReceiveHead(task: HTTPClient.Task<HTTPResult>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        result.status = Int(head.status.code)
        result.headers = head.headers
        do { streaming = try sink.begin(status: result.status, headers: head.headers) } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<HTTPResult>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        if !streaming {
            if result.body.count < 65536 { result.body.append(contentsOf: buffer.readableBytesView) }
            return task.eventLoop.makeSucceededVoidFuture()
        }
        do {
            try buffer.withUnsafeReadableBytes { try sink.write($0) }
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<HTTPResult>) throws -> HTTPResult { result }
}
