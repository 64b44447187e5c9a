/// The parts of an OCI runtime-spec `config.json` the engine acts on. `mdlua run` writes
/// one from flags and the image config (stdlib/mdlua/spec.lua); `mdlua oci` will read one
/// from another engine. Unknown fields are ignored, as the spec asks.
public struct RuntimeSpec {
    public struct Mount {
        public var destination: String
        public var type: String
        public var source: String
        public var options: [String]
    }
    public struct Rlimit { public var type: String; public var soft: UInt64; public var hard: UInt64 }

    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var terminal: Bool
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]
    /// `user` as the image or -u gave it ("nobody", "1000:staff"): resolved at start, in the
    /// container's own /etc/passwd (mdlua's annotation; `uid`/`gid` hold the numbers otherwise).
    public var userName: String?
    public var capabilities: [String: [String]]
    public var noNewPrivileges: Bool
    public var rlimits: [Rlimit]
    public var rootPath: String
    public var rootReadonly: Bool
    public var hostname: String?
    public var mounts: [Mount]
    public var namespaces: [String]
    public var maskedPaths: [String]
    public var readonlyPaths: [String]
    public var seccomp: JSON?
    public var oomScoreAdj: Int?
    /// linux.sysctl, sorted by key: written in the container's own /proc/sys.
    public var sysctls: [(key: String, value: String)]
    public var annotations: [String: String]
    public var resources: CgroupResources
    /// Where the container's cgroup goes, under each hierarchy (`mdlua` unless --cgroup-parent).
    public var cgroupParent: String

    public init(json j: JSON) throws {
        guard let process = j["process"], let args = process["args"]?.stringArray, !args.isEmpty else {
            throw EngineError("config.json: process.args is missing or empty")
        }
        self.args = args
        env = process["env"]?.stringArray ?? []
        cwd = process["cwd"]?.string ?? "/"
        guard cwd.hasPrefix("/") else { throw EngineError("config.json: process.cwd \"\(cwd)\" is not absolute") }
        terminal = process["terminal"] == .bool(true)
        uid = UInt32(process["user"]?["uid"]?.int ?? 0)
        gid = UInt32(process["user"]?["gid"]?.int ?? 0)
        additionalGids = (process["user"]?["additionalGids"]?.array ?? []).compactMap { $0.int.map(UInt32.init) }
        capabilities = [:]
        for (k, v) in process["capabilities"]?.object ?? [:] { capabilities[k] = v.stringArray ?? [] }
        noNewPrivileges = process["noNewPrivileges"] == .bool(true)
        rlimits = try (process["rlimits"]?.array ?? []).map { r in
            guard let t = r["type"]?.string, let s = r["soft"]?.int, let h = r["hard"]?.int else {
                throw EngineError("config.json: an rlimit needs type, soft and hard")
            }
            return Rlimit(type: t, soft: UInt64(bitPattern: s), hard: UInt64(bitPattern: h))
        }
        oomScoreAdj = process["oomScoreAdj"]?.int.map(Int.init)
        rootPath = j["root"]?["path"]?.string ?? "rootfs"
        rootReadonly = j["root"]?["readonly"] == .bool(true)
        hostname = j["hostname"]?.string
        mounts = try (j["mounts"]?.array ?? []).map { m in
            guard let d = m["destination"]?.string, d.hasPrefix("/") else {
                throw EngineError("config.json: a mount needs an absolute destination")
            }
            return Mount(destination: d, type: m["type"]?.string ?? "bind", source: m["source"]?.string ?? "",
                         options: m["options"]?.stringArray ?? [])
        }
        namespaces = (j["linux"]?["namespaces"]?.array ?? []).compactMap { $0["type"]?.string }
        maskedPaths = j["linux"]?["maskedPaths"]?.stringArray ?? []
        readonlyPaths = j["linux"]?["readonlyPaths"]?.stringArray ?? []
        seccomp = j["linux"]?["seccomp"]
        sysctls = try (j["linux"]?["sysctl"]?.object ?? [:]).map { k, v in
            guard let value = v.string else { throw EngineError("config.json: linux.sysctl \"\(k)\" is not a string") }
            try RuntimeSpec.checkSysctl(k, value)
            return (key: k, value: value)
        }.sorted { $0.key < $1.key }
        var ann: [String: String] = [:]
        for (k, v) in j["annotations"]?.object ?? [:] { if let s = v.string { ann[k] = s } }
        annotations = ann
        userName = ann[Annotation.user]
        resources = CgroupResources(json: j["linux"]?["resources"])
        try resources.validate()
        cgroupParent = ann[Annotation.cgroupParent] ?? "mdlua"
        guard !cgroupParent.split(separator: "/").contains(".."), !cgroupParent.isEmpty else {
            throw EngineError("invalid cgroup parent \"\(cgroupParent)\"")
        }
    }

    /// A sysctl name is dot-separated words (letters, digits, `_`, `-`; no `..`, `/` or
    /// other separator: it becomes a path under /proc/sys), and a value one line without `+`
    /// `=`; anything else is refused rather than split.
    static func checkSysctl(_ key: String, _ value: String) throws {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        let wordOK = { (p: Substring) in !p.isEmpty && p.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d } }
        guard parts.count >= 2, parts.allSatisfy(wordOK) else { throw EngineError("invalid sysctl name \"\(key)\"") }
        guard !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x3d || $0 == 0x2b || $0 == 0x7f }) else {
            throw EngineError("invalid sysctl value for \(key): \"\(value)\"")
        }
    }
}
