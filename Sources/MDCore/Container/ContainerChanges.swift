import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// What a container changed in its image (its overlay upper dir): `diff`, and `commit`,
/// which turns the changes into a layer.
public enum ContainerChanges {
    public enum Kind: String { case added = "A", changed = "C", deleted = "D" }

    /// Mount points the runtime made (an empty /etc/hosts for its bind mount, say) that the
    /// image did not have: not the container's changes. Relative paths.
    static func mountPoints(_ store: ContainerStore, _ r: ContainerRecord, inLower: ([String]) -> Bool) -> Set<String> {
        guard let spec = try? store.spec(r), let upper = try? RootedDirectory(path: WritableLayer(store, r).upper) else { return [] }
        var out: Set<String> = []
        for m in spec.mounts {
            guard let parts = try? RootedDirectory.components(m.destination, what: "mount"), !parts.isEmpty,
                  !inLower(parts) else { continue }
            // The upper dir is the container's: resolved in it, never through its symlinks.
            // O_PATH: nothing is opened for reading (a FIFO or a device node stays untouched).
            let fd = upper.open(parts, flags: MDL_O_PATH | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { continue }
            let isDir = (UInt32(st.st_mode) & FileType.mask) == FileType.directory
            var isEmptyDir = false
            if isDir {
                let dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if dfd >= 0 {
                    isEmptyDir = (try? FileSystem.entries(dfd, path: m.destination))?.isEmpty ?? false
                    close(dfd)
                }
            }
            if (!isDir && st.st_size == 0) || isEmptyDir {
                out.insert(parts.joined(separator: "/"))
                // The directories made on the way to it (a build's /run/secrets for a
                // secret): theirs too when they hold nothing else.
                var up = Array(parts.dropLast())
                while !up.isEmpty, !inLower(up), onlyHolds(upper, up, out) {
                    out.insert(up.joined(separator: "/"))
                    up.removeLast()
                }
            }
        }
        return out
    }

    /// Whether the directory `parts` of the upper dir holds only entries of `skipped`.
    static func onlyHolds(_ upper: RootedDirectory, _ parts: [String], _ skipped: Set<String>) -> Bool {
        let fd = upper.open(parts, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard let names = try? FileSystem.entries(fd, path: parts.joined(separator: "/")) else { return false }
        let prefix = parts.joined(separator: "/") + "/"
        return names.allSatisfy { skipped.contains(prefix + $0.0) }
    }

    static func lowerCheck(_ store: ContainerStore, _ r: ContainerRecord) throws -> ([String]) -> Bool {
        guard let image = try store.store.images.load()[r.image] else { throw EngineError("the image of \(r.name) is gone") }
        let lowers = try image.layers.map { try RootedDirectory(path: store.store.layers.diffPath($0)) }
        return { parts in
            lowers.contains { l in
                let fd = l.open(parts, flags: MDL_O_PATH | O_NOFOLLOW)
                if fd >= 0 { close(fd); return true }
                return false
            }
        }
    }

    /// Changed paths, sorted, as `docker diff` lists them.
    public static func list(_ store: ContainerStore, _ r: ContainerRecord) throws -> [(Kind, String)] {
        let layer = WritableLayer(store, r)
        try layer.ready()
        let inLower = try lowerCheck(store, r)
        let skip = mountPoints(store, r, inLower: inLower)
        let upper = layer.upper
        var out: [(Kind, String)] = []
        func walk(_ dirfd: Int32, _ parts: [String]) throws {
            for (name, isDir) in try FileSystem.entries(dirfd, path: upper) {
                let p = parts + [name]
                if skip.contains(p.joined(separator: "/")) { continue }
                var st = stat()
                fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)
                let path = "/" + p.joined(separator: "/")
                if (UInt32(st.st_mode) & FileType.mask) == FileType.character && st.st_rdev == 0 {
                    out.append((.deleted, path))
                    continue
                }
                out.append((inLower(p) ? .changed : .added, path))
                if isDir {
                    let child = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if child >= 0 {
                        defer { close(child) }
                        try walk(child, p)
                    }
                }
            }
        }
        let fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open \(upper)") }
        defer { close(fd) }
        try walk(fd, [])
        return out.sorted { $0.1 < $1.1 }
    }

    /// `commit`: the upper dir as a new layer (whiteouts back to `.wh.` entries) on top of
    /// the container's image, with `config` as the new image's config.
    /// With `clampTime`, no entry of the layer is dated later than it (a reproducible build).
    public static func commit(_ store: ContainerStore, _ r: ContainerRecord, config: JSON, names: [String],
                              comment: String, clampTime: Int64? = nil) throws -> ImageRecord {
        guard let image = try store.store.images.load()[r.image] else { throw EngineError("the image of \(r.name) is gone") }
        let base = try image.layers.map { try store.store.layers.get($0) }
        let layer = WritableLayer(store, r)
        try layer.ready()
        let staging = try store.store.staging("commit")
        let skip = mountPoints(store, r, inLower: try lowerCheck(store, r))
        let staged = try LayerCreator.pack(directory: layer.upper, staging: staging,
                                           what: "changes of \(r.name)", excluding: skip,
                                           clampTime: clampTime)
        try store.store.syncStaged()
        return try store.store.locked {
            let layer = try staged.publish(to: store.store, comment: comment)
            return try ImageAssembler.create(in: store.store, layers: base + [layer], config: config, names: names)
        }
    }
}
