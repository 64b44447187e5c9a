#if canImport(Glibc)
import Glibc
#endif

/// The kernel features a bridge network rests on, and the one-line error when the kernel
/// lacks one: a run on such a network fails before its container starts (as dockerd refuses
/// to start without them), saying what is missing and that `--network none` and `host`
/// need none of it. The kernel answers EOPNOTSUPP for a link kind it does not know and
/// ENOENT for an nf_tables chain type or expression it has no module for, once it failed
/// to load one (a host without modprobe, a kernel built without it).
enum KernelSupport {
    enum Feature {
        case bridge, veth, nfTables

        var what: String {
            switch self {
            case .bridge: return "Linux bridges (CONFIG_BRIDGE, module bridge)"
            case .veth: return "veth pairs (CONFIG_VETH, module veth)"
            case .nfTables: return "nf_tables with NAT (modules nf_tables, nft_chain_nat, nft_nat, nft_masq, nft_ct, nft_fib_ipv4)"
            }
        }
    }

    static func explain(_ e: NetlinkError, missing f: Feature) -> Error {
        let unsupported = [EOPNOTSUPP, EPROTONOSUPPORT, EAFNOSUPPORT] + (f == .nfTables ? [ENOENT] : [])
        guard unsupported.contains(e.code) else { return e }
        return NetlinkError(code: e.code, message: "bridge networks need \(f.what), which this kernel does not offer "
                            + "(\(e.message)); --network none or host run without them")
    }
}
