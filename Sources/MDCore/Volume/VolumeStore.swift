#if canImport(Glibc)
import Glibc
#endif

/// The volumes of a state root, `ROOT/volumes/<name>/` (docs/volumes.md). A volume is made
/// in a staging dir under `ROOT/tmp` and renamed into place with its record, under the
/// store lock, so a creation killed half-way leaves only staging that the next writer
/// removes; a removal renames the volume into staging first, then deletes it. The record
/// is the volume's one owner record; `remove` its one teardown (an unmount first, for a
/// volume with a file system of its own).
public struct VolumeStore {
    public let store: Store
    public var dir: String { store.root + "/volumes" }

    public init(store: Store) { self.store = store }

    public func path(_ name: String) -> String { dir + "/" + name }
    /// What containers mount: the volume's data directory (or the mount point of its file system).
    public func mountpoint(_ name: String) -> String { path(name) + "/_data" }

    public func get(_ name: String) throws -> Volume {
        guard Volume.isValidName(name) else { throw EngineError("invalid volume name \"\(name)\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]*") }
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path(name) + "/volume.json") } catch {
            throw EngineError("no such volume: \(name)")
        }
        return try Volume(json: JSON.parse(bytes))
    }

    public func exists(_ name: String) -> Bool { FileSystem.exists(path(name) + "/volume.json") }

    /// Every volume, by name.
    public func list() -> [Volume] {
        FileSystem.list(dir).filter(Volume.isValidName).compactMap { try? get($0) }
    }

    /// Creates the volume, or returns the one of that name (`created` false then), as
    /// Docker's `volume create` and `-v NAME:/path` do.
    @discardableResult
    public func create(_ v: Volume) throws -> (volume: Volume, created: Bool) {
        guard Volume.isValidName(v.name) else {
            throw EngineError("invalid volume name \"\(v.name)\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        }
        try VolumeMount.check(v.options)
        return try store.locked {
            if let existing = try? get(v.name) { return (existing, false) }
            try FileSystem.makeDirectories(dir, mode: 0o700)
            let staging = try store.staging("volume")
            try FileSystem.makeDirectories(staging.path + "/_data", mode: 0o755)
            if let size = v.options["size"] { try VolumeMount.makeImage(staging.path + "/disk.img", size: size) }
            try FileSystem.writeNewFile(staging.path + "/volume.json", Array(v.json.pretty().utf8), mode: 0o600)
            let target = path(v.name)
            // An unfinished one cannot exist: it is created by this rename. A directory without
            // a record (a removal that stopped half-way, see remove) goes first.
            if FileSystem.exists(target) { try FileSystem.removeTree(target) }
            unlink(staging.path + "/.owner")
            guard rename(staging.path, target) == 0 else { throw EngineError.system("create volume \(v.name)") }
            return (v, true)
        }
    }

    /// Removes the volume: its file system unmounted, the directory moved to staging and
    /// deleted. `usedBy`: the containers that use it (the caller checks; refused when any).
    public func remove(_ name: String) throws {
        _ = try get(name)
        try store.locked {
            try VolumeMount.unmount(mountpoint(name))
            let staging = try store.staging("volume-rm")
            guard rename(path(name), staging.path + "/volume") == 0 else { throw EngineError.system("remove volume \(name)") }
            try FileSystem.removeTree(staging.path + "/volume")
        }
    }

    /// Makes the volume ready to be mounted: its own file system mounted on `_data` when
    /// it has one (kept mounted until the volume is removed).
    public func prepare(_ v: Volume) throws {
        guard VolumeMount.hasFileSystem(v.options) else { return }
        try store.locked { try VolumeMount.mount(v, at: mountpoint(v.name), image: path(v.name) + "/disk.img") }
    }

    /// Bytes a volume holds (apparent sizes, as `du --apparent-size`).
    public func size(_ name: String) -> UInt64 { FileSystem.treeSize(mountpoint(name)) }
}
