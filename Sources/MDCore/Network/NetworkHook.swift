#if canImport(Glibc)
import Glibc
#endif

/// A container's network attachments (ContainerHook.swift): for each network it has a lease
/// on (NetworkStore), a veth pair from the network's bridge into the container's network
/// namespace, which the hook waits for here (it is made on a thread meanwhile), and its
/// published ports in the firewall's maps. Torn down by taking the ports out and, after a
/// crash or at `rm -f` of a running container, by deleting the host ends (the peers go with
/// them); a link or element that is not there is fine.
///
/// After a normal exit the veth pairs are not deleted here: the container's namespace dies
/// with its last process (the engine's own descriptor of it closes with the start), and the
/// kernel then removes every link in it, the pair included, in its own worker. Deleting a
/// veth by hand waits for RCU grace periods (25-65 ms measured here, docs/networking.md),
/// most of a run's time; a link the kernel has yet to remove is deleted by the next start
/// of the same container (set-up) when it finds the name taken.
struct NetworkHook: ContainerHook {
    var name: String { "network" }

    func setUp(_ c: inout ContainerHookContext) throws {
        let store = NetworkStore(root: c.store.store.root)
        let endpoints = c.endpoints ?? store.endpoints(of: c.record.id)
        guard !endpoints.isEmpty else { return }
        guard let netns = try c.networkNamespace() else {
            throw EngineError("container \(c.record.name) is on a network but shares the host's network namespace")
        }
        Trace.mark("network ready")
        // The pairs the attachment's thread made are there; the others are made here.
        let left = c.attachLeft ?? endpoints.map { ($0.0, $0.1, nil as Error?) }
        for (n, e, firstError) in left {
            func attach() throws { try NetworkAttachment.attach(netns: netns.fd, n, e) }
            do {
                if let err = firstError { throw err }
                try attach()
            } catch let err as NetlinkError where err.code == EEXIST {
                // Left by a crash, or by the last run of this container still going with its
                // namespace (the kernel removes it in its own time).
                try? Netlink.deleteLink(e.hostLink)
                try attach()
            } catch let err as NetlinkError where err.code == ENODEV {
                try store.restoreBridge(n.name)
                try attach()
            }
        }
        Trace.mark("veth attached")
        if endpoints.contains(where: { !$0.1.ports.isEmpty }) {
            try PortReservations.reserve(c.record.id, endpoints.flatMap(\.1.ports))
            try store.setActive(containerID: c.record.id, true)
            Trace.mark("ports published")
        }
    }

    func tearDown(_ c: inout ContainerHookContext) {
        let store = NetworkStore(root: c.store.store.root)
        let endpoints = store.endpoints(of: c.record.id)
        // After an exit that was recorded (its own teardown ran), the namespace is gone or
        // going: the kernel removes the pairs. Otherwise (a crash, a running container
        // removed by force) something may still hold the namespace.
        // A namespace another container joined lives on with that one.
        let exited = !c.afterCrash || c.record.status == .exited || c.record.status == .created
        if !exited || JoinedNetwork.isJoined(c.store, c.record.id) {
            for (_, e) in endpoints { try? Netlink.deleteLink(e.hostLink) }
        }
        if endpoints.contains(where: { $0.1.active }) { try? store.setActive(containerID: c.record.id, false) }
        PortReservations.release(c.record.id)
    }
}
