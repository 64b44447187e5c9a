#if canImport(Glibc)
import Glibc
#endif

/// cgroup v1: one directory per controller hierarchy.
public struct CgroupV1Driver: CgroupDriver {
    let controllers: [String: String]
    let parent: String
    let id: String
    static let used = ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"]

    func dir(_ controller: String) -> String? {
        controllers[controller].map { $0 + "/" + parent + "/" + id }
    }

    public func create(_ r: CgroupResources) throws {
        for c in CgroupV1Driver.used {
            guard let mount = controllers[c], let leaf = dir(c) else { continue }
            if mkdir(leaf, 0o755) == 0 || errno == EEXIST { continue }
            guard errno == ENOENT else { throw EngineError.system("mkdir \(leaf)") }
            // The parents first (they stay: making and removing them on every run costs
            // more than the container's own cgroup, and races with a concurrent run).
            // A cpuset cgroup starts with no cpus and mems; clone_children makes a new
            // child start with its parent's.
            var path = mount
            for part in parent.split(separator: "/") {
                path += "/" + part
                guard mkdir(path, 0o755) == 0 else {
                    if errno == EEXIST { continue }
                    throw EngineError.system("mkdir \(path)")
                }
                if c == "cpuset" {
                    for f in ["cpuset.cpus", "cpuset.mems"] { try? Cgroups.write(path + "/" + f, Cgroups.read(path.parentPath + "/" + f)) }
                    try? Cgroups.write(path + "/cgroup.clone_children", "1")
                }
            }
            try Cgroups.makeDirectory(leaf)
        }
        if let d = dir("cpuset"), Cgroups.read(d + "/cpuset.cpus").isEmpty {
            // A parent made without clone_children (by hand, or an older mdlua).
            for f in ["cpuset.cpus", "cpuset.mems"] { try? Cgroups.write(d + "/" + f, Cgroups.read(d.parentPath + "/" + f)) }
        }
        if let d = dir("devices") {
            // One open file per list: each write() is one rule.
            try Cgroups.write(d + "/devices.deny", DeviceRule.defaults.filter { !$0.allow }.map(\.text))
            try Cgroups.write(d + "/devices.allow", DeviceRule.defaults.filter(\.allow).map(\.text))
        }
        try update(r)
    }

    public func update(_ r: CgroupResources) throws {
        if let d = dir("memory") {
            if let l = r.memoryLimit {
                // The sum (memsw) must stay >= the memory limit: raise it first when growing.
                let memsw = d + "/memory.memsw.limit_in_bytes"
                let hasSwapAccounting = FileSystem.exists(memsw)
                if hasSwapAccounting, let s = r.memorySwap {
                    try? Cgroups.write(memsw, "-1")
                    try Cgroups.write(d + "/memory.limit_in_bytes", String(l))
                    try Cgroups.write(memsw, String(s))
                } else {
                    try Cgroups.write(d + "/memory.limit_in_bytes", String(l))
                }
            }
            if let v = r.memoryReservation { try Cgroups.write(d + "/memory.soft_limit_in_bytes", String(v)) }
            if r.disableOOMKiller { try Cgroups.write(d + "/memory.oom_control", "1") }
        }
        if let d = dir("cpu") {
            if let s = r.cpuShares { try Cgroups.write(d + "/cpu.shares", String(s)) }
            if let p = r.cpuPeriod { try Cgroups.write(d + "/cpu.cfs_period_us", String(p)) }
            if let q = r.cpuQuota { try Cgroups.write(d + "/cpu.cfs_quota_us", String(q)) }
        }
        if let d = dir("cpuset") {
            if let c = r.cpusetCpus { try Cgroups.write(d + "/cpuset.cpus", c) }
            if let m = r.cpusetMems { try Cgroups.write(d + "/cpuset.mems", m) }
        }
        if let d = dir("pids"), let p = r.pidsLimit { try Cgroups.write(d + "/pids.max", p < 0 ? "max" : String(p)) }
        if let d = dir("blkio"), let w = r.blkioWeight {
            let f = FileSystem.exists(d + "/blkio.weight") ? "/blkio.weight" : "/blkio.bfq.weight"
            try Cgroups.write(d + f, String(w))
        }
    }

    public func add(pid: Int32) throws {
        for c in CgroupV1Driver.used { if let d = dir(c) { try Cgroups.write(d + "/cgroup.procs", String(pid)) } }
    }

    public func freeze(_ frozen: Bool) throws {
        guard let d = dir("freezer") else { throw EngineError("no freezer cgroup on this host") }
        try Cgroups.write(d + "/freezer.state", frozen ? "FROZEN" : "THAWED")
        // The kernel freezes asynchronously: wait until it says so.
        for _ in 0..<1000 {
            let s = Cgroups.read(d + "/freezer.state")
            if s == (frozen ? "FROZEN" : "THAWED") { return }
            usleep(1000)
        }
        throw EngineError("the freezer did not settle")
    }

    public func stats() -> CgroupStats {
        var s = CgroupStats()
        if let d = dir("cpuacct") { s.cpuUsageNanoseconds = UInt64(Cgroups.read(d + "/cpuacct.usage")) ?? 0 }
        if let d = dir("memory") {
            s.memoryUsage = UInt64(Cgroups.read(d + "/memory.usage_in_bytes")) ?? 0
            s.memoryLimit = UInt64(Cgroups.read(d + "/memory.limit_in_bytes")) ?? 0
            s.oomKills = oomKills()
        }
        if let d = dir("pids") { s.pids = UInt64(Cgroups.read(d + "/pids.current")) ?? 0 }
        if let d = dir("blkio") {
            for line in Cgroups.read(d + "/blkio.throttle.io_service_bytes").split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count == 3, let v = UInt64(f[2]) else { continue }
                if f[1] == "Read" { s.blockRead += v } else if f[1] == "Write" { s.blockWrite += v }
            }
        }
        return s
    }

    public func oomKills() -> UInt64 {
        dir("memory").map { Cgroups.keyed($0 + "/memory.oom_control")["oom_kill"] ?? 0 } ?? 0
    }

    public func remove() {
        for c in CgroupV1Driver.used { if let d = dir(c) { rmdir(d) } }
    }
}
