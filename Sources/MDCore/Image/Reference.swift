/// An image reference per the distribution reference grammar: `[domain/]path[:tag][@digest]`,
/// normalized as Docker does (`busybox` is `docker.io/library/busybox:latest`).
public struct Reference: Hashable, CustomStringConvertible, Sendable {
    public let domain: String
    public let path: String
    public let tag: String?
    public let digest: Digest?

    public static let defaultDomain = "docker.io"

    public init(parsing s: String) throws {
        func bad(_ why: String) -> EngineError { EngineError("invalid reference \"\(s)\": \(why)") }
        guard !s.isEmpty else { throw bad("empty") }
        var rest = Substring(s)
        var digest: Digest? = nil
        if let at = rest.firstIndex(of: "@") {
            digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var tag: String? = nil
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let t = String(rest[rest.index(after: colon)...])
            guard Reference.isTag(t) else { throw bad("invalid tag \"\(t)\"") }
            tag = t
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var domain = Reference.defaultDomain
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" {
            guard Reference.isDomain(first) else { throw bad("invalid registry \"\(first)\"") }
            domain = first
            components.removeFirst()
        }
        for c in components where !Reference.isPathComponent(c) {
            throw bad(c.isEmpty ? "empty path component"
                      : "invalid name component \"\(c)\" (lowercase letters, digits and separators . _ __ -)")
        }
        if domain == Reference.defaultDomain && components.count == 1 { components.insert("library", at: 0) }
        let path = components.joined(separator: "/")
        guard domain.count + 1 + path.count <= 255 else { throw bad("name longer than 255 characters") }
        self.domain = domain
        self.path = path
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    /// `domain/path`.
    public var name: String { domain + "/" + path }

    /// The full normalized form, as stored.
    public var description: String {
        name + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    /// What Docker shows: `busybox` rather than `docker.io/library/busybox`.
    public static func familiar(_ name: String) -> String {
        var n = Substring(name)
        if n.hasPrefix(defaultDomain + "/") {
            n = n.dropFirst(defaultDomain.count + 1)
            if n.hasPrefix("library/") && !n.dropFirst(8).contains("/") { n = n.dropFirst(8) }
        }
        return String(n)
    }

    static func isTag(_ t: String) -> Bool {
        let u = Array(t.utf8)
        guard !u.isEmpty, u.count <= 128 else { return false }
        func word(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f
        }
        return word(u[0]) && u.dropFirst().allSatisfy { word($0) || $0 == 0x2e || $0 == 0x2d }
    }

    static func isPathComponent(_ c: String) -> Bool {
        // alnum+ ( (. | _ | __ | -+) alnum+ )*
        let u = Array(c.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a) }
        var i = 0
        guard !u.isEmpty, alnum(u[0]) else { return false }
        while i < u.count {
            while i < u.count && alnum(u[i]) { i += 1 }
            if i == u.count { return true }
            let start = i
            if u[i] == 0x2e { i += 1 }                                   // .
            else if u[i] == 0x5f { i += 1; if i < u.count && u[i] == 0x5f { i += 1 } }   // _ or __
            else if u[i] == 0x2d { while i < u.count && u[i] == 0x2d { i += 1 } }     // -+
            else { return false }
            guard i > start, i < u.count, alnum(u[i]) else { return false }
        }
        return true
    }

    static func isDomain(_ d: String) -> Bool {
        var host = Substring(d)
        if let colon = d.lastIndex(of: ":") {
            let port = d[d.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return false }
            host = d[..<colon]
        }
        return !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            let u = Array(part.utf8)
            func an(_ b: UInt8) -> Bool {
                (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a)
            }
            return !u.isEmpty && an(u.first!) && an(u.last!) && u.allSatisfy { an($0) || $0 == 0x2d }
        }
    }
}
