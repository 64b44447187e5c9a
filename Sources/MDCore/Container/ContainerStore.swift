#if canImport(Glibc)
import Glibc
#endif

/// A container as recorded on disk.
public struct ContainerRecord {
    public var id: String
    public var name: String
    public var image: Digest
    public var imageName: String
    public var created: String
    public var status: String          // created, running, paused, restarting, exited, dead
    public var pid: Int32
    public var exitCode: Int32
    public var startedAt: String
    public var finishedAt: String
    public var error: String
    public var extra: JSON             // what the CLI keeps for inspect (flags, labels)
    public var monitorPid: Int32 = 0
    /// The process's start time (/proc/PID/stat field 22): a pid reused by another process
    /// is not mistaken for the container's.
    public var pidStart: UInt64 = 0
    public var restartCount: Int = 0
    /// `stop` was asked: the restart policy does not bring it back.
    public var stopRequested = false
    public var oomKilled = false
    /// Docker's State.Health: Status, FailingStreak, Log (null without a health check).
    public var health: JSON = .null
    /// The process's command line, as config.json has it (kept here so that `ps` reads one
    /// small file per container).
    public var command: [String] = []

    public var json: JSON {
        .object(["id": .string(id), "name": .string(name), "image": .string(image.description),
                 "image_name": .string(imageName), "created": .string(created), "status": .string(status),
                 "pid": .int(Int64(pid)), "exit_code": .int(Int64(exitCode)), "started_at": .string(startedAt),
                 "finished_at": .string(finishedAt), "error": .string(error), "extra": extra,
                 "monitor_pid": .int(Int64(monitorPid)), "pid_start": .int(Int64(pidStart)),
                 "restart_count": .int(Int64(restartCount)), "stop_requested": .bool(stopRequested),
                 "oom_killed": .bool(oomKilled), "health": health, "command": .array(command.map { .string($0) })])
    }

    init(json j: JSON) throws {
        guard let id = j["id"]?.string, let name = j["name"]?.string, let image = j["image"]?.string else {
            throw EngineError("corrupt container record")
        }
        self.id = id
        self.name = name
        self.image = try Digest(parsing: image)
        imageName = j["image_name"]?.string ?? ""
        created = j["created"]?.string ?? ""
        status = j["status"]?.string ?? "created"
        pid = Int32(j["pid"]?.int ?? 0)
        exitCode = Int32(j["exit_code"]?.int ?? 0)
        startedAt = j["started_at"]?.string ?? ""
        finishedAt = j["finished_at"]?.string ?? ""
        error = j["error"]?.string ?? ""
        extra = j["extra"] ?? .object([:])
        monitorPid = Int32(j["monitor_pid"]?.int ?? 0)
        pidStart = UInt64(j["pid_start"]?.int ?? 0)
        restartCount = Int(j["restart_count"]?.int ?? 0)
        stopRequested = j["stop_requested"] == .bool(true)
        oomKilled = j["oom_killed"] == .bool(true)
        health = j["health"] ?? .null
        command = j["command"]?.array?.compactMap(\.string) ?? []
    }

    /// Whether the recorded process is still the container's.
    public var processAlive: Bool { pid > 0 && ProcessInfoReader.startTime(pid) == pidStart && pidStart != 0 }
    public var monitorAlive: Bool { ProcessInfoReader.isAlive(monitorPid) }
}

/// Containers under ROOT/containers/<id>/: config.json (the OCI runtime spec),
/// container.json (this record), the overlay's upper/ and work/, the rootfs/ mount point, and
/// the generated hostname, hosts and resolv.conf.
public struct ContainerStore {
    public let store: Store
    public var dir: String { store.root + "/containers" }

    public init(store: Store) { self.store = store }

    public func path(_ id: String) -> String { dir + "/" + id }

    /// Every container, with states repaired: one whose processes vanished (monitor killed,
    /// machine rebooted) reads as exited, never as running forever.
    public func list() -> [ContainerRecord] {
        FileSystem.list(dir).compactMap(load)
    }

    /// One record by its full ID, repaired; nil when there is none. A record that cannot be
    /// read (a crash while it was written) reads as a dead container, so that `rm` can
    /// remove what is left of it.
    func load(_ id: String) -> ContainerRecord? {
        guard !id.hasPrefix("."), let data = try? FileSystem.readFile(path(id) + "/container.json") else { return nil }
        if let r = try? ContainerRecord(json: JSON.parse(data)) { return repaired(r) }
        guard id.count == 64, let r = try? ContainerRecord(json: .object([
            "id": .string(id), "name": .string(String(id.prefix(12))), "status": .string("dead"),
            "image": .string("sha256:" + String(repeating: "0", count: 64)),
            "error": .string("its record is unreadable (a crash while it was written): remove it")])) else { return nil }
        return r
    }

    func repaired(_ r: ContainerRecord) -> ContainerRecord {
        guard r.status == "running" || r.status == "restarting" || r.status == "paused" else { return r }
        if r.monitorAlive || r.processAlive { return r }
        if r.monitorPid == 0 && r.pid == 0 && r.status != "restarting" { return r }
        var fixed = r
        fixed.status = "exited"
        fixed.pid = 0
        if fixed.finishedAt.isEmpty || fixed.finishedAt < fixed.startedAt { fixed.finishedAt = Clock.now() }
        if fixed.error.isEmpty { fixed.error = "the container's monitor died; its exit status is unknown" }
        fixed.exitCode = 255
        try? unmountRootfs(fixed)
        if let spec = try? self.spec(fixed) { releaseCgroup(&fixed, spec) }
        try? save(fixed)
        return fixed
    }

    /// By full ID, unique ID prefix, or name.
    public func find(_ text: String) throws -> ContainerRecord {
        if text.utf8.count == 64, !text.contains("/"), let r = load(text) { return r }
        let all = list()
        if let c = all.first(where: { $0.name == text || $0.id == text }) { return c }
        let matches = all.filter { $0.id.hasPrefix(text) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            throw EngineError("container ID prefix \"\(text)\" is ambiguous: " + matches.map { String($0.id.prefix(12)) }.sorted().joined(separator: ", "))
        }
        throw EngineError("no such container: \(text)")
    }

    func lock() throws -> FileLock {
        try FileSystem.makeDirectories(dir, mode: 0o700)
        return try FileLock(path: dir + "/.lock")
    }

    /// Records a new container: `spec` (config.json's text), and `command` for listings. Its
    /// name must be free; two creates racing for a name: one wins. `durable` false (a
    /// `run --rm` container, gone when it exits) skips the sync.
    public func create(id: String, name: String, image: ImageRecord, imageName: String, spec: String, command: [String],
                       files: [String: String], extra: JSON, durable: Bool = true) throws -> ContainerRecord {
        guard id.count == 64, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw EngineError("invalid container ID \(id)")
        }
        guard isValidName(name) else {
            throw EngineError("invalid container name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        let l = try lock()
        defer { withExtendedLifetime(l) {} }
        if let other = list().first(where: { $0.name == name }) {
            throw EngineError("the container name \"\(name)\" is already in use by container \(other.id.prefix(12)): remove it or choose another name")
        }
        let p = path(id)
        let staging = dir + "/.new-" + id
        try? FileSystem.removeTree(staging)
        guard mkdir(staging, 0o700) == 0 else { throw EngineError.system("mkdir \(staging)") }
        do {
            for d in ["upper", "work", "rootfs"] { guard mkdir(staging + "/" + d, 0o755) == 0 else { throw EngineError.system("mkdir \(d)") } }
            // Nobody reads the staging dir, which appears whole by its rename: plain writes,
            // flushed together (one journal commit) when the container must survive a crash.
            for (name, content) in files {
                try FileSystem.writeNewFile(staging + "/" + name, Array(content.utf8))
            }
            try FileSystem.writeNewFile(staging + "/config.json", Array(spec.utf8))
            var record = try ContainerRecord(json: .object(["id": .string(id), "name": .string(name),
                                                            "image": .string(image.id.description)]))
            record.imageName = imageName
            record.command = command
            record.created = Clock.now()
            record.extra = extra
            try FileSystem.writeNewFile(staging + "/container.json", Array(record.json.serialized().utf8))
            if durable { FileSystem.syncFileSystem(of: staging) }
            guard Glibc.rename(staging, p) == 0 else { throw EngineError.system("create \(p)") }
            if durable { FileSystem.syncDirectory(of: p) }
            event("create", record)
            return record
        } catch {
            try? FileSystem.removeTree(staging)
            throw error
        }
    }

    /// Records a container event with Docker's attributes (name, image) and `extra` ones.
    public func event(_ action: String, _ r: ContainerRecord, _ extra: [String: String] = [:]) {
        store.events.record("container", action, id: r.id,
                            attributes: extra.merging(["name": r.name, "image": r.imageName]) { a, _ in a })
    }

    func isValidName(_ n: String) -> Bool {
        guard let f = n.utf8.first, isAlnum(f) else { return false }
        return n.utf8.allSatisfy { isAlnum($0) || $0 == 0x5f || $0 == 0x2e || $0 == 0x2d }
    }

    func isAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }

    /// Changes a record as it is on disk now, under the lock: a writer that holds an old
    /// copy (a monitor, while the CLI renamed the container) cannot undo others' changes.
    @discardableResult
    public func modify(_ id: String, _ body: (inout ContainerRecord) throws -> Void) throws -> ContainerRecord {
        let l = try lock()
        defer { withExtendedLifetime(l) {} }
        var r = try ContainerRecord(json: JSON.parse(FileSystem.readFile(path(id) + "/container.json")))
        try body(&r)
        try save(r)
        return r
    }

    /// Renames a container; the new name must be free.
    public func rename(_ text: String, to name: String) throws -> ContainerRecord {
        guard isValidName(name) else {
            throw EngineError("invalid container name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        let l = try lock()
        defer { withExtendedLifetime(l) {} }
        var r = try find(text)
        if let other = list().first(where: { $0.name == name && $0.id != r.id }) {
            throw EngineError("the container name \"\(name)\" is already in use by container \(other.id.prefix(12))")
        }
        let old = r.name
        r.name = name
        try save(r)
        event("rename", r, ["oldName": old])
        return r
    }

    /// State changes are atomic but not synced: after a power loss the record may be one
    /// step behind, and the next read repairs it from what is really there (no process).
    /// A --rm container's record, and a record that says dead, may even be lost: such a
    /// container is garbage after a crash, and an unreadable record reads as dead.
    public func save(_ r: ContainerRecord) throws {
        let bytes = Array(r.json.serialized().utf8)
        if r.status == "dead" || r.extra["rm"] == .bool(true) {
            try FileSystem.replaceVolatile(path(r.id) + "/container.json", bytes)
        } else {
            try FileSystem.writeAtomically(path(r.id) + "/container.json", bytes, durable: false)
        }
    }

    /// The container's config.json. A command reads it more than once (start, then remove,
    /// with `run --rm`): the parse is reused while the file's bytes are the same.
    public func spec(_ r: ContainerRecord) throws -> RuntimeSpec {
        let bytes = try FileSystem.readFile(path(r.id) + "/config.json")
        if let c = ContainerStore.specCache, c.id == r.id, c.bytes == bytes { return c.spec }
        let spec = try RuntimeSpec(json: JSON.parse(bytes))
        ContainerStore.specCache = (r.id, bytes, spec)
        return spec
    }

    static var specCache: (id: String, bytes: [UInt8], spec: RuntimeSpec)?

    /// Mounts the container's overlay on its rootfs/ (after unmounting what a crash may
    /// have left there). `ephemeral` (a --rm container): a volatile overlay, which marks its
    /// work dir so that no later mount trusts the upper dir; only an ephemeral container's
    /// dirs can carry that mark, and they are thrown away anyway, so it is cleared here.
    public func mountRootfs(_ r: ContainerRecord, ephemeral: Bool = false) throws -> String {
        try Kernel.checkFloor()
        let target = path(r.id) + "/rootfs"
        try unmountRootfs(r)
        guard let image = try store.images.load()[r.image] else {
            throw EngineError("container \(r.id.prefix(12)): its image \(r.image.short) is gone")
        }
        let work = path(r.id) + "/work"
        rmdir(work + "/work/incompat/volatile")
        let lowers = [try store.mountPointLayer()] + (try OverlayRootfs.lowerDirs(image, in: store, reserving: 1))
        try OverlayRootfs.mount(lowers: lowers, upper: path(r.id) + "/upper", work: work, target: target, volatile: ephemeral,
                                links: store.layers.links)
        return target
    }

    /// Unmounts everything stacked on rootfs/; not mounted is fine.
    public func unmountRootfs(_ r: ContainerRecord) throws {
        let target = path(r.id) + "/rootfs"
        while try OverlayRootfs.unmount(target) {}
    }

    /// The container's cgroup driver.
    public func cgroup(_ r: ContainerRecord, _ spec: RuntimeSpec) -> CgroupDriver {
        Cgroups.driver(parent: spec.cgroupParent, id: r.id)
    }

    /// After the container's process is gone: records an OOM kill, removes the cgroup.
    public func releaseCgroup(_ r: inout ContainerRecord, _ spec: RuntimeSpec) {
        let cg = cgroup(r, spec)
        r.oomKilled = cg.oomKills() > 0
        cg.remove()
    }

    /// Removes a container: its mounts, its cgroup, then its directory, the record last.
    /// Until the record goes the container reads as "dead" (Docker's state for a removal
    /// that failed or was interrupted); removing it again finishes the job.
    public func remove(_ r: ContainerRecord) throws {
        try unmountRootfs(r)
        if let spec = try? self.spec(r) { cgroup(r, spec).remove() }
        if r.status != "dead" {
            var dead = r
            dead.status = "dead"
            dead.pid = 0
            dead.error = "its removal did not finish: remove it again"
            try? save(dead)
        }
        try FileSystem.removeTree(path(r.id), last: ["config.json", "container.json"])
        event("destroy", r)
    }

    /// Images that containers use (rmi refuses to remove them).
    public func imagesInUse() -> Set<Digest> { Set(list().map(\.image)) }
}
