import MDCore

/// `md._network`: networks and their leases (Sources/MDCore/Network), for
/// stdlib/mdlua/network.lua, which builds `md.network`. Every function takes the state
/// root first.
enum NetworkBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func store(_ args: LuaArguments) throws -> NetworkStore { NetworkStore(root: try args.string(1)) }
        return .record([
            // (root, name, {subnet=, gateway=, ip_range=, internal=, labels={}, options={}})
            "create": vm.function("md.network.create") { args in
                let s = try store(args)
                let name = try args.string(2)
                let t = args.isNil(3) ? [:] : try args.table(3)
                var o = NetworkStore.CreateOptions()
                if let v = t[.str("subnet")]?.stringValue {
                    guard let sub = IPv4Subnet(v) else { throw EngineError("invalid --subnet \(v): expected an IPv4 subnet like 10.1.0.0/24 (host bits zero)") }
                    o.subnet = sub
                }
                if let v = t[.str("gateway")]?.stringValue {
                    guard let a = IPv4Address(v) else { throw EngineError("invalid --gateway \(v): expected an IPv4 address") }
                    if o.subnet == nil { throw EngineError("--gateway needs --subnet") }
                    o.gateway = a
                }
                if let v = t[.str("ip_range")]?.stringValue {
                    guard let r = IPv4Subnet(v) else { throw EngineError("invalid --ip-range \(v): expected an IPv4 subnet like 10.1.0.128/25") }
                    if o.subnet == nil { throw EngineError("--ip-range needs --subnet") }
                    o.ipRange = r
                }
                o.internal = t[.str("internal")] == .boolean(true)
                o.labels = stringMap(t[.str("labels")])
                o.options = stringMap(t[.str("options")])
                return [lua(try s.create(name: name, o))]
            },
            "list": vm.function("md.network.list") { args in [.array(try store(args).list().map(lua))] },
            "get": vm.function("md.network.get") { args in [lua(try store(args).get(try args.string(2)))] },
            // (root) -> the default network, its record made on first use
            "default": vm.function("md.network.get") { args in [lua(try store(args).defaultNetwork())] },
            "remove": vm.function("md.network.rm") { args in
                try store(args).remove(try args.string(2))
                return []
            },
            // (root, network, {id=, name=, ip=, aliases={}, ports={{proto=, host_ip=, host_port=, container_port=}}})
            "connect": vm.function("md.network.connect") { args in
                let t = try args.table(3)
                guard let id = t[.str("id")]?.stringValue, let name = t[.str("name")]?.stringValue else {
                    throw EngineError("md.network.connect: id and name are required")
                }
                var address: IPv4Address?
                if let v = t[.str("ip")]?.stringValue {
                    guard let a = IPv4Address(v) else { throw EngineError("invalid --ip \(v): expected an IPv4 address") }
                    address = a
                }
                var ports: [PortBinding] = []
                if case .table(let list)? = t[.str("ports")] {
                    for (_, p) in list.sorted(by: { ($0.key.integerKey ?? 0) < ($1.key.integerKey ?? 0) }) {
                        guard case .table(let f) = p, let cp = f[.str("container_port")]?.integerKey else { continue }
                        ports.append(PortBinding(proto: f[.str("proto")]?.stringValue ?? "tcp", hostIP: f[.str("host_ip")]?.stringValue ?? "",
                                                 hostPort: UInt16(truncatingIfNeeded: f[.str("host_port")]?.integerKey ?? 0),
                                                 containerPort: UInt16(truncatingIfNeeded: cp)))
                    }
                }
                let (n, e) = try store(args).connect(try args.string(2), containerID: id, containerName: name, address: address,
                                                     aliases: RuntimeBinding.strings(t[.str("aliases")]), ports: ports,
                                                     attachAhead: true)
                return [endpoint(n, e)]
            },
            // (root, network, container ref, {ip=, aliases={}}): a running container is attached at once.
            "attach": vm.function("md.network.connect") { args in
                let t = args.isNil(4) ? [:] : try args.table(4)
                var address: IPv4Address?
                if let v = t[.str("ip")]?.stringValue {
                    guard let a = IPv4Address(v) else { throw EngineError("invalid --ip \(v): expected an IPv4 address") }
                    address = a
                }
                let root = try args.string(1)
                let (n, e) = try HotPlug.connect(ContainerStore(store: Store(root: root)), network: try args.string(2),
                                                 container: try args.string(3), address: address,
                                                 aliases: RuntimeBinding.strings(t[.str("aliases")]))
                return [endpoint(n, e)]
            },
            // (root, network, container ref): a running container's link goes at once.
            "detach": vm.function("md.network.disconnect") { args in
                try HotPlug.disconnect(ContainerStore(store: Store(root: try args.string(1))), network: try args.string(2),
                                       container: try args.string(3))
                return []
            },
            "release": vm.function("md.network.release") { args in
                try store(args).releaseAll(containerID: try args.string(2))
                return []
            },
            // (root, container ID) -> the container's endpoints, in interface order
            "endpoints": vm.function("md.network.endpoints") { args in
                [.array(try store(args).endpoints(of: try args.string(2)).map { endpoint($0.0, $0.1) })]
            },
        ])
    }

    static func stringMap(_ v: LuaValue?) -> [String: String] {
        guard case .table(let t)? = v else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in t { if let k = k.stringValue, let v = v.stringValue { out[k] = v } }
        return out
    }

    static func ports(_ list: [PortBinding]) -> LuaValue {
        .array(list.map { p in
            .record(["proto": .str(p.proto), "host_ip": .str(p.hostIP), "host_port": .integer(Int64(p.hostPort)),
                     "container_port": .integer(Int64(p.containerPort))])
        })
    }

    static func endpoint(_ n: Network, _ e: NetworkEndpoint) -> LuaValue {
        .record(["network": .str(n.name), "network_id": .str(n.id), "container_id": .str(e.containerID),
                 "container_name": .str(e.containerName), "ip": .str(e.address.description),
                 "prefix": .integer(Int64(n.subnet.prefix)), "gateway": .str(n.gateway.description),
                 "aliases": .array(e.aliases.map { .str($0) }), "ports": ports(e.ports), "interface": .str(e.interface),
                 "host_link": .str(e.hostLink), "active": .boolean(e.active), "dns": .boolean(n.dns)])
    }

    static func lua(_ n: Network) -> LuaValue {
        var eps: [LuaValue] = []
        for e in n.endpoints.values.sorted(by: { $0.address < $1.address }) { eps.append(endpoint(n, e)) }
        return .record(["name": .str(n.name), "id": .str(n.id), "driver": .str("bridge"), "subnet": .str(n.subnet.description),
                        "gateway": .str(n.gateway.description), "ip_range": .str(n.ipRange.description),
                        "internal": .boolean(n.internal), "labels": .record(n.labels.mapValues { .str($0) }),
                        "options": .record(n.options.mapValues { .str($0) }), "bridge": .str(n.bridge),
                        "created": .str(n.created), "dns": .boolean(n.dns), "mtu": .integer(Int64(n.mtu ?? 1500)),
                        "endpoints": .array(eps)])
    }
}
