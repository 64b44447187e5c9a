import CKernel

/// Linux capability names (as OCI writes them, `CAP_CHOWN`) and their numbers.
public enum Capabilities {
    /// By number, from the kernel headers mdlua was built with (mdl_capability_name).
    public static let names: [String] = {
        var list: [String] = []
        while let name = mdl_capability_name(Int32(list.count)) { list.append(String(cString: name)) }
        return list
    }()

    /// A bit mask of the named capabilities. Unknown names are an error.
    public static func mask(_ list: [String]) throws -> UInt64 {
        var m: UInt64 = 0
        for n in list {
            let name = n.uppercased().hasPrefix("CAP_") ? n.uppercased() : "CAP_" + n.uppercased()
            guard let i = names.firstIndex(of: name) else { throw EngineError("unknown capability \"\(n)\"") }
            m |= 1 << UInt64(i)
        }
        return m
    }
}
