#if canImport(Glibc)
import Glibc
#endif

/// The host ports of a running container's published ports, held by a bound socket in the
/// process that started it (its monitor, or the foreground `run`) until its exit, as Podman's
/// conmon holds them. The firewall's DNAT takes the traffic before it could reach these
/// sockets; what they do is make the port taken for everything else on the host: another
/// program's bind() fails, and so does another state root's check (PortBinding.hostPortFree),
/// which has no view of this root's records or rules. Without SO_REUSEADDR, so that no
/// other socket can share the port.
enum PortReservations {
    private static var held: [String: [Int32]] = [:]

    /// Binds every port of `ports` for the container `id`; the first that cannot be bound
    /// is the error, naming it, and nothing stays held.
    static func reserve(_ id: String, _ ports: [PortBinding]) throws {
        var fds: [Int32] = []
        for p in ports {
            let fd = socket(AF_INET, PortBinding.socketType(p.proto), 0)
            guard fd >= 0 else { break }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = p.hostPort.bigEndian
            addr.sin_addr.s_addr = (IPv4Address(p.hostIP)?.value ?? 0).bigEndian
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if !ok {
                let why = String(cString: strerror(errno))
                close(fd)
                for f in fds { close(f) }
                let address = p.hostIP.isEmpty ? "0.0.0.0" : p.hostIP
                throw EngineError("port is already allocated: \(address):\(p.hostPort)/\(p.proto) (published for \(p.containerPort)/\(p.proto)): \(why)")
            }
            fds.append(fd)
        }
        held[id, default: []] += fds
    }

    /// Gives the container's ports back (at its exit; the process's end does it otherwise).
    static func release(_ id: String) {
        for fd in held.removeValue(forKey: id) ?? [] { close(fd) }
    }
}
