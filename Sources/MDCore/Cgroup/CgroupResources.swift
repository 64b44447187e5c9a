/// A container's resource limits, from the OCI spec's `linux.resources`.
public struct CgroupResources: Equatable {
    public var memoryLimit: Int64?          // bytes
    public var memorySwap: Int64?           // memory + swap, bytes; -1 unlimited
    public var memoryReservation: Int64?
    public var cpuShares: UInt64?
    public var cpuQuota: Int64?             // microseconds per period; -1 unlimited
    public var cpuPeriod: UInt64?
    public var cpusetCpus: String?
    public var cpusetMems: String?
    public var pidsLimit: Int64?            // -1 unlimited
    public var blkioWeight: UInt16?
    /// Per-device throttles: bytes or IOs per second.
    public var readBps: [DeviceRate] = []
    public var writeBps: [DeviceRate] = []
    public var readIOPS: [DeviceRate] = []
    public var writeIOPS: [DeviceRate] = []
    public var disableOOMKiller: Bool = false

    public struct DeviceRate: Equatable {
        public var major: Int64
        public var minor: Int64
        public var rate: UInt64
        public var device: String { "\(major):\(minor)" }
    }

    public init() {}

    public init(json r: JSON?) {
        guard let r else { return }
        memoryLimit = r["memory"]?["limit"]?.int
        memorySwap = r["memory"]?["swap"]?.int
        memoryReservation = r["memory"]?["reservation"]?.int
        disableOOMKiller = r["memory"]?["disableOOMKiller"] == .bool(true)
        cpuShares = r["cpu"]?["shares"]?.int.map { UInt64($0) }
        cpuQuota = r["cpu"]?["quota"]?.int
        cpuPeriod = r["cpu"]?["period"]?.int.map { UInt64($0) }
        cpusetCpus = r["cpu"]?["cpus"]?.string
        cpusetMems = r["cpu"]?["mems"]?.string
        pidsLimit = r["pids"]?["limit"]?.int
        blkioWeight = r["blockIO"]?["weight"]?.int.map { UInt16($0) }
        func rates(_ key: String) -> [DeviceRate] {
            (r["blockIO"]?[key]?.array ?? []).compactMap { d in
                guard let major = d["major"]?.int, let minor = d["minor"]?.int, let rate = d["rate"]?.int, rate >= 0 else { return nil }
                return DeviceRate(major: major, minor: minor, rate: UInt64(rate))
            }
        }
        readBps = rates("throttleReadBpsDevice")
        writeBps = rates("throttleWriteBpsDevice")
        readIOPS = rates("throttleReadIOPSDevice")
        writeIOPS = rates("throttleWriteIOPSDevice")
    }

    /// The limits the engine refuses whatever wrote the spec (the CLI checks the same earlier,
    /// in its flags' words): a container that could not start or would harm the host.
    public func validate() throws {
        func fail(_ what: String, _ why: String) throws { throw EngineError("config.json: linux.resources.\(what) \(why)") }
        if let m = memoryLimit, m >= 0, m < CgroupResources.minimumMemory {
            try fail("memory.limit", "\(m) is below the minimum of 6 MiB (a container's start-up needs that much)")
        }
        if let s = memorySwap, s >= 0, let m = memoryLimit, m >= 0, s < m {
            try fail("memory.swap", "\(s) is below memory.limit \(m) (it is memory plus swap)")
        }
        if let r = memoryReservation, r < 0 { try fail("memory.reservation", "\(r) is negative") }
        if let c = cpuShares, c != 0, !(2...262_144).contains(c) { try fail("cpu.shares", "\(c) is outside 2 to 262144") }
        if let q = cpuQuota, q != -1, q < 1000 { try fail("cpu.quota", "\(q) is below 1000 microseconds (or -1)") }
        if let p = cpuPeriod, !(1000...1_000_000).contains(p) { try fail("cpu.period", "\(p) is outside 1000 to 1000000") }
        for (key, list) in [("cpu.cpus", cpusetCpus), ("cpu.mems", cpusetMems)] {
            if let l = list, !CgroupResources.isCPUList(l) { try fail(key, "\"\(l)\" is not a list like 0-3,5") }
        }
        if let p = pidsLimit, p == 0 || p < -1 { try fail("pids.limit", "\(p) is neither positive nor -1") }
        if let w = blkioWeight, !(10...1000).contains(w) { try fail("blockIO.weight", "\(w) is outside 10 to 1000") }
    }

    /// 6 MiB, as Docker: below it a container's first process may not even start.
    public static let minimumMemory: Int64 = 6 << 20

    /// "0-3,5": numbers and ascending ranges, comma-separated.
    static func isCPUList(_ s: String) -> Bool {
        !s.isEmpty && s.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { part in
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let a = UInt(ends[0]) else { return false }
            return ends.count == 1 || (UInt(ends[1]).map { a <= $0 } ?? false)
        }
    }

    /// cgroup v2's io.max lines: one per device, with the limits given for it.
    public var ioMax: [String] {
        var devices: [String] = []
        var keys: [String: [String]] = [:]
        for (key, list) in [("rbps", readBps), ("wbps", writeBps), ("riops", readIOPS), ("wiops", writeIOPS)] {
            for d in list {
                if keys[d.device] == nil { devices.append(d.device) }
                keys[d.device, default: []].append("\(key)=\(d.rate)")
            }
        }
        return devices.map { ([$0] + keys[$0]!).joined(separator: " ") }
    }

    /// cgroup v2's cpu.weight from v1's cpu.shares, converted as runc does:
    /// [2, 262144] maps onto [1, 10000].
    public static func weight(fromShares shares: UInt64) -> UInt64 {
        if shares == 0 { return 100 }
        return 1 + ((max(shares, 2) - 2) * 9999) / 262142
    }

    /// io.weight (v2, [1, 10000]) from blkio.weight (v1, [10, 1000]), as runc does.
    public static func ioWeight(fromBlkio w: UInt16) -> UInt64 {
        1 + (UInt64(w) - 10) * 9999 / 990
    }
}
