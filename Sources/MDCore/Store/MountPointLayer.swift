#if canImport(Glibc)
import Glibc
#endif

/// ROOT/mountpoints: a layer laid over every container's image (its topmost lower dir)
/// holding the mount points the runtime always uses, empty: /proc, /sys, /dev, and the
/// files /etc/hostname, /etc/hosts and /etc/resolv.conf. Without it each container made
/// them at its first start in its own upper dir (a copy-up of /etc and three new files,
/// ~2 ms of a `run --rm busybox true` on this host's ext4, and as many inodes to free at
/// removal). Docker's per-container "init layer" holds the same; as there, the image's own
/// copies of these files are hidden (while the container runs the bind mounts hide them
/// anyway), and so is an image's /etc that is not a directory.
extension Store {
    static let mountPointDirectories = ["dev", "etc", "proc", "sys"]
    static let mountPointFiles = ["etc/hostname", "etc/hosts", "etc/resolv.conf"]

    /// The layer's directory, made on first use (built in a staging dir, then renamed in
    /// place: a concurrent first use finds it whole or makes its own and loses the rename).
    public func mountPointLayer() throws -> String {
        let path = root + "/mountpoints"
        if FileSystem.isDirectory(path) { return path }
        let staging = try self.staging("mountpoints")
        let layer = staging.path + "/layer"
        try FileSystem.makeDirectories(layer, mode: 0o755)
        for d in Store.mountPointDirectories { try FileSystem.makeDirectories(layer + "/" + d, mode: 0o755) }
        for f in Store.mountPointFiles { try FileSystem.writeNewFile(layer + "/" + f, []) }
        if rename(layer, path) != 0 && !FileSystem.isDirectory(path) { throw EngineError.system("rename \(layer) to \(path)") }
        return path
    }
}
