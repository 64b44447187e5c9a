import CKernel

/// Which cgroup hierarchies this host has, read from /proc/self/mountinfo: pure v2, pure
/// v1, or hybrid (v1 controllers with a cgroup2 mount beside them, as on this machine).
public enum CgroupLayout: Equatable {
    /// v1 controller -> mount point; `unified` is a cgroup2 mount alongside, if any.
    case v1(controllers: [String: String], unified: String?)
    case v2(mount: String)

    public static func detect(mountinfo: String) -> CgroupLayout {
        var controllers: [String: String] = [:]
        var v2: String?
        let known = ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio", "hugetlb"]
        // A plain scan over the bytes: this runs at every container start, and Swift's
        // generic string splitting costs more here than reading the file.
        let b = Array(mountinfo.utf8)
        var start = 0
        while start < b.count {
            var end = start
            while end < b.count && b[end] != 0x0a { end += 1 }
            // "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS"
            var fields: [Range<Int>] = []
            var i = start
            while i < end {
                while i < end && b[i] == 0x20 { i += 1 }
                let f = i
                while i < end && b[i] != 0x20 { i += 1 }
                if i > f { fields.append(f..<i) }
            }
            start = end + 1
            guard let dash = fields.firstIndex(where: { $0.count == 1 && b[$0.lowerBound] == 0x2d }),
                  dash >= 5, fields.count >= dash + 4 else { continue }
            let type = String(decoding: b[fields[dash + 1]], as: UTF8.self)
            guard type == "cgroup" || type == "cgroup2" else { continue }
            let mountPoint = String(decoding: b[fields[4]], as: UTF8.self)
            if type == "cgroup2" {
                if v2 == nil { v2 = mountPoint }
                continue
            }
            for o in String(decoding: b[fields[dash + 3]], as: UTF8.self).split(separator: ",") where known.contains(String(o)) {
                controllers[String(o)] = mountPoint
            }
        }
        if !controllers.isEmpty { return .v1(controllers: controllers, unified: v2) }
        return .v2(mount: v2 ?? "/sys/fs/cgroup")
    }

    /// This host's layout, read once per process (it does not change under a command).
    public static func current() -> CgroupLayout { host }

    static let host: CgroupLayout = conventional() ?? {
        let text = (try? FileSystem.readFile("/proc/self/mountinfo")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return detect(mountinfo: text)
    }()

    /// The usual places, told apart by statfs alone (a few µs, where generating and reading
    /// mountinfo takes ~0.1 ms of every container start): cgroup2 on /sys/fs/cgroup, or a
    /// tmpfs there with one v1 hierarchy per controller name and maybe a cgroup2 `unified`.
    /// nil for anything else: mountinfo decides.
    static func conventional(root: String = "/sys/fs/cgroup") -> CgroupLayout? {
        func type(_ path: String) -> Int? {
            let t = mdl_fs_type(path)
            return t < 0 ? nil : t
        }
        let cgroup2 = MDL_CGROUP2_SUPER_MAGIC, cgroup1 = MDL_CGROUP_SUPER_MAGIC, tmpfs = MDL_TMPFS_MAGIC
        switch type(root) {
        case cgroup2?: return .v2(mount: root)
        case tmpfs?: break
        default: return nil
        }
        var controllers: [String: String] = [:]
        for c in ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio", "hugetlb"]
        where type(root + "/" + c) == cgroup1 {
            controllers[c] = root + "/" + c
        }
        guard !controllers.isEmpty else { return nil }
        return .v1(controllers: controllers, unified: type(root + "/unified") == cgroup2 ? root + "/unified" : nil)
    }

    public var name: String {
        switch self {
        case .v1(_, let unified): return unified == nil ? "v1" : "hybrid"
        case .v2: return "v2"
        }
    }
}
