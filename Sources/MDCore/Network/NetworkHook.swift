#if canImport(Glibc)
import Glibc
#endif

/// A container's network attachments (ContainerHook.swift): for each network it has a lease
/// on (NetworkStore), a veth pair from the network's bridge into the container's network
/// namespace, which the hook waits for here (it is made on a thread meanwhile), and its
/// published ports in the firewall's maps. Torn down by deleting the host ends (the peers
/// go with them) and taking the ports out; a link or element that is not there is fine.
struct NetworkHook: ContainerHook {
    var name: String { "network" }

    func setUp(_ c: inout ContainerHookContext) throws {
        let store = NetworkStore(root: c.store.store.root)
        let endpoints = store.endpoints(of: c.record.id)
        guard !endpoints.isEmpty else { return }
        guard let netns = try c.networkNamespace() else {
            throw EngineError("container \(c.record.name) is on a network but shares the host's network namespace")
        }
        Trace.mark("network ready")
        for (n, e) in endpoints {
            try? Netlink.deleteLink(e.hostLink)   // left by a crash
            func attach() throws {
                try Netlink.attachVeth(netns: netns.fd, host: e.hostLink, bridge: n.bridge, peer: e.interface, address: e.address,
                                       prefix: n.subnet.prefix, gateway: e.interface == "eth0" && !n.internal ? n.gateway : nil)
            }
            do {
                try attach()
            } catch let err as NetlinkError where err.code == ENODEV {
                try store.restoreBridge(n.name)
                try attach()
            }
        }
        Trace.mark("veth attached")
        if endpoints.contains(where: { !$0.1.ports.isEmpty }) {
            try store.setActive(containerID: c.record.id, true)
            Trace.mark("ports published")
        }
    }

    func tearDown(_ c: inout ContainerHookContext) {
        let store = NetworkStore(root: c.store.store.root)
        let endpoints = store.endpoints(of: c.record.id)
        for (_, e) in endpoints { try? Netlink.deleteLink(e.hostLink) }
        if endpoints.contains(where: { $0.1.active }) { try? store.setActive(containerID: c.record.id, false) }
    }
}
