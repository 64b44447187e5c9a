#if canImport(Glibc)
import Glibc
#endif

/// What the host's own networking already uses, so that a new bridge's subnet clashes with
/// none of it: the main routing table's routes (/proc/net/route) and every address of every
/// link. Choosing happens under a host-wide lock, held until the bridge exists with its
/// address, so that state roots that start networks at once (tests in parallel) see each
/// other's bridges.
enum HostNetworks {
    static let lockPath = "/run/mdlua-networks.lock"

    static func locked<T>(_ body: () throws -> T) throws -> T {
        let lock = try FileLock(path: lockPath)
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }

    /// Every IPv4 subnet the host routes or has an address in; `except` a bridge of ours.
    static func subnetsInUse(except bridge: String? = nil) -> [IPv4Subnet] {
        var out: [IPv4Subnet] = []
        if let text = try? FileSystem.readFile("/proc/net/route") {
            for line in String(decoding: text, as: UTF8.self).split(separator: "\n").dropFirst() {
                let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                guard f.count >= 8, String(f[0]) != bridge, let dst = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16) else { continue }
                if mask == 0 { continue }   // the default route clashes with nothing
                out.append(IPv4Subnet(IPv4Address(UInt32(bigEndian: dst)), prefix: UInt32(bigEndian: mask).nonzeroBitCount))
            }
        }
        var ifa: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&ifa) == 0 {
            var p = ifa
            while let a = p {
                defer { p = a.pointee.ifa_next }
                guard let addr = a.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET),
                      let netmask = a.pointee.ifa_netmask else { continue }
                if let b = bridge, String(cString: a.pointee.ifa_name) == b { continue }
                let ip = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                let m = netmask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                out.append(IPv4Subnet(IPv4Address(ip), prefix: m.nonzeroBitCount))
            }
            freeifaddrs(ifa)
        }
        return out
    }

    /// The pool new networks' subnets come from when none is given: 10.222.0.0/16 in /24s
    /// (Docker's 172.17.0.0/16 and Podman's 10.88.0.0/16 and 10.89.0.0/16 are left to them).
    static let pool = IPv4Subnet("10.222.0.0/16")!

    /// The first /24 of the pool that clashes with nothing in `taken`.
    static func pick(avoiding taken: [IPv4Subnet]) -> IPv4Subnet? {
        for i in 0..<UInt32(256) {
            let s = IPv4Subnet(IPv4Address(pool.network.value + i << 8), prefix: 24)
            if !taken.contains(where: { $0.overlaps(s) }) { return s }
        }
        return nil
    }

    /// Forwarding between links, as Docker turns it on when its first bridge is made.
    static func enableForwarding(bridge: String) {
        for (path, value) in [("/proc/sys/net/ipv4/ip_forward", "1"),
                              // 127.0.0.1:PORT is DNAT'd to a container through the bridge:
                              // the kernel must route a loopback source out of it.
                              ("/proc/sys/net/ipv4/conf/\(bridge)/route_localnet", "1")] {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = value.withCString { write(fd, $0, strlen($0)) }
                close(fd)
            }
        }
    }
}
