#if canImport(Glibc)
import Glibc
#endif

/// `network connect` and `disconnect` of a running (or paused) container: the lease as for a
/// stopped one (NetworkStore), and the veth pair made into, or deleted from, the network
/// namespace of its process at once. The exit of the container then takes the new
/// attachment down with the others (NetworkHook), and its next start makes it again.
public enum HotPlug {
    /// Connects the container `ref` to the network `network`; a running container gets its
    /// link now. Returns the network and the endpoint.
    public static func connect(_ containers: ContainerStore, network: String, container ref: String,
                               address: IPv4Address?, aliases: [String]) throws -> (Network, NetworkEndpoint) {
        let r = try containers.find(ref)
        if r.config.network == "host" || r.config.network == "none" || JoinedNetwork.target(r.config) != nil {
            throw EngineError("container \(r.name) is on --network \(r.config.network): it cannot be connected to a network")
        }
        let store = NetworkStore(root: containers.store.root)
        let (n, e) = try store.connect(network, containerID: r.id, containerName: r.name, address: address,
                                       aliases: aliases, ports: [])
        guard r.status == .running || r.status == .paused, r.processAlive else { return (n, e) }
        do {
            let fd = open("/proc/\(r.pid)/ns/net", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw EngineError.system("open the network namespace of container \(r.name)") }
            defer { close(fd) }
            try? Netlink.deleteLink(e.hostLink)
            try NetworkAttachment.attach(netns: fd, n, e)
        } catch {
            try? store.disconnect(n.name, containerID: r.id)
            throw error
        }
        return (n, e)
    }

    /// Disconnects the container `ref` from `network`: its link there goes now (the
    /// namespace lives on with the container), then the lease.
    public static func disconnect(_ containers: ContainerStore, network: String, container ref: String) throws {
        let r = try containers.find(ref)
        let store = NetworkStore(root: containers.store.root)
        let n = try store.get(network)
        guard let e = n.endpoints[r.id] else { throw EngineError("container \(r.name) is not connected to the network \(n.name)") }
        // (Its published ports leave the rules with the lease.)
        if r.status == .running || r.status == .paused { try Netlink.deleteLink(e.hostLink) }
        try store.disconnect(n.name, containerID: r.id)
    }
}
