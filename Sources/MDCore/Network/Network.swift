/// A network of containers: a Linux bridge with an IPv4 subnet, the addresses given out on
/// it (the endpoints) and its options. Stored as ROOT/networks/NAME.json (NetworkStore).
public struct Network {
    public var name: String
    public var id: String
    public var subnet: IPv4Subnet
    public var gateway: IPv4Address
    /// Where container addresses come from (a part of the subnet; the subnet by default).
    public var ipRange: IPv4Subnet
    /// No route out of the host, and nothing in from other networks.
    public var `internal`: Bool
    public var labels: [String: String]
    public var options: [String: String]
    /// The bridge's name on the host.
    public var bridge: String
    public var created: String
    /// Names resolve through the DNS server on the gateway (user networks, as Docker's).
    public var dns: Bool
    /// By container ID.
    public var endpoints: [String: NetworkEndpoint]
    /// The address given out last: the next search starts after it, so that an address
    /// freed by a `rm` is not given again at once (as Podman's allocator does).
    public var lastAddress: IPv4Address?

    /// The option that sets the MTU of the network's bridge and of both ends of its
    /// containers' veth pairs (Docker's name; Podman's `mtu` is stored under it too). Not
    /// set: the kernel's 1500, which also fits a packet that leaves the host through NAT.
    public static let mtuOption = "com.docker.network.driver.mtu"
    public var mtu: Int? { options[Network.mtuOption].flatMap { Int($0) } }

    /// The options of a new network with its MTU checked (68, IPv4's least, to 65535) and
    /// given under Docker's name, whichever of Docker's or Podman's names set it.
    static func checkingMTU(_ options: [String: String]) throws -> [String: String] {
        var out = options
        var mtu: Int?
        for key in [Network.mtuOption, "mtu"] {
            guard let v = options[key] else { continue }
            guard let n = Int(v), (68...65535).contains(n) else {
                throw EngineError("invalid MTU \"\(v)\" (-o \(key)): expected a number from 68 to 65535")
            }
            if let m = mtu, m != n { throw EngineError("conflicting MTU options: \(m) and \(n)") }
            mtu = n
            out[key] = nil
        }
        if let m = mtu { out[Network.mtuOption] = String(m) }
        return out
    }

    /// The default network's name, as Docker's.
    public static let defaultName = "bridge"
    public var isDefault: Bool { name == Network.defaultName }

    var json: JSON {
        var eps: [String: JSON] = [:]
        for (k, v) in endpoints { eps[k] = v.json }
        return .object(["name": .string(name), "id": .string(id), "subnet": .string(subnet.description),
                        "gateway": .string(gateway.description), "ip_range": .string(ipRange.description),
                        "internal": .bool(self.`internal`), "labels": .object(labels.mapValues(JSON.string)),
                        "options": .object(options.mapValues(JSON.string)), "bridge": .string(bridge),
                        "created": .string(created), "dns": .bool(dns), "endpoints": .object(eps),
                        "last_address": lastAddress.map { .string($0.description) } ?? .null])
    }

    init(name: String, id: String, subnet: IPv4Subnet, gateway: IPv4Address, ipRange: IPv4Subnet, `internal`: Bool,
         labels: [String: String], options: [String: String], bridge: String, created: String, dns: Bool) {
        self.name = name
        self.id = id
        self.subnet = subnet
        self.gateway = gateway
        self.ipRange = ipRange
        self.`internal` = `internal`
        self.labels = labels
        self.options = options
        self.bridge = bridge
        self.created = created
        self.dns = dns
        endpoints = [:]
    }

    init?(json j: JSON) {
        guard let name = j["name"]?.string, let id = j["id"]?.string,
              let subnet = j["subnet"]?.string.flatMap({ IPv4Subnet($0) }),
              let gw = j["gateway"]?.string.flatMap(IPv4Address.init), let bridge = j["bridge"]?.string else { return nil }
        self.name = name
        self.id = id
        self.subnet = subnet
        gateway = gw
        ipRange = j["ip_range"]?.string.flatMap { IPv4Subnet($0) } ?? subnet
        self.`internal` = j["internal"] == .bool(true)
        labels = (j["labels"]?.object ?? [:]).compactMapValues(\.string)
        options = (j["options"]?.object ?? [:]).compactMapValues(\.string)
        self.bridge = bridge
        created = j["created"]?.string ?? ""
        dns = j["dns"] == .bool(true)
        var eps: [String: NetworkEndpoint] = [:]
        for (k, v) in j["endpoints"]?.object ?? [:] { if let e = NetworkEndpoint(json: v) { eps[k] = e } }
        endpoints = eps
        lastAddress = j["last_address"]?.string.flatMap(IPv4Address.init)
    }
}
