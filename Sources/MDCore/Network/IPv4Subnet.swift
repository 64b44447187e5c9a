/// An IPv4 address (host byte order) and the subnets of networks: parsing, printing and the
/// arithmetic the address allocation needs.
public struct IPv4Address: Hashable, Comparable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// "10.1.2.3"; nil if it is not four decimal numbers 0-255.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        value = v
    }

    public var description: String { "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)" }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

public struct IPv4Subnet: Hashable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefix: Int

    public init(_ address: IPv4Address, prefix: Int) {
        self.prefix = prefix
        network = IPv4Address(address.value & IPv4Subnet.mask(prefix))
    }

    /// "10.1.0.0/16"; the address part must be the network's own (host bits zero) when
    /// `strict`, as Docker requires for --subnet.
    public init?(_ text: String, strict: Bool = true) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv4Address(String(parts[0])), let p = Int(parts[1]), (0...32).contains(p) else { return nil }
        if strict && a.value & ~IPv4Subnet.mask(p) != 0 { return nil }
        self.init(a, prefix: p)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }
    public var mask: UInt32 { IPv4Subnet.mask(prefix) }
    public var description: String { "\(network)/\(prefix)" }
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefix) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    /// The first address for a host (the gateway by default).
    public var firstHost: IPv4Address { IPv4Address(network.value + 1) }

    public func contains(_ a: IPv4Address) -> Bool { a.value & mask == network.value }
    public func contains(_ s: IPv4Subnet) -> Bool { s.prefix >= prefix && contains(s.network) }
    public func overlaps(_ s: IPv4Subnet) -> Bool { contains(s.network) || s.contains(network) }
}
