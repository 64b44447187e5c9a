import CStream

/// A content digest, `sha256:<64 hex>`: the only algorithm OCI requires, the only one we write.
public struct Digest: Hashable, Comparable, CustomStringConvertible, Sendable {
    public let hex: String

    public init(hex: String) { self.hex = hex }

    /// Parses `sha256:<hex>`; anything else (another algorithm, bad hex) is an error.
    public init(parsing s: String) throws {
        guard s.hasPrefix("sha256:") else { throw EngineError("invalid digest \"\(s)\": expected sha256:<64 hex digits>") }
        let hex = String(s.dropFirst(7))
        guard Digest.isHex(hex) else { throw EngineError("invalid digest \"\(s)\": expected sha256:<64 hex digits>") }
        self.hex = hex
    }

    public static func isHex(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    public var description: String { "sha256:" + hex }
    public var short: String { String(hex.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }

    public static func of<C: Collection>(_ bytes: C) -> Digest where C.Element == UInt8 {
        var h = SHA256()
        h.update(Array(bytes))
        return h.finish()
    }

    public static func of(_ s: String) -> Digest { of(Array(s.utf8)) }
}

/// Streaming SHA-256 (nettle).
public struct SHA256 {
    private final class Box {
        let ctx = mdl_sha256_new()!
        deinit { mdl_sha256_free(ctx) }
    }
    private let box = Box()
    public private(set) var count: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        mdl_sha256_update(box.ctx, bytes.baseAddress, bytes.count)
        count += UInt64(bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func finish() -> Digest {
        var hex = [CChar](repeating: 0, count: 65)
        mdl_sha256_hex(box.ctx, &hex)
        return Digest(hex: String(cString: hex))
    }
}
