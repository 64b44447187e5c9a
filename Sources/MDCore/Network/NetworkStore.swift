#if canImport(Glibc)
import Glibc
#endif

/// The networks of a state root, one file each, and the addresses given out on them:
///
///     ROOT/networks/NAME.json   a network and its endpoints (leases, names, ports)
///     ROOT/networks/.lock       held while any of them changes
///
/// An address is leased to a container from its create to its rm, never twice: leases are
/// taken under the lock, from the file as it is on disk. A lease whose container has no
/// record and whose taker died (a crash between the two) is dropped at the next change.
/// The bridge of a user network lives from `network create` to `network rm`; the default
/// network's from its first lease to its last. Every change of the set of bridges rewrites
/// the root's nf_tables table (Firewall).
public final class NetworkStore {
    public let root: String
    var dir: String { root + "/networks" }

    public init(root: String) { self.root = root }

    /// 8 hex digits from the state root's path: names the bridges and the nf_tables table
    /// of this root apart from other roots' (tests run side by side).
    public var tag: String {
        var h: UInt32 = 2166136261
        for b in root.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
    public var table: String { "mdlua_" + tag }

    static func validName(_ name: String) -> Bool {
        guard let f = name.utf8.first, name.utf8.count <= 64 else { return false }
        func ok(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        return ok(f) && name.utf8.allSatisfy { ok($0) || $0 == 95 || $0 == 46 || $0 == 45 }
    }

    /// This store holds the lock (its reads then take no shared lock: a second flock of the
    /// same file by this process would wait for itself).
    private var holdingLock = false

    func locked<T>(_ body: () throws -> T) throws -> T {
        if holdingLock { return try body() }
        try FileSystem.makeDirectories(dir, mode: 0o700)
        let lock = try FileLock(path: dir + "/.lock")
        holdingLock = true
        defer {
            holdingLock = false
            withExtendedLifetime(lock) {}
        }
        return try body()
    }

    func path(_ name: String) -> String { dir + "/" + name + ".json" }

    /// Every network, read under the lock taken shared: the files are rewritten in place
    /// (save), and a reader without it could see a page half-written.
    public func list() -> [Network] {
        let lock = holdingLock ? nil : try? FileLock(path: dir + "/.lock", shared: true)
        defer { withExtendedLifetime(lock) {} }
        return FileSystem.list(dir).filter { $0.hasSuffix(".json") }.sorted().compactMap { f in
            (try? FileSystem.readFile(dir + "/" + f)).flatMap { NetworkStore.parse(dir + "/" + f, $0) }
        }
    }

    /// The records parsed in this process, by file, with the bytes they came from: a
    /// `run --rm` reads them five times (the lease, the start, the exit, the removal twice)
    /// and parses a content once, as ImageIndex does with the image index.
    static var parsed: [String: (bytes: [UInt8], network: Network?)] = [:]

    static func parse(_ path: String, _ bytes: [UInt8]) -> Network? {
        if let p = parsed[path], p.bytes == bytes { return p.network }
        let n = (try? JSON.parse(bytes)).flatMap { Network(json: $0) }
        parsed[path] = (bytes, n)
        return n
    }

    /// By name, full ID or unique ID prefix.
    public func get(_ ref: String) throws -> Network {
        let all = list()
        if let n = all.first(where: { $0.name == ref || $0.id == ref }) { return n }
        let byPrefix = ref.count >= 3 ? all.filter { $0.id.hasPrefix(ref) } : []
        if byPrefix.count == 1 { return byPrefix[0] }
        throw NetworkNotFound(ref: ref)
    }

    /// Under the lock. In place while the file is small (the lease at create and its release
    /// at rm are two writes per run: a new file each would cost more than the rest of the
    /// record's handling, docs/benchmarks.md); a new network, or a large one, is written to
    /// a new file renamed over the old.
    func save(_ n: Network) throws {
        let bytes = Array(n.json.pretty().utf8)
        if !FileSystem.rewriteInPlace(path(n.name), bytes) {
            try FileSystem.writeAtomically(path(n.name), bytes, mode: 0o600, durable: false)
        }
        NetworkStore.parsed[path(n.name)] = (bytes, n)
    }

    /// The networks that have a bridge now.
    func bridged(_ all: [Network]) -> [Network] { all.filter { !$0.isDefault || !$0.endpoints.isEmpty } }

    func rewriteFirewall(_ all: [Network]) throws {
        try Firewall.rebuild(table: table, networks: bridged(all))
    }

    /// Brings up a network's bridge. The default network's subnet is checked against the host
    /// again (it may have been taken while it had no bridge) and chosen anew if it clashes.
    func bridgeUp(_ n: inout Network) throws {
        try HostNetworks.locked {
            if n.isDefault && !Netlink.linkExists(n.bridge) {
                let taken = HostNetworks.subnetsInUse(except: n.bridge)
                if taken.contains(where: { $0.overlaps(n.subnet) }) && !n.options.keys.contains("fixed_subnet") {
                    guard let s = HostNetworks.pick(avoiding: taken) else { throw EngineError("no free subnet left for the network \(n.name)") }
                    n.subnet = s
                    n.ipRange = s
                    n.gateway = s.firstHost
                }
            }
            try Netlink.bridgeUp(n.bridge, address: n.gateway, prefix: n.subnet.prefix, mtu: n.mtu)
        }
        HostNetworks.enableForwarding(bridge: n.bridge)
    }

    public struct CreateOptions {
        public var subnet: IPv4Subnet?
        public var gateway: IPv4Address?
        public var ipRange: IPv4Subnet?
        public var `internal` = false
        public var labels: [String: String] = [:]
        public var options: [String: String] = [:]
        public init() {}
    }

    /// A new network with its bridge. Refused: a taken name, a subnet that overlaps the
    /// host's or another network's, a gateway or range outside the subnet.
    public func create(name: String, _ o: CreateOptions) throws -> Network {
        guard NetworkStore.validName(name) else {
            throw EngineError("invalid network name \"\(name)\": expected letters, digits, _ . - (starting with a letter or digit)")
        }
        if name == "none" || name == "host" { throw EngineError("network name \(name) is reserved") }
        var o = o
        o.options = try Network.checkingMTU(o.options)
        return try locked {
            var all = list()
            if all.contains(where: { $0.name == name }) { throw EngineError("network with name \(name) already exists") }
            var n = try HostNetworks.locked { () -> Network in
                let hostTaken = HostNetworks.subnetsInUse()
                let ours = all.map(\.subnet)
                let subnet: IPv4Subnet
                if let s = o.subnet {
                    guard s.prefix <= 30 else { throw EngineError("invalid --subnet \(s): too small (at most /30)") }
                    if let clash = ours.first(where: { $0.overlaps(s) }) {
                        throw EngineError("invalid --subnet \(s): it overlaps the subnet \(clash) of another network")
                    }
                    if let clash = hostTaken.first(where: { $0.overlaps(s) }) {
                        throw EngineError("invalid --subnet \(s): it overlaps \(clash), which the host uses")
                    }
                    subnet = s
                } else {
                    guard let s = HostNetworks.pick(avoiding: hostTaken + ours) else { throw EngineError("no free subnet left for a network") }
                    subnet = s
                }
                let gateway = o.gateway ?? subnet.firstHost
                guard subnet.contains(gateway), gateway != subnet.network, gateway != subnet.broadcast else {
                    throw EngineError("invalid --gateway \(gateway): not a host address of the subnet \(subnet)")
                }
                let range = o.ipRange ?? subnet
                guard subnet.contains(range) else { throw EngineError("invalid --ip-range \(range): not inside the subnet \(subnet)") }
                let bridge = try o.options["com.docker.network.bridge.name"] ?? freeBridgeName(all)
                guard bridge.utf8.count <= 15, !bridge.isEmpty, !bridge.contains("/") else {
                    throw EngineError("invalid bridge name \"\(bridge)\": at most 15 characters, no /")
                }
                if all.contains(where: { $0.bridge == bridge }) || (o.options["com.docker.network.bridge.name"] != nil && Netlink.linkExists(bridge)) {
                    throw EngineError("bridge \(bridge) is in use already")
                }
                var opts = o.options
                if o.subnet != nil { opts["fixed_subnet"] = nil }
                var n = Network(name: name, id: NetworkStore.randomID(), subnet: subnet, gateway: gateway, ipRange: range,
                                internal: o.internal, labels: o.labels, options: opts, bridge: bridge, created: Clock.now(),
                                dns: name != Network.defaultName && DNSServer.available)
                if !n.isDefault { try Netlink.bridgeUp(n.bridge, address: n.gateway, prefix: n.subnet.prefix, mtu: n.mtu) }
                if o.subnet != nil && n.isDefault { n.options["fixed_subnet"] = "true" }
                return n
            }
            if !n.isDefault { HostNetworks.enableForwarding(bridge: n.bridge) }
            do {
                try save(n)
                all.append(n)
                try rewriteFirewall(all)
            } catch {
                try? Netlink.deleteLink(n.bridge)
                try? FileSystem.removeTree(path(n.name))
                throw error
            }
            n = try get(name)
            return n
        }
    }

    func freeBridgeName(_ all: [Network]) throws -> String {
        let used = Set(all.map(\.bridge))
        for i in 0..<10000 {
            let b = "md" + tag + String(i)
            if !used.contains(b) { return b }
        }
        throw EngineError("no bridge name left")
    }

    static func randomID() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if fd >= 0 { _ = read(fd, &bytes, 32); close(fd) }
        return bytes.map { b in let s = String(b, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
    }

    /// The default network, made on first use; its subnet is MDLUA_BRIDGE_SUBNET when set.
    public func defaultNetwork() throws -> Network {
        if let n = try? get(Network.defaultName) { return n }
        var o = CreateOptions()
        if let s = getenv("MDLUA_BRIDGE_SUBNET").map({ String(cString: $0) }), !s.isEmpty {
            guard let subnet = IPv4Subnet(s) else { throw EngineError("invalid MDLUA_BRIDGE_SUBNET \(s): expected a subnet like 10.222.0.0/24") }
            o.subnet = subnet
        }
        do { return try create(name: Network.defaultName, o) } catch { if let n = try? get(Network.defaultName) { return n }; throw error }
    }

    /// Removes a network with no containers: its bridge, its rules, its file.
    public func remove(_ ref: String) throws {
        try locked {
            var all = list()
            guard let i = all.firstIndex(where: { $0.name == ref || $0.id == ref || (ref.count >= 3 && $0.id.hasPrefix(ref)) }) else {
                throw NetworkNotFound(ref: ref)
            }
            var n = all[i]
            reconcile(&n)
            if !n.endpoints.isEmpty {
                let names = n.endpoints.values.map(\.containerName).sorted().joined(separator: ", ")
                throw EngineError("error while removing network: network \(n.name) id \(n.id) has active endpoints (\(names))")
            }
            all.remove(at: i)
            DNSServer.sync(root: root, networks: all)
            try rewriteFirewall(all)
            try Netlink.deleteLink(n.bridge)
            try FileSystem.removeTree(path(n.name))
        }
    }

    /// Drops the leases whose container is gone (no record, and no live taker).
    @discardableResult
    func reconcile(_ n: inout Network) -> Bool {
        var changed = false
        for (id, e) in n.endpoints {
            if FileSystem.exists(root + "/containers/" + id) { continue }
            if e.takerPid > 0 && kill(e.takerPid, 0) == 0 { continue }
            n.endpoints[id] = nil
            try? Netlink.deleteLink(e.hostLink)
            changed = true
        }
        return changed
    }

    /// Leases an address on the network `ref` ("bridge": the default network, made on first
    /// use) to a container: `address` if given (and free, in the subnet), else the first free
    /// one of the range. Ports: a host port that a container of this root or the host holds
    /// is refused, naming it; port 0 takes a free one.
    /// `attachAhead`: the lease of a new container (create); when this process made a network
    /// namespace ahead for it (a foreground run), its veth pair is made from now on, on a
    /// thread (NetworkAttachment).
    public func connect(_ ref: String, containerID: String, containerName: String, address: IPv4Address?,
                        aliases: [String], ports: [PortBinding], attachAhead: Bool = false) throws -> (Network, NetworkEndpoint) {
        if ref == Network.defaultName && !FileSystem.exists(path(ref)) { _ = try defaultNetwork() }
        return try locked {
            var all = list()
            guard let i = all.firstIndex(where: { $0.name == ref || $0.id == ref || (ref.count >= 3 && $0.id.hasPrefix(ref)) }) else {
                throw NetworkNotFound(ref: ref)
            }
            var reconciled = false
            for j in all.indices where reconcile(&all[j]) {
                try save(all[j])
                reconciled = true
            }
            if reconciled { DNSServer.sync(root: root, networks: all) }
            var n = all[i]
            if n.endpoints[containerID] != nil { throw EngineError("container \(containerName) is already connected to the network \(n.name)") }
            if !n.isDefault && !aliases.isEmpty && !aliases.allSatisfy(NetworkStore.validName) {
                throw EngineError("invalid --network-alias: expected letters, digits, _ . -")
            }
            // Ports: against every container of this root, then the host.
            var taken = all.flatMap { $0.endpoints.values.flatMap(\.ports) }
            var chosen: [PortBinding] = []
            for var p in ports {
                if p.hostPort == 0 {
                    var tries = 0
                    repeat {
                        guard let e = PortBinding.ephemeralPort(proto: p.proto) else { throw EngineError("no free host port for \(p.containerPort)/\(p.proto)") }
                        p.hostPort = e
                        tries += 1
                    } while taken.contains(where: { $0.clashes(with: p) }) && tries < 20
                }
                if taken.contains(where: { $0.clashes(with: p) }) || !p.hostPortFree() {
                    let addr = p.hostIP.isEmpty ? "0.0.0.0" : p.hostIP
                    throw EngineError("port is already allocated: \(addr):\(p.hostPort)/\(p.proto) (published for \(p.containerPort)/\(p.proto))")
                }
                taken.append(p)
                chosen.append(p)
            }
            // The default network's bridge comes with its first lease (its subnet may change then).
            let needsBridge = bridged([n]).isEmpty
            if needsBridge { try bridgeUp(&n) }
            let used = Set(n.endpoints.values.map(\.address))
            let ip: IPv4Address
            if let a = address {
                guard n.subnet.contains(a), a != n.subnet.network, a != n.subnet.broadcast, a != n.gateway else {
                    throw EngineError("invalid --ip \(a): not a free host address of the subnet \(n.subnet) of the network \(n.name)")
                }
                if used.contains(a) { throw EngineError("invalid --ip \(a): the address is in use on the network \(n.name)") }
                ip = a
            } else {
                // The first free one after the last given out, round the range.
                var found: IPv4Address?
                let low = n.ipRange.network.value, count = n.ipRange.broadcast.value - low + 1
                let after = n.lastAddress.map { n.ipRange.contains($0) ? $0.value - low + 1 : 0 } ?? 0
                for k in 0..<count {
                    let a = IPv4Address(low + (after + k) % count)
                    if a != n.subnet.network && a != n.subnet.broadcast && a != n.gateway && !used.contains(a) { found = a; break }
                }
                guard let a = found else { throw EngineError("no free address left on the network \(n.name) (\(n.ipRange))") }
                ip = a
                n.lastAddress = a
            }
            var interfaces = Set<String>()
            for m in all { if let e = m.endpoints[containerID] { interfaces.insert(e.interface) } }
            var k = 0
            while interfaces.contains("eth\(k)") { k += 1 }
            let e = NetworkEndpoint(containerID: containerID, containerName: containerName, address: ip, aliases: aliases,
                                    ports: chosen, interface: "eth\(k)", takerPid: getpid())
            n.endpoints[containerID] = e
            all[i] = n
            do {
                try save(n)
                if needsBridge { try rewriteFirewall(all) }
                DNSServer.sync(root: root, networks: all)
            } catch {
                if needsBridge { try? Netlink.deleteLink(n.bridge) }
                n.endpoints[containerID] = nil
                try? save(n)
                throw error
            }
            if attachAhead { NetworkAttachment.startAhead(containerID: containerID, n, e) }
            return (n, e)
        }
    }

    /// The leases whose container is gone (no record, and no live taker: a `create` killed
    /// between its lease and its record), as (network, container ID); with `repair` they are
    /// given back, and the default network's bridge goes with its last lease (`system check`).
    public func orphanLeases(repair: Bool) -> [(String, String)] {
        (try? locked { () -> [(String, String)] in
            var found: [(String, String)] = []
            for n in list() {
                for (id, e) in n.endpoints where !FileSystem.exists(root + "/containers/" + id) {
                    if e.takerPid > 0 && kill(e.takerPid, 0) == 0 { continue }
                    found.append((n.name, id))
                }
            }
            if repair { for (_, id) in found { try disconnectLocked(containerID: id, from: nil) } }
            return found
        }) ?? []
    }

    /// Gives back every lease of a container (rm).
    public func releaseAll(containerID: String) {
        NetworkAttachment.discardAhead(containerID)
        _ = try? locked { try disconnectLocked(containerID: containerID, from: nil) }
    }

    /// Gives back a container's lease on one network (disconnect; the container is stopped).
    public func disconnect(_ ref: String, containerID: String) throws {
        try locked {
            let n = try get(ref)
            guard n.endpoints[containerID] != nil else { throw EngineError("container is not connected to the network \(n.name)") }
            try disconnectLocked(containerID: containerID, from: n.name)
        }
    }

    /// The files are written last: a process killed in between leaves the lease, and the
    /// next `rm` does it all again (the rules and a bridge that is gone already are fine).
    private func disconnectLocked(containerID: String, from name: String?) throws {
        var all = list()
        var changed: [Int] = []
        var goneBridges: [String] = []
        for i in all.indices where name == nil || all[i].name == name {
            guard let e = all[i].endpoints[containerID] else { continue }
            let before = !bridged([all[i]]).isEmpty
            all[i].endpoints[containerID] = nil
            // With the leases a crash left (a killed create, an rm that could not write this
            // file): the default network's bridge goes with its last real lease.
            reconcile(&all[i])
            // (The veth went with the container's namespace, or goes: NetworkHook.)
            if e.active { try? Firewall.publish(table: table, address: e.address, ports: e.ports, add: false) }
            if before && bridged([all[i]]).isEmpty { goneBridges.append(all[i].bridge) }
            changed.append(i)
        }
        if !goneBridges.isEmpty {
            try rewriteFirewall(all)
            for b in goneBridges { try? Netlink.deleteLink(b) }
        }
        for i in changed { try save(all[i]) }
        DNSServer.sync(root: root, networks: all)
    }

    /// A container's endpoints, in interface order.
    public func endpoints(of containerID: String) -> [(Network, NetworkEndpoint)] {
        var out: [(Network, NetworkEndpoint)] = []
        for n in list() { if let e = n.endpoints[containerID] { out.append((n, e)) } }
        return out.sorted { $0.1.interface < $1.1.interface }
    }

    /// Marks a container's ports as in the firewall (at start) or not (at exit), and puts
    /// them there; a failed deletion (elements a crash left out) rewrites the table instead.
    func setActive(containerID: String, _ active: Bool) throws {
        try locked {
            var all = list()
            for i in all.indices {
                guard var e = all[i].endpoints[containerID], e.active != active || active else { continue }
                e.active = active
                all[i].endpoints[containerID] = e
                try save(all[i])
                if e.ports.isEmpty { continue }
                do {
                    try Firewall.publish(table: table, address: e.address, ports: e.ports, add: active)
                } catch {
                    try rewriteFirewall(all)
                }
            }
        }
    }

    /// The bridge of a network, again (after a reboot, or removed by hand), with the rules.
    func restoreBridge(_ name: String) throws {
        try locked {
            var all = list()
            guard let i = all.firstIndex(where: { $0.name == name }) else { throw NetworkNotFound(ref: name) }
            try Netlink.bridgeUp(all[i].bridge, address: all[i].gateway, prefix: all[i].subnet.prefix, mtu: all[i].mtu)
            HostNetworks.enableForwarding(bridge: all[i].bridge)
            try rewriteFirewall(all)
        }
    }
}

extension NetworkEndpoint {
    public var hostLink: String { "vm" + containerID.prefix(11) + interface.dropFirst(3) }
}

public struct NetworkNotFound: Error, CustomStringConvertible {
    public let ref: String
    public var description: String { "no such network: \(ref)" }
}
