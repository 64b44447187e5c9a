#if canImport(Glibc)
import Glibc
#endif

/// The state root on disk (docs/design.md, invariant 4):
///
///     ROOT/blobs/sha256/<hex>      content-addressed blobs: configs, manifests, layer tars
///     ROOT/layers/<hex>/diff       a layer unpacked once, by diff ID (overlay lower dir)
///     ROOT/layers/<hex>/layer.json its record
///     ROOT/images.json             the images and their names
///     ROOT/tmp/                    staging for work in progress (one dir per operation)
///     ROOT/store.lock              held while the shared records change
///     ROOT/events.log              what happened, for `mdlua events` (EventLog)
///     ROOT/seccomp/<digest>.bpf    compiled seccomp programs (SeccompFilter.load)
///     ROOT/partial/                downloads of pulls, resumable (PartialDownloads)
///     ROOT/helpers/                the registry helper written out of this binary (HelperCache)
///     ROOT/mountpoints/            the layer over every container's image (MountPointLayer)
///     ROOT/containers/<id>/        a container (ContainerStore)
///
/// Writers build everything in a staging dir, then publish it with renames under the lock;
/// readers never lock (records are replaced atomically). A staging dir whose owner died
/// (its flock is free) is removed by the next writer.
public final class Store {
    public let root: String
    public let blobs: BlobStore
    public let layers: LayerStore
    public let images: ImageIndex
    public let events: EventLog

    public init(root: String) {
        self.root = root
        events = EventLog(root: root)
        blobs = BlobStore(dir: root + "/blobs/sha256")
        layers = LayerStore(dir: root + "/layers")
        images = ImageIndex(path: root + "/images.json")
    }

    var tmp: String { root + "/tmp" }
    public var seccompCache: String { root + "/seccomp" }

    /// Creates the layout. The root is 0700: layers keep setuid files and device nodes, which
    /// must not be reachable by other users of the host.
    public func prepare() throws {
        if !FileSystem.isDirectory(root) {
            try FileSystem.makeDirectories(root, mode: 0o700)
            chmod(root, 0o700)
        }
        for d in [blobs.dir, layers.dir, tmp] { try FileSystem.makeDirectories(d, mode: 0o700) }
    }

    /// Puts on disk everything written so far on the store's file system: the staged layers'
    /// blobs and unpacked trees, a pull's downloads. Called before they are published, so
    /// that nothing the store names can be empty or torn after a crash (docs/images.md,
    /// "Durability"). One syncfs(2) for all of it: the writers started writing each file
    /// out as they finished it (FileSystem.startWriteback), so it waits for little, where
    /// an fsync of each file waited for each in turn (and for each tree's every file).
    public func syncStaged() throws {
        try FileSystem.syncFileSystemChecked(of: root)
    }

    /// Runs `body` holding the store lock.
    public func locked<T>(_ body: () throws -> T) throws -> T {
        try prepare()
        let lock = try FileLock(path: root + "/store.lock")
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }

    /// A new staging directory; removed when released unless its contents were moved away.
    public func staging(_ purpose: String) throws -> Staging {
        try prepare()
        removeAbandonedStaging()
        return try Staging(parent: tmp, purpose: purpose)
    }

    /// Taking a staging dir's lock proves its owner is gone; one without a lock is its
    /// owner's until the pid in its name is dead (it may be between mkdir and the lock).
    func removeAbandonedStaging() {
        _ = StateCheck.staging(self, repair: true)
    }

    /// Removes layers and blobs that no image uses. Call with the lock held.
    public func collectGarbage(extraLayersInUse: Set<Digest> = []) throws {
        let all = try images.load()
        var usedLayers = extraLayersInUse
        var usedBlobs: Set<Digest> = []
        for image in all.values {
            usedBlobs.insert(image.id)
            usedBlobs.insert(image.manifest)
            for l in image.layers { usedLayers.insert(l) }
            if let m = try? JSON.parse(blobs.read(image.manifest)) {
                for d in m["layers"]?.array ?? [] {
                    if let s = d["digest"]?.string, let digest = try? Digest(parsing: s) { usedBlobs.insert(digest) }
                }
            }
        }
        for layer in layers.list() {
            if usedLayers.contains(layer.diffID) || layer.keep {
                usedBlobs.insert(layer.blob)
            } else {
                try layers.remove(layer.diffID)
            }
        }
        for blob in blobs.list() where !usedBlobs.contains(blob) { blobs.remove(blob) }
    }
}

/// A directory under ROOT/tmp owned by this process through a flock on `.owner`.
public final class Staging {
    public let path: String
    let lock: FileLock

    init(parent: String, purpose: String) throws {
        path = parent + "/\(purpose)-\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        guard mkdir(path, 0o700) == 0 else { throw EngineError.system("mkdir \(path)") }
        lock = try FileLock(path: path + "/.owner")
    }

    deinit { try? FileSystem.removeTree(path) }
}
