#if canImport(Glibc)
import Glibc
#endif

/// cgroup v2: one directory in the unified hierarchy; controllers enabled down the path.
public struct CgroupV2Driver: CgroupDriver {
    let mount: String
    let parent: String
    let id: String
    /// Enforced by a BPF program on the container's cgroup (nil only for a fake cgroupfs
    /// tree in tests, which cannot hold one).
    var deviceRules: [DeviceRule]? = DeviceRule.defaults
    static let controllers = ["cpu", "cpuset", "memory", "pids", "io"]

    var dir: String { mount + "/" + parent + "/" + id }

    public func create(_ r: CgroupResources) throws {
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            guard errno == ENOENT else { throw EngineError.system("mkdir \(dir)") }
            // The parents first; they stay (see the v1 driver).
            try handControllersDown(making: true)
            try Cgroups.makeDirectory(dir)
        } else if Cgroups.read(dir + "/cgroup.controllers").isEmpty {
            // A parent that a concurrent run has just made and not yet handed the
            // controllers down from (this run's mkdir succeeded in between), or one made by
            // hand: the same writes as that run's (the leaf gets the controllers with them).
            try handControllersDown(making: false)
        }
        // v2 has no devices files: without this program a process with CAP_MKNOD could make
        // and open any device node, the host's disks included.
        if let rules = deviceRules {
            do { try DeviceRule.attachFilter(rules, to: dir) } catch { rmdir(dir); throw error }
        }
        try update(r)
    }

    /// Each level from the mount down to the parent enables the controllers for the next
    /// (the parents are made on the way when `making`).
    func handControllersDown(making: Bool) throws {
        var path = mount
        let available = Set(Cgroups.read(mount + "/cgroup.controllers").split(separator: " ").map(String.init))
        let enable = CgroupV2Driver.controllers.filter(available.contains).map { "+" + $0 }.joined(separator: " ")
        for part in parent.split(separator: "/") {
            if !enable.isEmpty { try? Cgroups.write(path + "/cgroup.subtree_control", enable) }
            path += "/" + part
            if making { try Cgroups.makeDirectory(path) }
        }
        if !enable.isEmpty { try? Cgroups.write(path + "/cgroup.subtree_control", enable) }
    }

    public func update(_ r: CgroupResources) throws {
        let d = dir
        if let l = r.memoryLimit { try Cgroups.write(d + "/memory.max", l < 0 ? "max" : String(l)) }
        if let s = r.memorySwap {
            // v2 counts swap alone; the spec gives memory + swap.
            let swap = s < 0 ? "max" : String(max(0, s - (r.memoryLimit ?? 0)))
            if FileSystem.exists(d + "/memory.swap.max") { try Cgroups.write(d + "/memory.swap.max", swap) }
        }
        if let v = r.memoryReservation { try Cgroups.write(d + "/memory.low", String(v)) }
        if r.cpuQuota != nil || r.cpuPeriod != nil {
            let quota = r.cpuQuota.map { $0 < 0 ? "max" : String($0) } ?? "max"
            try Cgroups.write(d + "/cpu.max", "\(quota) \(r.cpuPeriod ?? 100_000)")
        }
        if let s = r.cpuShares { try Cgroups.write(d + "/cpu.weight", String(CgroupResources.weight(fromShares: s))) }
        if let c = r.cpusetCpus { try Cgroups.write(d + "/cpuset.cpus", c) }
        if let m = r.cpusetMems { try Cgroups.write(d + "/cpuset.mems", m) }
        if let p = r.pidsLimit { try Cgroups.write(d + "/pids.max", p < 0 ? "max" : String(p)) }
        if let w = r.blkioWeight { try Cgroups.write(d + "/io.weight", "default \(CgroupResources.ioWeight(fromBlkio: w))") }
        for line in r.ioMax { try Cgroups.write(d + "/io.max", line) }
        if r.disableOOMKiller { throw EngineError("--oom-kill-disable is not supported on cgroup v2") }
    }

    public func join() throws -> CgroupJoin { try CgroupJoin(directory: dir) }

    public func freeze(_ frozen: Bool) throws {
        try Cgroups.write(dir + "/cgroup.freeze", frozen ? "1" : "0")
        for _ in 0..<5000 {   // up to 5 s, as the v1 driver
            if Cgroups.keyed(dir + "/cgroup.events")["frozen"] == (frozen ? 1 : 0) { return }
            usleep(1000)
        }
        throw EngineError("the cgroup did not settle")
    }

    public func stats() -> CgroupStats {
        var s = CgroupStats()
        s.cpuUsageNanoseconds = (Cgroups.keyed(dir + "/cpu.stat")["usage_usec"] ?? 0) * 1000
        s.memoryUsage = UInt64(Cgroups.read(dir + "/memory.current")) ?? 0
        s.memoryLimit = UInt64(Cgroups.read(dir + "/memory.max")) ?? UInt64.max
        s.pids = UInt64(Cgroups.read(dir + "/pids.current")) ?? 0
        s.oomKills = oomKills()
        for line in Cgroups.read(dir + "/io.stat").split(separator: "\n") {
            for f in line.split(separator: " ") {
                if f.hasPrefix("rbytes=") { s.blockRead += UInt64(f.dropFirst(7)) ?? 0 }
                if f.hasPrefix("wbytes=") { s.blockWrite += UInt64(f.dropFirst(7)) ?? 0 }
            }
        }
        return s
    }

    public func oomKills() -> UInt64 { Cgroups.keyed(dir + "/memory.events")["oom_kill"] ?? 0 }

    public func remove() { rmdir(dir) }
}
