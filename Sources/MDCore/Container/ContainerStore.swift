import CKernel
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
    public var status: ContainerStatus
    public var pid: Int32
    public var exitCode: Int32
    public var startedAt: String
    public var finishedAt: String
    public var error: String
    /// What it was created with (ContainerConfig.swift).
    public var config = ContainerConfig()
    public var monitorPid: Int32 = 0
    /// The monitor's start time, as `pidStart` for the process: a reused pid is not taken for
    /// a live monitor.
    public var monitorStart: UInt64 = 0
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
    /// The exit status was not seen (the monitor died first): `exitCode` is 255 then, and
    /// `error` says why.
    public var exitUnknown = false
    /// Read from a damaged or missing container.json (not stored): what is known of the
    /// container comes from what is left around it (ContainerStore.salvage).
    public var damaged = false

    public var json: JSON {
        var j: [String: JSON] = ["id": .string(id), "name": .string(name), "image": .string(image.description),
                 "image_name": .string(imageName), "created": .string(created), "status": .string(status.rawValue),
                 "pid": .int(Int64(pid)), "exit_code": .int(Int64(exitCode)), "started_at": .string(startedAt),
                 "finished_at": .string(finishedAt), "error": .string(error), "config": config.json,
                 "monitor_pid": .int(Int64(monitorPid)), "monitor_start": .int(Int64(monitorStart)), "pid_start": .int(Int64(pidStart)),
                 "restart_count": .int(Int64(restartCount)), "stop_requested": .bool(stopRequested),
                 "oom_killed": .bool(oomKilled), "health": health, "command": .array(command.map { .string($0) })]
        if exitUnknown { j["exit_unknown"] = .bool(true) }
        return .object(j)
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
        // A status this version does not know is a damaged record's.
        status = j["status"]?.string.map { ContainerStatus(rawValue: $0) ?? .dead } ?? .created
        pid = Int32(j["pid"]?.int ?? 0)
        exitCode = Int32(j["exit_code"]?.int ?? 0)
        startedAt = j["started_at"]?.string ?? ""
        finishedAt = j["finished_at"]?.string ?? ""
        error = j["error"]?.string ?? ""
        // A record that cannot give its config still reads (a damaged one is repaired).
        config = j["config"].flatMap { try? ContainerConfig(json: $0) } ?? ContainerConfig()
        monitorPid = Int32(j["monitor_pid"]?.int ?? 0)
        monitorStart = UInt64(j["monitor_start"]?.int ?? 0)
        pidStart = UInt64(j["pid_start"]?.int ?? 0)
        restartCount = Int(j["restart_count"]?.int ?? 0)
        stopRequested = j["stop_requested"] == .bool(true)
        oomKilled = j["oom_killed"] == .bool(true)
        health = j["health"] ?? .null
        command = j["command"]?.array?.compactMap(\.string) ?? []
        exitUnknown = j["exit_unknown"] == .bool(true)
    }

    /// Whether the recorded process is still the container's.
    public var processAlive: Bool { pid > 0 && ProcessInfoReader.startTime(pid) == pidStart && pidStart != 0 }
    public var monitorAlive: Bool {
        guard monitorPid > 0 else { return false }
        // This process (no /proc read on the run path: its start time is read once, by create).
        if monitorPid == getpid() { return monitorStart == 0 || monitorStart == ContainerRecord.ownStart }
        return monitorStart != 0 ? ProcessInfoReader.startTime(monitorPid) == monitorStart : ProcessInfoReader.isAlive(monitorPid)
    }

    /// Makes this process the container's monitor in the record (its pid and start time).
    public mutating func supervised() {
        monitorPid = getpid()
        monitorStart = ContainerRecord.ownStart
    }

    static let ownStart = ProcessInfoReader.startTime(getpid())
}

/// Containers under ROOT/containers/<id>/: config.json (the OCI runtime spec),
/// container.json (this record), the overlay's upper/ and work/ (or, with a size limit, the
/// image they live on and its layer/ mount point: WritableLayer.swift), the rootfs/ mount
/// point, and the generated hostname, hosts and resolv.conf.
public struct ContainerStore {
    public let store: Store
    public var dir: String { store.root + "/containers" }

    public init(store: Store) { self.store = store }

    public func path(_ id: String) -> String { dir + "/" + id }

    /// Every container, with states repaired: one whose monitor died reads as exited, never
    /// as running forever; a directory whose record is damaged or missing is listed too.
    public func list() -> [ContainerRecord] {
        FileSystem.list(dir).compactMap(load)
    }

    /// Container directories are named by their 64-hex-digit ID (the rest: the lock, staging).
    static func isID(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// One record by its full ID, repaired; nil when there is none. A record that cannot be
    /// read (damaged, empty, or missing from its directory) reads as a dead container with
    /// what could be salvaged, so that `rm` can remove what is left of it.
    func load(_ id: String) -> ContainerRecord? {
        guard ContainerStore.isID(id) else { return nil }
        let file = path(id) + "/container.json"
        guard let data = try? FileSystem.readFile(file) else {
            guard FileSystem.isDirectory(path(id)) else { return nil }
            return salvage(id, [], why: "its record \(file) is missing")
        }
        if let r = try? ContainerRecord(json: JSON.parse(data)) { return repaired(r) }
        return salvage(id, data, why: "its record \(file) is \(data.isEmpty ? "empty" : "damaged (truncated or corrupt)")")
    }

    /// A dead container for a record that cannot be read: its name, image and command from
    /// what is left of the record, else from the event log (a name) and config.json.
    func salvage(_ id: String, _ data: [UInt8], why: String) -> ContainerRecord {
        let fields = ContainerStore.topLevelStrings(data)
        var r = try! ContainerRecord(json: .object(["id": .string(id), "name": .string(String(id.prefix(12))),
                                                    "status": .string(ContainerStatus.dead.rawValue),
                                                    "image": .string("sha256:" + String(repeating: "0", count: 64))]))
        r.damaged = true
        if let n = fields["name"] ?? nameFromEvents(id), isValidName(n) { r.name = n }
        if let i = fields["image"], let d = try? Digest(parsing: i) { r.image = d }
        r.imageName = fields["image_name"] ?? ""
        r.created = fields["created"] ?? ""
        r.command = (try? spec(r))?.args ?? []
        r.error = why + ": remove it (mdlua rm -f \(id.prefix(12)))"
        return r
    }

    /// The string members of a JSON object's top level, read from text that may be cut
    /// anywhere (a truncated record): those complete before the cut.
    static func topLevelStrings(_ b: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        var depth = 0, i = 0
        var lastString: String?, key: String?
        while i < b.count {
            let c = b[i]
            if c == 0x22 {   // a string
                var j = i + 1
                var bytes: [UInt8] = []
                var complete = false
                while j < b.count {
                    if b[j] == 0x5c { if j + 1 < b.count { bytes.append(b[j + 1]) }; j += 2; continue }
                    if b[j] == 0x22 { complete = true; break }
                    bytes.append(b[j]); j += 1
                }
                guard complete else { break }
                let text = String(decoding: bytes, as: UTF8.self)
                if depth == 1, let k = key { out[k] = text; key = nil } else { lastString = text }
                i = j + 1
                continue
            }
            switch c {
            case 0x7b, 0x5b: depth += 1; key = nil
            case 0x7d, 0x5d: depth -= 1
            case 0x3a: if depth == 1 { key = lastString }
            case 0x2c: key = nil
            default: break
            }
            lastString = c == 0x3a ? nil : lastString
            i += 1
        }
        return out
    }

    /// The container's last name in the event log (create and rename events carry it).
    func nameFromEvents(_ id: String) -> String? {
        var name: String?
        let needle = Array("\"ID\":\"\(id)\"".utf8)
        for file in [store.events.path + ".1", store.events.path] {
            guard let data = try? FileSystem.readFile(file) else { continue }
            for line in data.split(separator: 0x0a) where ContainerReaper.contains(Array(line), needle) {
                if let n = (try? JSON.parse(line))?["Actor"]?["Attributes"]?["name"]?.string { name = n }
            }
        }
        return name
    }

    /// A record as it really is. The rule (docs/containers.md, "Supervision"): a container runs
    /// only under a live monitor, the process that started it (the CLI in the foreground).
    /// A record whose monitor is gone is made true here: whatever still runs in the
    /// container's cgroups is killed, its root unmounted, its cgroups removed, the record says
    /// exited and why; a `--rm` container is removed (nil). A start whose monitor died before
    /// the container ran ("created" with a monitor) gives back what it held the same way.
    func repaired(_ r: ContainerRecord) -> ContainerRecord? {
        switch r.status {
        case .running, .restarting, .paused:
            if r.monitorPid == 0 && r.pid == 0 && r.status != .restarting { return r }
        case .created:
            if r.monitorPid == 0 { return r }
        default:
            return r
        }
        if r.monitorAlive { return r }
        // `r` was read before the monitor was seen gone: a monitor records the exit, then
        // ends, and may have done both in between. It writes nothing once gone, so what the
        // file says now is what it left.
        if let data = try? FileSystem.readFile(path(r.id) + "/container.json"),
           let now = try? ContainerRecord(json: JSON.parse(data)),
           now.status != r.status || now.monitorPid != r.monitorPid || now.monitorStart != r.monitorStart {
            return repaired(now)
        }
        var fixed = r
        let wasAlive = r.processAlive
        let spec = try? self.spec(r)
        let found = ContainerReaper.killAll(ContainerReaper.cgroupDirectories(id: r.id, parent: spec?.cgroupParent))
        // What the start set up, torn down as after an exit (ContainerHook.swift).
        var hooks = ContainerHookContext(store: self, record: fixed, spec: spec, afterCrash: true)
        ContainerHooks.tearDown(&hooks)
        fixed = hooks.record
        let monitor = "its monitor (pid \(r.monitorPid))"
        fixed.monitorPid = 0
        fixed.monitorStart = 0
        let stash = stashedExit(r.id)
        if r.status == .created {
            fixed.error = "\(monitor) died before the container started"
        } else {
            fixed.status = .exited
            fixed.pid = 0
            if fixed.finishedAt.isEmpty || fixed.finishedAt < fixed.startedAt { fixed.finishedAt = Clock.now() }
            if r.status == .restarting && !wasAlive && found == 0 {
                // Between two runs: the last exit is recorded already, and stays.
                fixed.error = "\(monitor) died while it waited to restart the container; it was not restarted"
            } else if let s = stash, !wasAlive && found == 0 {
                // Its monitor saw the exit but could not record it (a full disk).
                fixed.exitCode = s.code
                fixed.exitUnknown = false
                fixed.finishedAt = s.finishedAt
                fixed.error = s.error
            } else if wasAlive || found > 0 {
                fixed.exitCode = 137
                fixed.exitUnknown = false
                fixed.error = "\(monitor) was gone while the container ran: mdlua killed it (SIGKILL)"
            } else {
                fixed.exitCode = 255
                fixed.exitUnknown = true
                fixed.error = "\(monitor) was killed or died, and the container died with it: its exit status is unknown"
            }
            event("die", fixed, ["exitCode": String(fixed.exitCode)])
        }
        if r.config.remove {
            if (try? remove(fixed)) != nil { return nil }
        }
        if (try? save(fixed)) != nil && stash != nil { removexattr(path(r.id), ContainerStore.exitAttribute) }
        return fixed
    }

    /// An exit that could not be recorded (a full disk: neither a new record nor one written
    /// in place) is kept in an extended attribute of the container's directory, which needs
    /// no data block, for the next read to record (`repaired`): "CODE\nFINISHED_AT\nERROR".
    public func stashExit(_ id: String, code: Int32, error: String) {
        let text = Array("\(code)\n\(Clock.now())\n\(error)".utf8)
        _ = text.withUnsafeBytes { setxattr(path(id), ContainerStore.exitAttribute, $0.baseAddress, $0.count, 0) }
    }

    static let exitAttribute = "user.mdlua.exit"

    func stashedExit(_ id: String) -> (code: Int32, finishedAt: String, error: String)? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = getxattr(path(id), ContainerStore.exitAttribute, &buf, buf.count)
        guard n > 0 else { return nil }
        let parts = String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let code = Int32(parts[0]) else { return nil }
        return (code, String(parts[1]), parts.count > 2 ? String(parts[2]) : "")
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
    /// name must be free; two creates racing for a name: one wins. A `run --rm` container
    /// (`config.remove`), gone when it exits, is not synced to disk.
    public func create(id: String, name: String, image: ImageRecord, imageName: String, spec: String, command: [String],
                       files: [String: String], config: ContainerConfig, starting: Bool = false) throws -> ContainerRecord {
        let durable = !config.remove
        guard id.count == 64, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw EngineError("invalid container ID \(id)")
        }
        guard isValidName(name) else {
            throw EngineError("invalid container name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        let layerImage = try WritableLayer.size(config.storageOpt).map { try WritableLayer.makeImage(in: store, bytes: $0) }
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
            guard mkdir(staging + "/rootfs", 0o755) == 0 else { throw EngineError.system("mkdir rootfs") }
            try WritableLayer.make(in: staging, image: layerImage)
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
            record.config = config
            // Started by this process right away (a foreground run): its monitor from now on,
            // so that a run killed before the container runs leaves nothing held.
            if starting { record.supervised() }
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
        let file = path(id) + "/container.json"
        var r: ContainerRecord
        do {
            r = try ContainerRecord(json: JSON.parse(FileSystem.readFile(file)))
        } catch {
            throw EngineError("container \(id.prefix(12)): its record \(file) cannot be read (\(error)): remove it (mdlua rm -f \(id.prefix(12)))")
        }
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
    ///
    /// When the new file cannot be written (a full disk), the record is written over the old
    /// one in place if it fits in the blocks the old one holds (a record changes by a few
    /// bytes): readers may then see it torn for a moment, which beats losing an exit status.
    public func save(_ r: ContainerRecord) throws {
        let bytes = Array(r.json.serialized().utf8)
        let file = path(r.id) + "/container.json"
        do {
            if r.status == .dead || r.config.remove {
                try FileSystem.replaceVolatile(file, bytes)
            } else {
                try FileSystem.writeAtomically(file, bytes, durable: false)
            }
        } catch {
            guard ContainerStore.overwriteInPlace(file, bytes) else {
                throw EngineError("container \(r.name) (\(r.id.prefix(12))): its record \(file) could not be written: \(error)")
            }
        }
    }

    static func overwriteInPlace(_ file: String, _ bytes: [UInt8]) -> Bool {
        let fd = open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_blocks) * 512 >= bytes.count else { return false }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return n == bytes.count && ftruncate(fd, off_t(bytes.count)) == 0
    }

    /// The container's config.json. A command reads it more than once (start, then remove,
    /// with `run --rm`): the parse is reused while the file's bytes are the same.
    public func spec(_ r: ContainerRecord) throws -> RuntimeSpec {
        let file = path(r.id) + "/config.json"
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(file) } catch {
            throw EngineError("container \(r.name) (\(r.id.prefix(12))): its runtime spec cannot be read: \(error)")
        }
        if let c = ContainerStore.specCache, c.id == r.id, c.bytes == bytes { return c.spec }
        let spec: RuntimeSpec
        do { spec = try RuntimeSpec(json: JSON.parse(bytes)) } catch {
            throw EngineError("container \(r.name) (\(r.id.prefix(12))): its runtime spec \(file) is damaged: \(error)")
        }
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
        let layer = WritableLayer(self, r)
        try layer.ready()
        rmdir(layer.work + "/work/incompat/volatile")
        let lowers = [try store.mountPointLayer()] + (try OverlayRootfs.lowerDirs(image, in: store, reserving: 1))
        try OverlayRootfs.mount(lowers: lowers, upper: layer.upper, work: layer.work, target: target, volatile: ephemeral,
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
    ///
    /// It works from what is on disk, whatever the record says: a damaged record's monitor
    /// (found through /proc) is killed, and so is whatever runs in the container's cgroups.
    /// `volumes` (`rm -v`; always for a `--rm` container): its anonymous volumes go too.
    public func remove(_ r: ContainerRecord, volumes: Bool = false) throws {
        if r.damaged { for m in ContainerReaper.monitors(root: store.root, id: r.id) { kill(m, SIGKILL) } }
        // Every per-container resource, whatever a start, an exit or a crash left of it.
        var hooks = ContainerHookContext(store: self, record: r, spec: try? self.spec(r), afterCrash: true, removing: true)
        ContainerHooks.tearDown(&hooks)
        try unmountRootfs(r)   // an unmount that failed is an error here
        try WritableLayer(self, r).release()
        guard hooks.cgroupsLeft.isEmpty else {
            throw EngineError("container \(r.name) (\(r.id.prefix(12))): its cgroup \(hooks.cgroupsLeft[0]) still holds processes that do not die")
        }
        if r.status != .dead || r.damaged {
            var dead = r
            dead.status = .dead
            dead.pid = 0
            dead.error = "its removal did not finish"
            try? save(dead)
        }
        // Its address leases (and the default network's bridge with the last one).
        NetworkStore(root: store.root).releaseAll(containerID: r.id)
        // Before the record goes: a removal killed in between is finished by the next `rm`.
        if volumes || r.config.remove { removeAnonymousVolumes(of: r) }
        try FileSystem.removeTree(path(r.id), last: ["config.json", "container.json"])
        event("destroy", r)
    }

    /// Images that containers use (rmi refuses to remove them).
    public func imagesInUse() -> Set<Digest> { Set(list().map(\.image)) }
}
