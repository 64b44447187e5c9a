import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// mdlua's nf_tables rules for the networks of one state root, in a table of its own
/// (`ip mdlua_<tag>`, NetworkStore.tag) that no other software writes and mdlua never
/// leaves:
///
///     set bridges   { type ifname }                      the bridges of this root
///     map ports     { proto . port : addr . port }        published on every address
///     map ports_ip  { addr . proto . port : addr . port } published on one address
///     prerouting, output (nat):  fib daddr type local  dnat to the maps' values
///     postrouting (nat):  a network's subnet out of any other link: masquerade; DNAT'd
///                         traffic from 127.0.0.0/8 or from the bridge's own subnet into the
///                         bridge (localhost, hairpin): masquerade
///     forward (filter):   DNAT'd traffic: accept; from a bridge into another of ours: drop;
///                         internal networks: nothing in or out but their own bridge
///
/// A change of networks rewrites the whole table in one batch (delete and add, atomic); a
/// container's start and exit only add and delete its elements of the maps.
enum Firewall {
    static let reg1 = UInt32(MDL_NFT_REG_1)
    static let reg32 = (UInt32(MDL_NFT_REG32_00), UInt32(MDL_NFT_REG32_00) + 1, UInt32(MDL_NFT_REG32_00) + 2)
    // nft's type numbers, for listings (`nft list table`).
    static let typeAddr: UInt32 = 7, typeProto: UInt32 = 12, typeService: UInt32 = 13, typeIfname: UInt32 = 41
    static let bridgesID: UInt32 = 1, portsID: UInt32 = 2, portsIPID: UInt32 = 3

    /// Rewrites the table from the networks (nil: none has a bridge, the table goes).
    static func rebuild(table: String, networks: [Network]) throws {
        guard let n = mdl_nft_new() else { throw EngineError("nf_tables: out of memory") }
        defer { mdl_nft_free(n) }
        mdl_nft_table_delete(n, table)
        if !networks.isEmpty {
            mdl_nft_table_add(n, table)
            mdl_nft_set_add(n, table, "bridges", bridgesID, typeIfname, 16, 0, 0)
            mdl_nft_set_add(n, table, "ports", portsID, typeProto << 6 | typeService, 8, typeAddr << 6 | typeService, 8)
            mdl_nft_set_add(n, table, "ports_ip", portsIPID, (typeAddr << 6 | typeProto) << 6 | typeService, 12,
                            typeAddr << 6 | typeService, 8)
            mdl_nft_chain_add(n, table, "prerouting", "nat", UInt32(MDL_NF_INET_PRE_ROUTING), -100)
            mdl_nft_chain_add(n, table, "output", "nat", UInt32(MDL_NF_INET_LOCAL_OUT), -100)
            mdl_nft_chain_add(n, table, "postrouting", "nat", UInt32(MDL_NF_INET_POST_ROUTING), 100)
            mdl_nft_chain_add(n, table, "forward", "filter", UInt32(MDL_NF_INET_FORWARD), 0)
            for chain in ["prerouting", "output"] { dnatRules(n, table, chain) }
            // forward: connections to a published port pass between networks.
            mdl_nft_rule_begin(n, table, "forward")
            ctDNAT(n)
            mdl_nft_verdict(n, Int32(MDL_NF_ACCEPT))
            mdl_nft_rule_end(n)
            for net in networks {
                bytes(ifname(net.bridge)) { mdl_nft_element(n, table, "bridges", 1, $0, 16, nil, 0) }
                networkRules(n, table, net)
                for ep in net.endpoints.values where ep.active {
                    for p in ep.ports { element(n, table, p, ep.address, add: true) }
                }
            }
        }
        try commit(n)
    }

    /// Adds (or deletes) a container's published ports.
    static func publish(table: String, address: IPv4Address, ports: [PortBinding], add: Bool) throws {
        guard !ports.isEmpty else { return }
        guard let n = mdl_nft_new() else { throw EngineError("nf_tables: out of memory") }
        defer { mdl_nft_free(n) }
        for p in ports { element(n, table, p, address, add: add) }
        try commit(n)
    }

    private static func commit(_ n: OpaquePointer) throws {
        var err = [CChar](repeating: 0, count: 256)
        let rc = mdl_nft_commit(n, &err, err.count)
        if rc < 0 { throw KernelSupport.explain(NetlinkError(code: -rc, message: String(cString: err)), missing: .nfTables) }
    }

    private static func bytes(_ b: [UInt8], _ body: (UnsafeRawPointer) -> Void) {
        b.withUnsafeBytes { body($0.baseAddress!) }
    }

    private static func ifname(_ s: String) -> [UInt8] {
        var b = Array(s.utf8.prefix(15))
        b += [UInt8](repeating: 0, count: 16 - b.count)
        return b
    }

    private static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    private static func native32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
    private static func port(_ p: UInt16) -> [UInt8] { [UInt8(p >> 8), UInt8(p & 255), 0, 0] }

    private static func element(_ n: OpaquePointer, _ table: String, _ p: PortBinding, _ address: IPv4Address, add: Bool) {
        let data = be32(address.value) + port(p.containerPort)
        let proto: [UInt8] = [p.protoNumber, 0, 0, 0]
        if let ip = IPv4Address(p.hostIP) {
            let key = be32(ip.value) + proto + port(p.hostPort)
            bytes(key) { k in bytes(data) { d in mdl_nft_element(n, table, "ports_ip", add ? 1 : 0, k, 12, d, 8) } }
        } else {
            let key = proto + port(p.hostPort)
            bytes(key) { k in bytes(data) { d in mdl_nft_element(n, table, "ports", add ? 1 : 0, k, 8, d, 8) } }
        }
    }

    private static func cmp(_ n: OpaquePointer, _ reg: UInt32, _ op: Int32, _ data: [UInt8]) {
        bytes(data) { mdl_nft_cmp(n, reg, UInt32(op), $0, data.count) }
    }

    private static func meta(_ n: OpaquePointer, _ key: Int32, _ reg: UInt32) { mdl_nft_meta(n, UInt32(key), reg) }

    /// `fib daddr type local`: the packet is for this host.
    private static func toLocal(_ n: OpaquePointer) {
        mdl_nft_fib_daddr_type(n, reg1)
        cmp(n, reg1, Int32(MDL_NFT_CMP_EQ), native32(UInt32(MDL_RTN_LOCAL)))
    }

    private static func ctDNAT(_ n: OpaquePointer) {
        mdl_nft_ct(n, UInt32(MDL_NFT_CT_STATUS), reg1)
        let mask = native32(UInt32(MDL_IPS_DST_NAT)), zero = native32(0)
        bytes(mask) { m in bytes(zero) { z in mdl_nft_bitwise(n, reg1, m, z, 4) } }
        cmp(n, reg1, Int32(MDL_NFT_CMP_NEQ), zero)
    }

    private static func saddrIn(_ n: OpaquePointer, _ s: IPv4Subnet) {
        mdl_nft_payload(n, UInt32(MDL_NFT_PAYLOAD_NETWORK_HEADER), 12, 4, reg1)
        let mask = be32(s.mask), zero = be32(0)
        bytes(mask) { m in bytes(zero) { z in mdl_nft_bitwise(n, reg1, m, z, 4) } }
        cmp(n, reg1, Int32(MDL_NFT_CMP_EQ), be32(s.network.value))
    }

    private static func dnatRules(_ n: OpaquePointer, _ table: String, _ chain: String) {
        let net = UInt32(MDL_NFT_PAYLOAD_NETWORK_HEADER), transport = UInt32(MDL_NFT_PAYLOAD_TRANSPORT_HEADER)
        // dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
        mdl_nft_rule_begin(n, table, chain)
        toLocal(n)
        mdl_nft_payload(n, net, 16, 4, reg32.0)
        meta(n, Int32(MDL_NFT_META_L4PROTO), reg32.1)
        mdl_nft_payload(n, transport, 2, 2, reg32.2)
        mdl_nft_lookup(n, "ports_ip", portsIPID, reg32.0, Int32(reg32.0), 0)
        mdl_nft_dnat(n, reg32.0, reg32.1)
        mdl_nft_rule_end(n)
        // dnat ip to meta l4proto . th dport map @ports
        mdl_nft_rule_begin(n, table, chain)
        toLocal(n)
        meta(n, Int32(MDL_NFT_META_L4PROTO), reg32.0)
        mdl_nft_payload(n, transport, 2, 2, reg32.1)
        mdl_nft_lookup(n, "ports", portsID, reg32.0, Int32(reg32.0), 0)
        mdl_nft_dnat(n, reg32.0, reg32.1)
        mdl_nft_rule_end(n)
    }

    private static func networkRules(_ n: OpaquePointer, _ table: String, _ net: Network) {
        let br = ifname(net.bridge)
        if !net.internal {
            // ip saddr SUBNET oifname != BRIDGE masquerade
            mdl_nft_rule_begin(n, table, "postrouting")
            saddrIn(n, net.subnet)
            meta(n, Int32(MDL_NFT_META_OIFNAME), reg1)
            cmp(n, reg1, Int32(MDL_NFT_CMP_NEQ), br)
            mdl_nft_masquerade(n)
            mdl_nft_rule_end(n)
        }
        // oifname BRIDGE ct status dnat ip saddr {127.0.0.0/8, SUBNET} masquerade
        for source in [IPv4Subnet("127.0.0.0/8")!, net.subnet] {
            mdl_nft_rule_begin(n, table, "postrouting")
            meta(n, Int32(MDL_NFT_META_OIFNAME), reg1)
            cmp(n, reg1, Int32(MDL_NFT_CMP_EQ), br)
            ctDNAT(n)
            saddrIn(n, source)
            mdl_nft_masquerade(n)
            mdl_nft_rule_end(n)
        }
        // iifname BRIDGE oifname != BRIDGE oifname @bridges drop
        mdl_nft_rule_begin(n, table, "forward")
        meta(n, Int32(MDL_NFT_META_IIFNAME), reg1)
        cmp(n, reg1, Int32(MDL_NFT_CMP_EQ), br)
        meta(n, Int32(MDL_NFT_META_OIFNAME), reg1)
        cmp(n, reg1, Int32(MDL_NFT_CMP_NEQ), br)
        mdl_nft_lookup(n, "bridges", bridgesID, reg1, -1, 0)
        mdl_nft_verdict(n, Int32(MDL_NF_DROP))
        mdl_nft_rule_end(n)
        if net.internal {
            for (from, to) in [(Int32(MDL_NFT_META_IIFNAME), Int32(MDL_NFT_META_OIFNAME)), (Int32(MDL_NFT_META_OIFNAME), Int32(MDL_NFT_META_IIFNAME))] {
                mdl_nft_rule_begin(n, table, "forward")
                meta(n, from, reg1)
                cmp(n, reg1, Int32(MDL_NFT_CMP_EQ), br)
                meta(n, to, reg1)
                cmp(n, reg1, Int32(MDL_NFT_CMP_NEQ), br)
                mdl_nft_verdict(n, Int32(MDL_NF_DROP))
                mdl_nft_rule_end(n)
            }
        }
    }
}
