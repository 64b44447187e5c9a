import MDCore
/// A `WWW-Authenticate` header (RFC 7235): the scheme and its parameters, e.g.
/// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`.
public struct AuthChallenge: Equatable {
    public var scheme: String
    public var parameters: [String: String]

    public init?(header: String) {
        var rest = Substring(header).drop(while: { $0 == " " })
        let scheme = rest.prefix(while: { $0 != " " })
        guard !scheme.isEmpty else { return nil }
        self.scheme = scheme.lowercased()
        rest = rest.dropFirst(scheme.count)
        var params: [String: String] = [:]
        while true {
            rest = rest.drop(while: { $0 == " " || $0 == "," })
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].trimmingCharacters(in: " ").lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true }
                    else if c == "\"" { break } else { value.append(c) }
                }
            } else {
                value = String(rest.prefix(while: { $0 != "," }))
                rest = rest.dropFirst(value.count)
                value = value.trimmingCharacters(in: " ")
            }
            params[key] = value
        }
        parameters = params
    }
}
