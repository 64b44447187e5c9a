#if canImport(Glibc)
import Glibc
#endif

/// A published port: host address and port to a container's port, TCP or UDP.
public struct PortBinding: Hashable {
    public var proto: String          // "tcp" or "udp"
    public var hostIP: String         // "" for every address of the host
    public var hostPort: UInt16
    public var containerPort: UInt16

    public init(proto: String, hostIP: String, hostPort: UInt16, containerPort: UInt16) {
        self.proto = proto
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
    }

    var protoNumber: UInt8 { proto == "udp" ? UInt8(IPPROTO_UDP) : UInt8(IPPROTO_TCP) }

    /// Two bindings that want the same host port (an address clashes with "every address").
    func clashes(with o: PortBinding) -> Bool {
        proto == o.proto && hostPort == o.hostPort && (hostIP == o.hostIP || hostIP.isEmpty || o.hostIP.isEmpty)
    }

    var json: JSON {
        .object(["proto": .string(proto), "host_ip": .string(hostIP), "host_port": .int(Int64(hostPort)),
                 "container_port": .int(Int64(containerPort))])
    }

    init?(json j: JSON) {
        guard let p = j["proto"]?.string, let hp = j["host_port"]?.int, let cp = j["container_port"]?.int else { return nil }
        self.init(proto: p, hostIP: j["host_ip"]?.string ?? "", hostPort: UInt16(truncatingIfNeeded: hp),
                  containerPort: UInt16(truncatingIfNeeded: cp))
    }

    static func socketType(_ proto: String) -> Int32 {
        (proto == "udp" ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)) | Int32(SOCK_CLOEXEC.rawValue)
    }

    /// Whether the host can give this port now: a socket is bound to it and closed again
    /// (a service of the host's, or another engine's proxy, holds it otherwise).
    func hostPortFree() -> Bool {
        let fd = socket(AF_INET, PortBinding.socketType(proto), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = hostPort.bigEndian
        addr.sin_addr.s_addr = (IPv4Address(hostIP)?.value ?? 0).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A port the kernel picks as free now (bind to port 0), for `-p 80` and `-P`.
    static func ephemeralPort(proto: String) -> UInt16? {
        let fd = socket(AF_INET, PortBinding.socketType(proto), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        return ok ? UInt16(bigEndian: addr.sin_port) : nil
    }
}
