#if canImport(Glibc)
import Glibc
#endif

/// What is left of a container when its record cannot be trusted (its monitor died, the
/// record is damaged or gone): the processes in its cgroups, which the kernel knows whatever
/// the record says, and the cgroups themselves. Used by the repair of a record
/// (ContainerStore.repaired), by `rm` and by `system check`.
public enum ContainerReaper {
    /// The hierarchies' mount points, each once (v1 mounts cpu and cpuacct together).
    static func hierarchies(_ layout: CgroupLayout = .current()) -> [String] {
        switch layout {
        case .v1(let controllers, _): return Array(Set(controllers.values)).sorted()
        case .v2(let mount): return [mount]
        }
    }

    /// The container's cgroup directories that exist: `<hierarchy>/<parent>/<id>`, or, when
    /// the parent is not known (config.json is unreadable), any directory named `id` up to
    /// four levels down.
    public static func cgroupDirectories(id: String, parent: String?) -> [String] {
        var out: [String] = []
        for h in hierarchies() {
            if let p = parent {
                let d = h + "/" + p + "/" + id
                if FileSystem.isDirectory(d) { out.append(d) }
            } else {
                search(h, for: id, depth: 4, into: &out)
            }
        }
        return out
    }

    static func search(_ dir: String, for name: String, depth: Int, into out: inout [String]) {
        guard depth > 0 else { return }
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let entries = (try? FileSystem.entries(fd, path: dir)) ?? []
        close(fd)
        for e in entries where e.isDirectory {
            if e.name == name { out.append(dir + "/" + name) } else { search(dir + "/" + e.name, for: name, depth: depth - 1, into: &out) }
        }
    }

    /// The processes in these cgroups.
    public static func processes(_ dirs: [String]) -> Set<Int32> {
        var pids: Set<Int32> = []
        for d in dirs {
            for line in Cgroups.read(d + "/cgroup.procs").split(separator: "\n") { if let p = Int32(line) { pids.insert(p) } }
        }
        return pids
    }

    /// SIGKILLs every process in the cgroups (thawed first: a frozen process does not die)
    /// until none is left, for up to `timeout` seconds. Returns how many it found.
    @discardableResult
    public static func killAll(_ dirs: [String], timeout: Double = 5) -> Int {
        var seen: Set<Int32> = []
        let deadline = now() + timeout
        var thawed = false
        while true {
            let pids = processes(dirs)
            if pids.isEmpty { break }
            if !thawed {
                for d in dirs {
                    if FileSystem.exists(d + "/freezer.state") { try? Cgroups.write(d + "/freezer.state", "THAWED") }
                    if FileSystem.exists(d + "/cgroup.freeze") { try? Cgroups.write(d + "/cgroup.freeze", "0") }
                    if FileSystem.exists(d + "/cgroup.kill") { try? Cgroups.write(d + "/cgroup.kill", "1") }
                }
                thawed = true
            }
            for p in pids { kill(p, SIGKILL) }
            seen.formUnion(pids)
            if now() >= deadline { break }
            usleep(2000)
        }
        return seen.count
    }

    /// Kills what is in the cgroups, then removes them (a cgroup is removable once its
    /// processes have exited). Returns the ones that could not be removed.
    @discardableResult
    public static func removeCgroups(_ dirs: [String], timeout: Double = 5) -> [String] {
        var left = dirs.filter { rmdir($0) != 0 && errno != ENOENT }
        guard !left.isEmpty else { return [] }
        killAll(left, timeout: timeout)
        let deadline = now() + timeout
        while !left.isEmpty {
            left = left.filter { rmdir($0) != 0 && errno != ENOENT }
            if left.isEmpty || now() >= deadline { break }
            usleep(2000)
        }
        return left
    }

    /// The monitors of container `id` under `root` (`mdlua --internal-monitor ROOT ID FD`),
    /// found through /proc: the record that names them may be gone.
    public static func monitors(root: String, id: String) -> [Int32] {
        let want = Array("--internal-monitor\0\(root)\0\(id)\0".utf8)
        return FileSystem.list("/proc").compactMap { name -> Int32? in
            guard let pid = Int32(name), pid != getpid(),
                  let cmd = try? FileSystem.readFile("/proc/\(name)/cmdline"), cmd.count > want.count else { return nil }
            return contains(cmd, want) ? pid : nil
        }
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
