#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// Docker's copy-in: a volume that is empty when a container mounts it over a directory
/// that has content in the image gets that content first, owners, modes, times, extended
/// attributes, symlinks, device nodes and hard links kept (TreeCopier, exact, the copier of
/// `cp` too). The image's side is read through fds resolved in the container's root, never
/// following a symlink (the target path itself is resolved inside the root, as the mount
/// will be).
///
/// One copier at a time per volume (`copy.lock`); `copying` marks a copy under way, so the
/// next copier finds one a kill -9 interrupted, empties the volume and copies again.
enum VolumeCopyIn {
    static func populate(_ volumes: VolumeStore, _ name: String, rootfs: String, destination: String) throws {
        let root = try RootedDirectory(path: rootfs)
        let rel = destination.split(separator: "/").joined(separator: "/")
        let src = root.open(rel.isEmpty ? [] : [rel], flags: O_RDONLY | O_DIRECTORY)
        guard src >= 0 else { return }   // nothing there in the image (or not a directory)
        defer { close(src) }
        let lock = try FileLock(path: volumes.path(name) + "/copy.lock")
        defer { withExtendedLifetime(lock) {} }
        let marker = volumes.path(name) + "/copying"
        let dst = open(volumes.mountpoint(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dst >= 0 else { throw EngineError.system("open volume \(name)") }
        defer { close(dst) }
        if FileSystem.exists(marker) {
            try FileSystem.removeContents(dst, path: volumes.mountpoint(name))   // an interrupted copy
        } else if !(try FileSystem.entries(dst, path: name).filter { $0.name != "lost+found" }.isEmpty) {
            return
        }
        guard try !FileSystem.entries(src, path: destination).isEmpty else { return }
        unlink(marker)
        try FileSystem.writeNewFile(marker, [])
        var st = stat()
        fstat(src, &st)
        var copier = TreeCopier(options: TreeCopier.Options(owner: nil, exact: true),
                                context: "copy \(destination) into volume \(name)", top: dst)
        for (entry, _) in try FileSystem.entries(src, path: destination) {
            try copier.copy(from: src, entry, sourcePath: nil, to: dst, entry, path: entry, what: destination + "/" + entry)
        }
        try TreeCopier.copyXattrs(from: src, nil, to: dst, nil, context: "copy \(destination) into volume \(name)")
        fchown(dst, st.st_uid, st.st_gid)
        fchmod(dst, mode_t(st.st_mode & 0o7777))
        unlink(marker)
    }
}
