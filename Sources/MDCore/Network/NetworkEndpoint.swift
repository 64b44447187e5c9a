/// A container's place on a network: its address (the lease, held from create to rm), its
/// names, its published ports, and the links and rules of its current run.
public struct NetworkEndpoint {
    public var containerID: String
    public var containerName: String
    public var address: IPv4Address
    public var aliases: [String]
    public var ports: [PortBinding]
    /// The interface inside the container (eth0, eth1, ...).
    public var interface: String
    /// The process that took the lease before the container's record existed: a lease whose
    /// container has no record and whose taker is dead was left by a crash (reconciled).
    public var takerPid: Int32
    /// Its ports are in the firewall's maps (the container runs).
    public var active: Bool

    var json: JSON {
        .object(["container_id": .string(containerID), "container_name": .string(containerName),
                 "address": .string(address.description), "aliases": .array(aliases.map(JSON.string)),
                 "ports": .array(ports.map(\.json)), "interface": .string(interface),
                 "taker_pid": .int(Int64(takerPid)), "active": .bool(active)])
    }

    init(containerID: String, containerName: String, address: IPv4Address, aliases: [String], ports: [PortBinding],
         interface: String, takerPid: Int32) {
        self.containerID = containerID
        self.containerName = containerName
        self.address = address
        self.aliases = aliases
        self.ports = ports
        self.interface = interface
        self.takerPid = takerPid
        active = false
    }

    init?(json j: JSON) {
        guard let id = j["container_id"]?.string, let a = j["address"]?.string.flatMap(IPv4Address.init) else { return nil }
        containerID = id
        containerName = j["container_name"]?.string ?? ""
        address = a
        aliases = j["aliases"]?.stringArray ?? []
        ports = (j["ports"]?.array ?? []).compactMap { PortBinding(json: $0) }
        interface = j["interface"]?.string ?? "eth0"
        takerPid = Int32(truncatingIfNeeded: j["taker_pid"]?.int ?? 0)
        active = j["active"] == .bool(true)
    }
}
