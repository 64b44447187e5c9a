#if canImport(Glibc)
import Glibc
#endif

/// `mdlua system check [--repair]`: fsck for the state root. Finds what crashes and damage
/// leave behind (docs/containers.md, "Checking the state root") and, with `repair`, fixes
/// what is safe to fix.
public enum StateCheck {
    public struct Finding {
        public let kind: String
        public let path: String
        public let detail: String
        /// What --repair did, or nil when it was not asked, or not safe.
        public var action: String?
        public var unrepairable = false
    }

    public static func run(_ cs: ContainerStore, repair: Bool) -> [Finding] {
        var out: [Finding] = []
        out += staging(cs.store, repair: repair)
        out += containerStaging(cs, repair: repair)
        let containers = cs.list()
        out += records(cs, containers, repair: repair)
        // After the damaged records went: what is left belongs to no container.
        let live = repair ? cs.list() : containers
        out += mounts(cs, live, repair: repair)
        out += cgroups(cs, live, repair: repair)
        out += storage(cs.store, repair: repair)
        out += leases(cs, repair: repair)
        return out
    }

    /// Network leases of containers that never got a record (a `create` killed in between):
    /// they keep an address, and the default network's bridge while they last.
    static func leases(_ cs: ContainerStore, repair: Bool) -> [Finding] {
        NetworkStore(root: cs.store.root).orphanLeases(repair: repair).map { network, id in
            Finding(kind: "lease", path: cs.store.root + "/networks/" + network + ".json",
                    detail: "network \(network): an address leased to \(id.prefix(12)), which has no record",
                    action: repair ? "given back" : nil)
        }
    }

    // MARK: staging

    /// A staging dir is stale when its writer is gone: its `.owner` flock is free, or it has
    /// none and the pid in its name (`purpose-PID-random`, Store.staging) is not alive.
    static func isStale(_ dir: String, name: String) -> (Bool, FileLock?) {
        if FileSystem.exists(dir + "/.owner") {
            guard let lock = FileLock.attempt(path: dir + "/.owner") else { return (false, nil) }
            return (true, lock)
        }
        let parts = name.split(separator: "-")
        if parts.count >= 3, let pid = Int32(parts[parts.count - 2]) { return (!ProcessInfoReader.isAlive(pid), nil) }
        return (false, nil)
    }

    /// Removes the stale staging dirs under ROOT/tmp (what an interrupted load, commit or
    /// layer create left). Returns the findings, each with what was done.
    public static func staging(_ store: Store, repair: Bool) -> [Finding] {
        var out: [Finding] = []
        for name in FileSystem.list(store.tmp) {
            let dir = store.tmp + "/" + name
            let (stale, lock) = isStale(dir, name: name)
            guard stale else { continue }
            let purpose = name.split(separator: "-").first ?? "?"
            // The size is for the report: a repair alone (every staging writer's) skips the walk.
            var f = Finding(kind: "staging", path: dir,
                            detail: "left by an interrupted writer (\(purpose))" + (repair ? "" : ", \(bytes(FileSystem.treeSize(dir)))"))
            if repair {
                f.action = (try? FileSystem.removeTree(dir)) != nil ? "removed" : nil
                f.unrepairable = f.action == nil
            }
            withExtendedLifetime(lock) {}
            out.append(f)
        }
        return out
    }

    /// Interrupted creates (ROOT/containers/.new-ID, made and renamed under the containers
    /// lock, so any seen while holding it is abandoned) and record temp files of dead writers.
    static func containerStaging(_ cs: ContainerStore, repair: Bool) -> [Finding] {
        var out: [Finding] = []
        guard FileSystem.isDirectory(cs.dir), let lock = try? cs.lock() else { return [] }   // a check makes nothing
        for name in FileSystem.list(cs.dir) where name.hasPrefix(".new-") {
            var f = Finding(kind: "staging", path: cs.dir + "/" + name, detail: "an interrupted create")
            if repair { f.action = (try? FileSystem.removeTree(cs.dir + "/" + name)) != nil ? "removed" : nil }
            out.append(f)
        }
        withExtendedLifetime(lock) {}
        for id in FileSystem.list(cs.dir) where ContainerStore.isID(id) {
            for name in FileSystem.list(cs.path(id)) where name.hasPrefix("container.json.tmp-") || name.hasPrefix("config.json.tmp-") {
                guard let pid = Int32(name.split(separator: "-").last ?? ""), !ProcessInfoReader.isAlive(pid) else { continue }
                let path = cs.path(id) + "/" + name
                var f = Finding(kind: "staging", path: path, detail: "a record's temporary file, its writer (pid \(pid)) gone")
                if repair { f.action = unlink(path) == 0 ? "removed" : nil }
                out.append(f)
            }
        }
        return out
    }

    // MARK: containers

    static func records(_ cs: ContainerStore, _ all: [ContainerRecord], repair: Bool) -> [Finding] {
        var out: [Finding] = []
        for r in all where r.damaged {
            var f = Finding(kind: "container", path: cs.path(r.id), detail: "\(r.name): \(r.error)")
            if repair {
                do {
                    try cs.remove(r)
                    f.action = "removed (its processes killed, its root unmounted, its cgroups removed)"
                } catch {
                    f.action = nil
                    f.unrepairable = true
                    out.append(Finding(kind: "container", path: cs.path(r.id), detail: "could not be removed: \(error)"))
                }
            }
            out.append(f)
        }
        let images = (try? cs.store.images.load()) ?? [:]
        for r in all where !r.damaged && images[r.image] == nil {
            var f = Finding(kind: "container", path: cs.path(r.id),
                            detail: "\(r.name): its image \(r.image.short) is gone; it cannot start again")
            f.unrepairable = repair
            out.append(f)
        }
        for r in all where !r.damaged && !FileSystem.exists(cs.path(r.id) + "/config.json") {
            var f = Finding(kind: "container", path: cs.path(r.id) + "/config.json",
                            detail: "\(r.name): its runtime spec is missing; it cannot start again (mdlua rm \(r.name) removes it)")
            f.unrepairable = repair
            out.append(f)
        }
        return out
    }

    static func runs(_ r: ContainerRecord) -> Bool {
        (r.status == .running || r.status == .paused || r.status == .restarting || r.status == .created) && r.monitorAlive
    }

    /// Overlay mounts on a container's rootfs/ while it does not run (or has no directory), and
    /// writable-layer mounts of containers that are gone.
    static func mounts(_ cs: ContainerStore, _ all: [ContainerRecord], repair: Bool) -> [Finding] {
        let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let text = (try? FileSystem.readFile("/proc/self/mountinfo")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let prefix = cs.dir + "/"
        var seen: Set<String> = []
        var out: [Finding] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let point = unescape(String(fields[4]))
            guard point.hasPrefix(prefix), !seen.contains(point) else { continue }
            let rest = point.dropFirst(prefix.count).split(separator: "/")
            guard let id = rest.first.map(String.init), ContainerStore.isID(id) else { continue }
            if let r = byID[id], runs(r) || r.damaged { continue }   // a damaged one is reported as a container
            // A size-limited writable layer is mounted while its container exists (WritableLayer.swift).
            if byID[id] != nil && rest.count == 2 && rest[1] == "layer" { continue }
            seen.insert(point)
            var f = Finding(kind: "mount", path: point,
                            detail: byID[id] == nil ? "its container is gone" : "its container \(byID[id]!.name) does not run")
            if repair {
                var n = 0
                while (try? OverlayRootfs.unmount(point)) == true { n += 1 }
                f.action = n > 0 ? "unmounted" : nil
                f.unrepairable = n == 0
            }
            out.append(f)
        }
        return out
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x5c, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else { out.append(b[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Container cgroups (`<parent>/<64 hex>`) under the parents this root's containers use:
    /// one of a container here that does not run is removed with what is in it; one of no
    /// container here may belong to another state root (tests, a second root on the host):
    /// it is reported and removed only when empty and a minute old.
    static func cgroups(_ cs: ContainerStore, _ all: [ContainerRecord], repair: Bool) -> [Finding] {
        let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var parents: Set<String> = ["mdlua"]
        for r in all { if let p = (try? cs.spec(r))?.cgroupParent { parents.insert(p) } }
        var groups: [String: [String]] = [:]   // id -> dirs
        for h in ContainerReaper.hierarchies() {
            for p in parents {
                for name in FileSystem.list(h + "/" + p) where ContainerStore.isID(name) && FileSystem.isDirectory(h + "/" + p + "/" + name) {
                    groups[name, default: []].append(h + "/" + p + "/" + name)
                }
            }
        }
        var out: [Finding] = []
        for (id, dirs) in groups.sorted(by: { $0.key < $1.key }) {
            if let r = byID[id], runs(r) || r.damaged { continue }
            let procs = ContainerReaper.processes(dirs)
            let mine = byID[id] != nil
            var st = stat()
            let old = stat(dirs[0], &st) == 0 && time(nil) - st.st_ctim.tv_sec > 60
            // One of no container here is another state root's business unless it is empty
            // and old (a start moves its process in within milliseconds).
            if !mine && !(procs.isEmpty && old) { continue }
            var f = Finding(kind: "cgroup", path: dirs[0] + (dirs.count > 1 ? " (and \(dirs.count - 1) more hierarchies)" : ""),
                            detail: (mine ? "its container \(byID[id]!.name) does not run" : "no container of this state root")
                                + (procs.isEmpty ? "" : ", \(procs.count) process\(procs.count == 1 ? "" : "es") in it"))
            if repair {
                let left = ContainerReaper.removeCgroups(dirs)
                f.action = left.isEmpty ? (procs.isEmpty ? "removed" : "its processes killed, removed") : nil
                f.unrepairable = !left.isEmpty
            }
            out.append(f)
        }
        return out
    }

    // MARK: images

    /// Layers and blobs no image uses (what `image prune` and rmi collect).
    static func storage(_ store: Store, repair: Bool) -> [Finding] {
        guard let all = try? store.images.load() else {
            return [Finding(kind: "images", path: store.images.path, detail: "cannot be read", action: nil, unrepairable: repair)]
        }
        var usedLayers: Set<Digest> = []
        var usedBlobs: Set<Digest> = []
        for image in all.values {
            usedBlobs.insert(image.id)
            usedBlobs.insert(image.manifest)
            for l in image.layers { usedLayers.insert(l) }
            if let m = try? JSON.parse(store.blobs.read(image.manifest)) {
                for d in m["layers"]?.array ?? [] {
                    if let s = d["digest"]?.string, let digest = try? Digest(parsing: s) { usedBlobs.insert(digest) }
                }
            }
        }
        var out: [Finding] = []
        // Records without what they name: an image whose config, manifest or layer is gone
        // (not repaired: rmi it, or load it again).
        for image in all.values.sorted(by: { $0.id.description < $1.id.description }) {
            let name = image.names.first ?? image.id.short
            for d in [image.id, image.manifest] where !FileSystem.exists(store.blobs.path(d)) {
                out.append(Finding(kind: "image", path: store.blobs.path(d), detail: "\(name): this blob is missing (rmi it, or load it again)",
                                   action: nil, unrepairable: repair))
            }
            for l in image.layers where !store.layers.has(l) {
                out.append(Finding(kind: "image", path: store.layers.path(l), detail: "\(name): this layer is missing (rmi it, or load it again)",
                                   action: nil, unrepairable: repair))
            }
        }
        for layer in store.layers.list() {
            if usedLayers.contains(layer.diffID) || layer.keep { usedBlobs.insert(layer.blob); continue }
            out.append(Finding(kind: "layer", path: store.layers.path(layer.diffID), detail: "no image uses it"))
        }
        for blob in store.blobs.list() where !usedBlobs.contains(blob) {
            out.append(Finding(kind: "blob", path: store.blobs.path(blob), detail: "no image or layer uses it"))
        }
        if repair && out.contains(where: { $0.kind == "layer" || $0.kind == "blob" }) {
            let ok = (try? store.locked { try store.collectGarbage() }) != nil
            for i in out.indices where out[i].kind == "layer" || out[i].kind == "blob" {
                out[i].action = ok && !FileSystem.exists(out[i].path) ? "removed" : nil
                out[i].unrepairable = out[i].action == nil
            }
        }
        return out
    }

    // MARK: system df

    /// One row of `system df`: Docker's columns.
    public struct Usage {
        public let type: String
        public let total: Int
        public let active: Int
        public let size: UInt64
        public let reclaimable: UInt64
    }

    /// Disk usage, every byte under the state root in one row (as `du -x` counts them:
    /// allocated blocks, directories included, a hard link once, nothing past a mount):
    /// images (their unpacked layers and the blobs they came from, each counted once, their
    /// configs and manifests; reclaimable: what only images no container uses hold),
    /// containers (their directories: writable layer, logs, records; reclaimable: those not
    /// running), volumes (reclaimable: those no container mounts; a volume's own file
    /// system is its image file, or nothing for a tmpfs), the build cache (all of it
    /// reclaimable: `builder prune --all`), staging under ROOT/tmp
    /// (reclaimable: that of writers that are gone) and the engine's own files (records,
    /// events, caches, the directories themselves; reclaimable: the seccomp cache).
    public static func usage(_ cs: ContainerStore, du: DiskUsage? = nil) -> [Usage] {
        let store = cs.store
        let du = du ?? DiskUsage(root: store.root)
        let images = (try? store.images.load()) ?? [:]
        let containers = cs.list()
        let usedImages = Set(containers.map(\.image))
        var blobOf: [Digest: Digest] = [:]
        for l in store.layers.list() { blobOf[l.diffID] = l.blob }
        var all: Set<Digest> = [], active: Set<Digest> = []
        for image in images.values {
            all.formUnion(image.layers)
            if usedImages.contains(image.id) { active.formUnion(image.layers) }
        }
        func layerBytes(_ d: Digest) -> UInt64 {
            du.measure(store.layers.path(d)) + (blobOf[d].map { du.measure(store.blobs.path($0)) } ?? 0)
        }
        func imageBytes(_ i: ImageRecord) -> UInt64 { du.measure(store.blobs.path(i.id)) + du.measure(store.blobs.path(i.manifest)) }
        // The layers every used image holds first, so that what is left is what pruning frees.
        var isize: UInt64 = 0, ireclaim: UInt64 = 0
        for d in active { isize += layerBytes(d) }
        for image in images.values where usedImages.contains(image.id) { isize += imageBytes(image) }
        for d in all.subtracting(active) { let n = layerBytes(d); isize += n; ireclaim += n }
        for image in images.values where !usedImages.contains(image.id) { let n = imageBytes(image); isize += n; ireclaim += n }
        var rows = [Usage(type: "Images", total: images.count, active: images.values.filter { usedImages.contains($0.id) }.count,
                          size: isize, reclaimable: ireclaim)]
        var csize: UInt64 = 0, creclaim: UInt64 = 0, running = 0
        for r in containers {
            let size = du.measure(cs.path(r.id))
            csize += size
            if runs(r) { running += 1 } else { creclaim += size }
        }
        rows.append(Usage(type: "Containers", total: containers.count, active: running, size: csize, reclaimable: creclaim))
        // Volumes: active when a container (any, as Docker counts them) mounts one.
        var inUse: Set<String> = []
        for r in containers { for u in ContainerMount.volumes(r.config) { inUse.insert(u.source) } }
        let volumes = VolumeStore(store: store)
        var vsize: UInt64 = 0, vreclaim: UInt64 = 0, vactive = 0
        let allVolumes = volumes.list()
        for v in allVolumes {
            let size = du.measure(volumes.path(v.name))
            vsize += size
            if inUse.contains(v.name) { vactive += 1 } else { vreclaim += size }
        }
        rows.append(Usage(type: "Local Volumes", total: allVolumes.count, active: vactive, size: vsize, reclaimable: vreclaim))
        // The build cache (docs/builds.md): its records and cache mounts, none in use
        // between builds. (The images its records point at are counted with the images.)
        let buildCache = store.root + "/build-cache"
        let records = FileSystem.list(buildCache).filter { $0.hasSuffix(".json") }.count
        let cacheMounts = FileSystem.list(buildCache + "/mounts").count
        let bsize = du.measure(buildCache)
        rows.append(Usage(type: "Build Cache", total: records + cacheMounts, active: 0, size: bsize, reclaimable: bsize))
        var ssize: UInt64 = 0, sreclaim: UInt64 = 0, writing = 0, count = 0
        for name in FileSystem.list(store.tmp) {
            let dir = store.tmp + "/" + name
            let size = du.measure(dir)
            count += 1
            ssize += size
            if isStale(dir, name: name).0 { sreclaim += size } else { writing += 1 }
        }
        rows.append(Usage(type: "Staging", total: count, active: writing, size: ssize, reclaimable: sreclaim))
        // What is left: the engine's own (the walk of the whole root counts only what the
        // rows above did not).
        let cache = du.measure(store.seccompCache)
        let other = cache + du.measure(store.root)
        rows.append(Usage(type: "Engine", total: 0, active: 0, size: other, reclaimable: cache))
        return rows
    }

    /// What `system prune` drops besides containers, images and volumes: the staging of
    /// writers that are gone, the private partial downloads of pulls that are gone and the
    /// compiled seccomp programs (made again when needed).
    public static func pruneCaches(_ store: Store) {
        _ = staging(store, repair: true)
        PartialDownloads.removeStale(root: store.root)
        for name in FileSystem.list(store.seccompCache) { unlink(store.seccompCache + "/" + name) }
    }

    static func bytes(_ n: UInt64) -> String {
        n >= 1 << 20 ? "\(n >> 20) MiB" : n >= 1024 ? "\(n >> 10) KiB" : "\(n) bytes"
    }
}
