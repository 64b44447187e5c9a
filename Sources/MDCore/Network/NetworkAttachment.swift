#if canImport(Glibc)
import Glibc
#endif

/// A container's veth pairs, made on a thread of their own while the cgroup and the root
/// are set up (ContainerLaunch starts it, NetworkHook takes the result): the thread waits
/// for the network namespace (made ahead on its own thread, NetworkNamespace), then makes
/// each endpoint's pair. What the thread cannot do alone (a name still taken, a bridge that
/// is gone: both need the networks' records) is left to NetworkHook, after the join.
///
/// A foreground `run` starts it earlier, at the lease (NetworkStore.connect), when its
/// process made the namespace ahead: the pair is then made while the container's record is
/// written too. The start takes it (`takeAhead`) and reconciles it with the endpoints it
/// reads (`wait(for:)`); a lease given back before (a create that failed) drops it.
final class NetworkAttachment {
    let endpoints: [(Network, NetworkEndpoint)]
    private var pending: NetworkNamespace.Pending?
    private var namespace: NetworkNamespace?
    private var namespaceError: Error?
    /// The endpoints whose pair the thread did not make, with why.
    private var failed: [(Network, NetworkEndpoint, Error)] = []
    private var thread: pthread_t?

    private init(_ endpoints: [(Network, NetworkEndpoint)], _ pending: NetworkNamespace.Pending) {
        self.endpoints = endpoints
        self.pending = pending
    }

    /// Starts the thread; nil when it cannot be started (NetworkHook then does it all).
    static func start(_ endpoints: [(Network, NetworkEndpoint)], _ pending: NetworkNamespace.Pending) -> NetworkAttachment? {
        let a = NetworkAttachment(endpoints, pending)
        let context = Unmanaged.passRetained(a).toOpaque()
        var t = pthread_t()
        // With every signal blocked, as the namespace's thread (mdl_netns.c).
        var all = sigset_t(), old = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &old)
        let rc = pthread_create(&t, nil, { ctx in
            Unmanaged<NetworkAttachment>.fromOpaque(ctx!).takeRetainedValue().run()
            return nil
        }, context)
        pthread_sigmask(SIG_SETMASK, &old, nil)
        guard rc == 0 else {
            Unmanaged<NetworkAttachment>.fromOpaque(context).release()
            return nil
        }
        a.thread = t
        return a
    }

    private func run() {
        do {
            let ns = try pending!.wait()
            pending = nil
            namespace = ns
            for (n, e) in endpoints {
                do { try NetworkAttachment.attach(netns: ns.fd, n, e) } catch { failed.append((n, e, error)) }
            }
        } catch {
            namespaceError = error
        }
    }

    /// The veth pair of endpoint `e` of network `n` into the namespace `netns` (a descriptor).
    static func attach(netns: Int32, _ n: Network, _ e: NetworkEndpoint) throws {
        try Netlink.attachVeth(netns: netns, host: e.hostLink, bridge: n.bridge, peer: e.interface, address: e.address,
                               prefix: n.subnet.prefix, gateway: e.interface == "eth0" && !n.internal ? n.gateway : nil,
                               mtu: n.mtu)
    }

    /// Waits for the thread: the namespace (or why there is none) and, of the container's
    /// endpoints now (`current`), those whose pair is not made, with why when the thread
    /// tried. A pair made for a lease that changed or went meanwhile is deleted.
    func wait(for current: [(Network, NetworkEndpoint)]) throws -> (NetworkNamespace, [(Network, NetworkEndpoint, Error?)]) {
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
        if let err = namespaceError { throw err }
        guard let ns = namespace else { throw EngineError("the network namespace was not made") }
        func same(_ a: (Network, NetworkEndpoint), _ b: (Network, NetworkEndpoint)) -> Bool {
            a.1.hostLink == b.1.hostLink && a.1.address == b.1.address && a.1.interface == b.1.interface
                && a.0.bridge == b.0.bridge && a.0.mtu == b.0.mtu
        }
        let made = endpoints.filter { m in !failed.contains { same(($0.0, $0.1), m) } }
        for m in made where !current.contains(where: { same($0, m) }) { try? Netlink.deleteLink(m.1.hostLink) }
        let left = current.filter { c in !made.contains { same($0, c) } }.map { c in
            (c.0, c.1, failed.first { same(($0.0, $0.1), c) }?.2)
        }
        return (ns, left)
    }

    /// The attachment started at the lease of the container this process starts next.
    private static var ahead: (containerID: String, attachment: NetworkAttachment)?

    /// At the lease of `e` on `n`: when this process made a network namespace ahead (a
    /// foreground `run`), the pair is made from now on, in it.
    static func startAhead(containerID: String, _ n: Network, _ e: NetworkEndpoint) {
        guard ahead == nil, let pending = NetworkNamespace.takeAhead() else { return }
        if let a = start([(n, e)], pending) { ahead = (containerID, a) }
    }

    /// The attachment started at the container's lease, if any (ContainerLaunch).
    static func takeAhead(_ containerID: String) -> NetworkAttachment? {
        guard let a = ahead, a.containerID == containerID else { return nil }
        ahead = nil
        return a.attachment
    }

    /// The container's lease is given back before its start: the namespace made ahead goes,
    /// with the pair in it (the kernel removes both ends with it).
    static func discardAhead(_ containerID: String) {
        guard let a = ahead, a.containerID == containerID else { return }
        ahead = nil
        _ = try? a.attachment.wait(for: [])
    }

    deinit {
        // (The thread itself may hold the last reference: then it is not joined but detached.)
        guard let t = thread else { return }
        if pthread_equal(t, pthread_self()) != 0 { pthread_detach(t) } else { pthread_join(t, nil) }
    }
}
