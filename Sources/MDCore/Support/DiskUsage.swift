#if canImport(Glibc)
import Glibc
#endif

/// Bytes on disk as `du -x` counts them: allocated blocks of every entry (directories
/// included), a file with several links once, and nothing past a mount point (a running
/// container's root, a volume's own file system). One instance measures several trees of
/// the same state root: what one measure counted, a later one does not count again (a tree
/// measured before is skipped inside a bigger one, a link shared between trees counts in
/// the first), so the trees of a root and then the root itself add up to `du -sx ROOT`.
public final class DiskUsage {
    private var links: Set<[UInt64]> = []
    private var measured: Set<[UInt64]> = []
    private let device: UInt64

    /// A tree measured: its path, its device and inode, and the bytes counted for it.
    public struct Tree {
        public let path: String
        public let key: [UInt64]
        public let bytes: UInt64
        public init(path: String, key: [UInt64], bytes: UInt64) { self.path = path; self.key = key; self.bytes = bytes }
    }
    /// Every tree measured, in order.
    public private(set) var trees: [Tree] = []

    /// For trees on the file system that holds `root`.
    public init(root: String) {
        var st = stat()
        device = lstat(root, &st) == 0 ? UInt64(st.st_dev) : 0
    }

    /// The bytes of the tree at `path` not counted yet; 0 when it is missing.
    public func measure(_ path: String) -> UInt64 {
        let bytes = walk(AT_FDCWD, path, top: true)
        if let key = DiskUsage.key(path) { trees.append(Tree(path: path, key: key, bytes: bytes)) }
        return bytes
    }

    /// Counts the tree at `path` as measured already, without a walk (a later measure of a
    /// tree above it skips it).
    public func skip(_ path: String) {
        if let key = DiskUsage.key(path) { measured.insert(key) }
    }

    /// Device and inode of `path`, not following a symlink; nil when it is missing.
    public static func key(_ path: String) -> [UInt64]? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return [UInt64(st.st_dev), UInt64(st.st_ino)]
    }

    private func walk(_ dirfd: Int32, _ name: String, top: Bool) -> UInt64 {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, UInt64(st.st_dev) == device else { return 0 }
        let key = [UInt64(st.st_dev), UInt64(st.st_ino)]
        guard !measured.contains(key) else { return 0 }
        if top { measured.insert(key) }
        if st.st_nlink > 1 && (st.st_mode & S_IFMT) != S_IFDIR {
            guard links.insert(key).inserted else { return 0 }
        }
        var total = UInt64(st.st_blocks) * 512
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return total }
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return total }
        defer { close(fd) }
        for (entry, _) in (try? FileSystem.entries(fd, path: name)) ?? [] { total += walk(fd, entry, top: false) }
        return total
    }
}
