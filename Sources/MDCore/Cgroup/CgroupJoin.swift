import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// What a container's process needs to enter its cgroup by itself, before it does anything
/// else (mdl_cgroup_join in mdl_container.h says how and why): v1 `tasks` files open for
/// writing, or the v2 cgroup's directory. Open until the object goes.
public final class CgroupJoin {
    let join: UnsafeMutablePointer<mdl_cgroup_join>
    private var arena = CStringArena()
    private let fds: UnsafeMutablePointer<Int32>
    private let count: Int

    /// v1: each hierarchy's `tasks` file.
    convenience init(tasks paths: [String]) throws { try self.init(files: paths, directory: nil) }

    /// v2: the cgroup's directory.
    convenience init(directory path: String) throws { try self.init(files: [], directory: path) }

    private init(files paths: [String], directory: String?) throws {
        join = .allocate(capacity: 1)
        join.initialize(to: mdl_cgroup_join())
        count = paths.count
        fds = .allocate(capacity: max(1, paths.count))
        fds.initialize(repeating: -1, count: max(1, paths.count))
        join.pointee.files = UnsafePointer(fds)
        join.pointee.dir = -1
        for (i, p) in paths.enumerated() {
            fds[i] = open(p, O_WRONLY | O_CLOEXEC)
            guard fds[i] >= 0 else { throw EngineError.system("open \(p)") }
        }
        join.pointee.names = arena.array(paths)
        join.pointee.nfiles = Int32(paths.count)
        if let directory {
            join.pointee.dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard join.pointee.dir >= 0 else { throw EngineError.system("open \(directory)") }
            join.pointee.dir_name = arena.dup(directory)
        }
    }

    deinit {
        for i in 0..<count where fds[i] >= 0 { close(fds[i]) }
        if join.pointee.dir >= 0 { close(join.pointee.dir) }
        fds.deallocate()
        join.deallocate()
        arena.free()
    }
}
