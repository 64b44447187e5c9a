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

    /// Docker's default device rules: nothing but the usual character devices and pts.
    static let deviceRules = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                              "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"]

    public func create(_ r: CgroupResources) throws {
        for c in CgroupV1Driver.used {
            guard let mount = controllers[c] else { continue }
            // The parent first; cpuset needs its cpus and mems filled in before any child can.
            var path = mount
            for part in (parent + "/" + id).split(separator: "/") {
                path += "/" + part
                let fresh = !FileSystem.exists(path)
                try Cgroups.makeDirectory(path)
                if fresh && c == "cpuset" {
                    let up = path.parentPath
                    for f in ["cpuset.cpus", "cpuset.mems"] {
                        try? Cgroups.write(path + "/" + f, Cgroups.read(up + "/" + f))
                    }
                }
            }
        }
        if let d = dir("devices") {
            try Cgroups.write(d + "/devices.deny", "a")
            for rule in CgroupV1Driver.deviceRules { try Cgroups.write(d + "/devices.allow", rule) }
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
            s.oomKills = Cgroups.keyed(d + "/memory.oom_control")["oom_kill"] ?? 0
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

    public func remove() {
        for c in CgroupV1Driver.used {
            guard let mount = controllers[c] else { continue }
            var path = mount + "/" + parent + "/" + id
            rmdir(path)
            // The parents we made, when nothing else is in them.
            for _ in parent.split(separator: "/") {
                path = path.parentPath
                if rmdir(path) != 0 { break }
            }
        }
    }
}
