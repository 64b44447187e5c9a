import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// Names on user networks, served by Debian's aardvark-dns (Podman's DNS server) on each
/// network's gateway, port 53. One server per state root, reading ROOT/networks/aardvark/:
/// a file per network that has containers, named after it (docs/networking.md gives the
/// format). It reloads the files on SIGHUP and forwards other names to the host's
/// resolvers. It runs while a file is there: started with the first container of a DNS
/// network, stopped when the last one goes.
enum DNSServer {
    static let candidates = ["/usr/lib/podman/aardvark-dns", "/usr/libexec/podman/aardvark-dns", "/usr/bin/aardvark-dns"]

    static var binary: String? {
        if let p = getenv("MDLUA_AARDVARK_DNS").map({ String(cString: $0) }), !p.isEmpty { return access(p, X_OK) == 0 ? p : nil }
        return candidates.first { access($0, X_OK) == 0 }
    }

    static var available: Bool { binary != nil }

    static func directory(_ root: String) -> String { root + "/networks/aardvark" }

    /// The config file of a network: the gateway, then a line per container.
    static func config(_ n: Network) -> String {
        // The network's own upstream servers (network create --dns), instead of the host's.
        let upstream = n.options["dns_servers"].map { " " + $0 } ?? ""
        var lines = [n.gateway.description + upstream]
        for e in n.endpoints.values.sorted(by: { $0.address < $1.address }) {
            let names = ([e.containerName] + e.aliases + [String(e.containerID.prefix(12))]).filter { !$0.isEmpty }
            lines.append("\(e.containerID) \(e.address)  \(names.joined(separator: ","))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Makes the directory say what `networks` hold and tells the server (starts it, reloads
    /// it, or stops it when nothing is left). Called under the networks' lock.
    static func sync(root: String, networks: [Network]) {
        let dir = directory(root)
        let wanted = networks.filter { $0.dns && !$0.endpoints.isEmpty }
        if wanted.isEmpty && !FileSystem.isDirectory(dir) { return }
        guard let bin = binary else { return }
        var changed = false
        var keep = Set<String>()
        for n in wanted {
            let path = dir + "/" + n.name
            let text = config(n)
            keep.insert(n.name)
            let old = (try? FileSystem.readFile(path)).map { String(decoding: $0, as: UTF8.self) }
            if old != text {
                try? FileSystem.makeDirectories(dir, mode: 0o700)
                try? FileSystem.writeAtomically(path, Array(text.utf8), mode: 0o644, durable: false)
                changed = true
            }
        }
        for f in FileSystem.list(dir) where f != "aardvark.pid" && !f.hasPrefix(".") && !keep.contains(f) {
            unlink(dir + "/" + f)
            changed = true
        }
        let pid = running(dir)
        if wanted.isEmpty {
            if let p = pid { kill(p, SIGTERM) }
            try? FileSystem.removeTree(dir)
            return
        }
        if let p = pid {
            if changed { kill(p, SIGHUP) }
        } else {
            start(bin, dir)
        }
    }

    /// The server of this directory, if it runs.
    static func running(_ dir: String) -> pid_t? {
        guard let text = try? FileSystem.readFile(dir + "/aardvark.pid"),
              let pid = pid_t(String(decoding: text, as: UTF8.self).trimmingCharacters(in: " \n")), pid > 0, kill(pid, 0) == 0 else { return nil }
        let comm = (try? FileSystem.readFile("/proc/\(pid)/comm")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return comm.hasPrefix("aardvark") ? pid : nil
    }

    /// `aardvark-dns --config DIR -p 53 run`, as a daemon with no descriptor of ours (a
    /// caller's pipe or socket held open would keep the caller waiting for its end): it
    /// forks again, and its parent returns once the child serves; then aardvark.pid is there.
    static func start(_ bin: String, _ dir: String) {
        let args = [bin, "--config", dir, "-p", "53", "run"]
        var cargs: [UnsafePointer<CChar>?] = args.map { UnsafePointer(strdup($0)) } + [nil]
        defer { for p in cargs { free(UnsafeMutablePointer(mutating: p)) } }
        guard mdl_spawn_daemon(&cargs, -1) == 0 else { return }
        for _ in 0..<200 where running(dir) == nil { usleep(5000) }
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
