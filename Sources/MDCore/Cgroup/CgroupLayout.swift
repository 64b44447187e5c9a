/// Which cgroup hierarchies this host has, read from /proc/self/mountinfo: pure v2, pure
/// v1, or hybrid (v1 controllers with a cgroup2 mount beside them, as on this machine).
public enum CgroupLayout: Equatable {
    /// v1 controller -> mount point; `unified` is a cgroup2 mount alongside, if any.
    case v1(controllers: [String: String], unified: String?)
    case v2(mount: String)

    public static func detect(mountinfo: String) -> CgroupLayout {
        var controllers: [String: String] = [:]
        var v2: String?
        for line in mountinfo.split(separator: "\n") {
            // "... MOUNT_POINT OPTIONS ... - FSTYPE SOURCE SUPER_OPTIONS"
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-") else { continue }
            let left = Array(fields[..<dash])
            let right = Array(fields[(dash + 1)...])
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            switch right[0] {
            case "cgroup2": if v2 == nil { v2 = mountPoint }
            case "cgroup":
                for opt in right[2].split(separator: ",") {
                    let o = String(opt)
                    if ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio", "hugetlb"].contains(o) {
                        controllers[o] = mountPoint
                    }
                }
            default: continue
            }
        }
        if !controllers.isEmpty { return .v1(controllers: controllers, unified: v2) }
        return .v2(mount: v2 ?? "/sys/fs/cgroup")
    }

    /// This host's layout, read once per process (it does not change under a command).
    public static func current() -> CgroupLayout { host }

    static let host: CgroupLayout = {
        let text = (try? FileSystem.readFile("/proc/self/mountinfo")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return detect(mountinfo: text)
    }()

    public var name: String {
        switch self {
        case .v1(_, let unified): return unified == nil ? "v1" : "hybrid"
        case .v2: return "v2"
        }
    }
}
