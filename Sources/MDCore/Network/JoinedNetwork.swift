#if canImport(Glibc)
import Glibc
#endif

/// `--network container:ID`: the container's process enters the network namespace of
/// another, running container instead of one of its own (as Docker's container network
/// mode). The container joined is marked (`joined-network` in its directory), so that its
/// exit removes its veth pairs itself: the namespace outlives it while the joiner runs, and
/// the kernel would keep its links and address until then (NetworkHook.swift).
enum JoinedNetwork {
    static let prefix = "container:"
    static let marker = "joined-network"

    /// The ID of the container whose namespace `config.network` joins, if it joins one.
    static func target(_ config: ContainerConfig) -> String? {
        config.network.hasPrefix(prefix) ? String(config.network.dropFirst(prefix.count)) : nil
    }

    /// The namespace of the container `ref`, which must run.
    static func namespace(_ store: ContainerStore, _ ref: String) throws -> NetworkNamespace {
        let r = try store.find(ref)
        guard r.status == .running || r.status == .paused, r.processAlive else {
            throw EngineError("cannot join the network of a non running container: \(r.name)")
        }
        let fd = open("/proc/\(r.pid)/ns/net", O_RDONLY | O_CLOEXEC)
        // The pid checked again after the open: a process that ended in between is not it.
        guard fd >= 0, r.processAlive else {
            if fd >= 0 { close(fd) }
            throw EngineError("cannot join the network of container \(r.name): its process is gone")
        }
        let mark = open(store.path(r.id) + "/" + marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if mark >= 0 { close(mark) }
        return NetworkNamespace(fd: fd)
    }

    /// Whether a container's namespace was joined by another since it was created.
    static func isJoined(_ store: ContainerStore, _ id: String) -> Bool {
        access(store.path(id) + "/" + marker, F_OK) == 0
    }
}
