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
}
