#if canImport(Glibc)
import Glibc
#endif

/// A container's writable layer: the overlay's upper/ and work/ dirs. Without a size limit
/// they are directories in the container's directory. With `--storage-opt size=`
/// (ContainerConfig.storageOpt) they live on a file system of that size: disk.img in the
/// container's directory, an ext4 made at `create` and loop-mounted on layer/ (LoopDevice,
/// the same code as a volume's `--opt size=`); writes past it get ENOSPC in the container.
///
/// The image stays mounted from its first use (start, or diff, commit, cp, export of a
/// container that never ran) until `rm`, whose teardown (RootfsHook, `removing`) unmounts
/// it; the loop device goes with the mount. Unmounting it at each exit instead would let a
/// `diff` that mounted it race a `start`: one could unmount what the other's overlay stands
/// on, and a later mount would attach the image a second time (docs/volumes.md).
///
/// Project quotas (xfs with prjquota) would limit a plain upper/ without an image; this
/// host's ext4 has none, so the image is the one backing for now, chosen here.
public struct WritableLayer {
    /// The container's directory.
    let dir: String
    /// Whether it has its own file system (a size limit).
    public let limited: Bool

    public init(_ cs: ContainerStore, _ r: ContainerRecord) {
        dir = cs.path(r.id)
        limited = r.config.storageOpt["size"] != nil
    }

    var image: String { dir + "/disk.img" }
    var mountPoint: String { dir + "/layer" }
    public var upper: String { (limited ? mountPoint : dir) + "/upper" }
    public var work: String { (limited ? mountPoint : dir) + "/work" }

    /// The storage options Docker's overlay2 driver takes (only `size`), checked: the size
    /// in bytes, nil without one.
    public static func size(_ options: [String: String]) throws -> UInt64? {
        if let k = options.keys.sorted().first(where: { $0 != "size" }) {
            throw EngineError("invalid storage option \"\(k)\": only size= is known")
        }
        return try options["size"].map(LoopDevice.parseSize)
    }

    /// A new image of `bytes` (mkfs.ext4, tens of ms), made in staging of its own before
    /// `create` takes the containers lock, so that other creates do not wait for it.
    static func makeImage(in store: Store, bytes: UInt64) throws -> Staging {
        let staging = try store.staging("layer")
        try LoopDevice.makeImage(staging.path + "/disk.img", bytes: bytes)
        return staging
    }

    /// What `create` makes in the container's staging dir: upper/ and work/, or the image
    /// made by `makeImage` moved in, with its mount point.
    static func make(in staging: String, image: Staging?) throws {
        guard let image else {
            for d in ["upper", "work"] { guard mkdir(staging + "/" + d, 0o755) == 0 else { throw EngineError.system("mkdir \(d)") } }
            return
        }
        guard mkdir(staging + "/layer", 0o700) == 0 else { throw EngineError.system("mkdir layer") }
        guard rename(image.path + "/disk.img", staging + "/disk.img") == 0 else { throw EngineError.system("move the layer's image") }
    }

    /// Makes upper/ and work/ reachable: a limited layer's image mounted (unless it is) with
    /// the two dirs on it.
    public func ready() throws {
        guard limited else { return }
        try LoopDevice.mountIfNeeded(image: image, at: mountPoint)
        for d in [upper, work] where mkdir(d, 0o755) != 0 && errno != EEXIST {
            throw EngineError.system("mkdir \(d)")
        }
    }

    /// At removal: the image unmounted (its loop device goes with it); none is fine.
    public func release() throws {
        guard limited || FileSystem.exists(mountPoint) else { return }
        try LoopDevice.unmountAll(mountPoint)
    }
}
