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
            // What a new cgroup copies from its parent is set on the parents we make: a
            // cpuset child gets the parent's cpus and mems with clone_children, a devices
            // child the parent's rules. Each is set up under a name of this process's own and
            // renamed into place (v1 renames a cgroup within its parent), so a concurrent run
            // never makes its cgroup in a parent half set up: a devices parent that already
            // has a child refuses the deny-all its rules start with, a cpuset one without
            // cpus and mems passes none down.
            // (The other controllers' parents hand nothing down: a plain mkdir.)
            var path = mount
            for part in parent.split(separator: "/") {
                path += "/" + part
                if c != "cpuset" && c != "devices" {
                    guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw EngineError.system("mkdir \(path)") }
                    continue
                }
                if FileSystem.isDirectory(path) { continue }
                CgroupV1Driver.removeStaleStaged(path)
                let staged = path + ".new-\(getpid())"
                guard mkdir(staged, 0o755) == 0 else { throw EngineError.system("mkdir \(staged)") }
                do {
                    if c == "cpuset" {
                        CgroupV1Driver.copyCpusetFromParent(staged)
                        try? Cgroups.write(staged + "/cgroup.clone_children", "1")
                    }
                    if c == "devices" { try CgroupV1Driver.restrictDevices(staged) }
                } catch {
                    rmdir(staged)
                    throw error
                }
                // Another run's parent may have come first: it is the same, this one goes.
                if rename(staged, path) != 0 { rmdir(staged) }
            }
            try Cgroups.makeDirectory(leaf)
        }
        // A cpuset cgroup takes no process until it has cpus and mems: a parent made without
        // them (by hand, or by an older mdlua that did not stage its parents) hands none
        // down: each empty level is filled from the one above.
        if let mount = controllers["cpuset"], let d = dir("cpuset"), Cgroups.read(d + "/cpuset.mems").isEmpty {
            var path = mount
            for part in (parent + "/" + id).split(separator: "/") {
                path += "/" + part
                if Cgroups.read(path + "/cpuset.mems").isEmpty { CgroupV1Driver.copyCpusetFromParent(path) }
            }
        }
        // The container's device rules: inherited from a parent mdlua made (one read to be
        // sure), written otherwise (a parent made by someone else may allow more).
        if let d = dir("devices"), Cgroups.read(d + "/devices.list") != CgroupV1Driver.defaultDeviceList {
            try CgroupV1Driver.restrictDevices(d)
        }
        try write(r, fresh: true)
    }

    /// Docker's default rules, as devices.list shows them once written.
    /// Spelled out: every container's start compares against it, and deriving it from
    /// DeviceRule.defaults parses 13 rules first (CgroupTests checks that the two agree).
    static let defaultDeviceList = """
        c *:* m
        b *:* m
        c 1:3 rwm
        c 1:5 rwm
        c 1:7 rwm
        c 1:8 rwm
        c 1:9 rwm
        c 5:0 rwm
        c 5:1 rwm
        c 5:2 rwm
        c 136:* rwm
        c 10:200 rwm
        """

    /// The parents staged for `path` by processes that died before renaming them (killed):
    /// empty cgroups, removed.
    static func removeStaleStaged(_ path: String) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let dir = String(path[..<slash]), prefix = String(path[path.index(after: slash)...]) + ".new-"
        for name in FileSystem.list(dir) where name.hasPrefix(prefix) {
            if let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0 && errno == ESRCH { rmdir(dir + "/" + name) }
        }
    }

    /// A cpuset cgroup starts with no cpus and mems, and takes no process until it has some.
    static func copyCpusetFromParent(_ dir: String) {
        for f in ["cpuset.cpus", "cpuset.mems"] { try? Cgroups.write(dir + "/" + f, Cgroups.read(dir.parentPath + "/" + f)) }
    }

    static func restrictDevices(_ dir: String) throws {
        // One open file per list: each write() is one rule.
        try Cgroups.write(dir + "/devices.deny", DeviceRule.defaults.filter { !$0.allow }.map(\.text))
        try Cgroups.write(dir + "/devices.allow", DeviceRule.defaults.filter(\.allow).map(\.text))
    }

    public func update(_ r: CgroupResources) throws { try write(r, fresh: false) }

    /// The limits; `fresh`: a cgroup just made, whose memsw is still unlimited.
    func write(_ r: CgroupResources, fresh: Bool) throws {
        if let d = dir("memory") {
            if let l = r.memoryLimit {
                // The sum (memsw) must stay >= the memory limit: raise it first when growing.
                // No memsw file: the kernel does not account swap (swapaccount=0).
                let memsw = d + "/memory.memsw.limit_in_bytes"
                if r.memorySwap != nil && !fresh { _ = Cgroups.attempt(memsw, ["-1"]) }
                try Cgroups.write(d + "/memory.limit_in_bytes", String(l))
                if let s = r.memorySwap {
                    let (code, _) = Cgroups.attempt(memsw, [String(s)])
                    guard code == 0 || code == ENOENT else { throw EngineError.system("write \(s) to \(memsw)", code) }
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
        if let d = dir("blkio") {
            for (file, list) in [("read_bps_device", r.readBps), ("write_bps_device", r.writeBps),
                                 ("read_iops_device", r.readIOPS), ("write_iops_device", r.writeIOPS)] {
                for rate in list { try Cgroups.write(d + "/blkio.throttle." + file, "\(rate.device) \(rate.rate)") }
            }
        }
    }

    public func join() throws -> CgroupJoin {
        try CgroupJoin(tasks: CgroupV1Driver.used.compactMap { dir($0).map { $0 + "/tasks" } })
    }

    public func freeze(_ frozen: Bool) throws {
        guard let d = dir("freezer") else { throw EngineError("no freezer cgroup on this host") }
        let want = frozen ? "FROZEN" : "THAWED"
        // The kernel freezes asynchronously: wait until it says so (up to 5 s: a busy host
        // takes more than a second). A v1 freeze can stall in FREEZING while tasks fork;
        // writing the state again restarts it.
        for i in 0..<5000 {
            if i % 500 == 0 { try Cgroups.write(d + "/freezer.state", want) }
            if Cgroups.read(d + "/freezer.state") == want { return }
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
