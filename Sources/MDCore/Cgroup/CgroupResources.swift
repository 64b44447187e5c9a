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
