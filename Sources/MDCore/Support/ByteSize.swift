/// Sizes as people write them, in Docker's units (its `units.RAMInBytes`): "512m", "1.5g",
/// "10GB", "64KiB", "4096"; powers of 1024, an optional "b" or "ib" after the unit (k, m,
/// g, t, p, any case), one space allowed before it. The one parser of the sizes options take:
/// storage-opt and volume sizes (LoopDevice.size), and through `md.sys.parse_size` every
/// Lua caller (--memory, --keep-storage, --log-opt max-size, the device rates).
public enum ByteSize {
    public enum Problem: Error, Equatable {
        case notASize, tooLarge

        public var reason: String {
            switch self {
            case .notASize: return "expected a size like 100m or 1g"
            case .tooLarge: return "too large"
            }
        }
    }

    static let units: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50]

    /// The bytes `text` stands for; `bare`: what a number with no unit counts (1, bytes;
    /// --memory counts megabytes, as the project it follows). At most Int64.max (Lua's
    /// integers).
    public static func parse(_ text: String, bare: UInt64 = 1) -> Result<UInt64, Problem> {
        var rest = Substring(text.lowercased())
        let bytesSuffix = rest.hasSuffix("b")
        if bytesSuffix { rest = rest.dropLast() }
        let binary = rest.hasSuffix("i")
        if binary { rest = rest.dropLast() }
        var mult: UInt64 = bytesSuffix ? 1 : bare
        if let u = rest.last, let m = units[u] {
            mult = m
            rest = rest.dropLast()
        } else if binary {
            return .failure(.notASize)
        }
        if rest.hasSuffix(" ") { rest = rest.dropLast() }
        let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits: (Substring) -> Bool = { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard let whole = parts.first, digits(whole), parts.count == 1 || digits(parts[1]) else { return .failure(.notASize) }
        guard let n = UInt64(whole) else { return .failure(.tooLarge) }
        let (product, overflow) = n.multipliedReportingOverflow(by: mult)
        guard !overflow else { return .failure(.tooLarge) }
        var bytes = product
        if parts.count == 2, let fraction = Double("0." + parts[1]) {
            let (sum, over) = bytes.addingReportingOverflow(UInt64((fraction * Double(mult)).rounded(.down)))
            guard !over else { return .failure(.tooLarge) }
            bytes = sum
        }
        guard bytes <= UInt64(Int64.max) else { return .failure(.tooLarge) }
        return .success(bytes)
    }
}
