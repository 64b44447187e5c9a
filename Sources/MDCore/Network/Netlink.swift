import CKernel

/// The engine's calls into mdl_rtnl.c: links through rtnetlink, in process.
enum Netlink {
    private static func check(_ what: () -> Int32, _ err: inout [CChar]) throws {
        if what() < 0 { throw EngineError(String(cString: err)) }
    }

    /// `mtu` nil: the kernel's (1500).
    static func bridgeUp(_ name: String, address: IPv4Address, prefix: Int, mtu: Int?) throws {
        var err = [CChar](repeating: 0, count: 256)
        let rc = mdl_rtnl_bridge_up(name, address.value, Int32(prefix), UInt32(mtu ?? 0), &err, err.count)
        if rc < 0 { throw KernelSupport.explain(NetlinkError(code: -rc, message: String(cString: err)), missing: .bridge) }
    }

    static func deleteLink(_ name: String) throws {
        var err = [CChar](repeating: 0, count: 256)
        if mdl_rtnl_link_del(name, &err, err.count) < 0 { throw EngineError(String(cString: err)) }
    }

    static func linkExists(_ name: String) -> Bool { mdl_rtnl_link_exists(name) == 1 }

    /// The veth pair of a container on `bridge`; its end inside is `peer`. Both ends get
    /// `mtu` (nil: the kernel's, 1500).
    static func attachVeth(netns: Int32, host: String, bridge: String, peer: String, address: IPv4Address, prefix: Int,
                           gateway: IPv4Address?, mtu: Int?) throws {
        var err = [CChar](repeating: 0, count: 256)
        let rc = mdl_rtnl_veth_attach(netns, host, bridge, peer, address.value, Int32(prefix), gateway?.value ?? 0,
                                      UInt32(mtu ?? 0), &err, err.count)
        if rc < 0 { throw KernelSupport.explain(NetlinkError(code: -rc, message: String(cString: err)), missing: .veth) }
    }
}

struct NetlinkError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var description: String { message }
}
