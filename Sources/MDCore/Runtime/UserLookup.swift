#if canImport(Glibc)
import Glibc
#endif

/// `-u USER[:GROUP]` resolved as Docker does: names through the container's own
/// /etc/passwd and /etc/group (read inside its root), numbers as they are.
public enum UserLookup {
    struct Entry { let name: String; let id: UInt32; let gid: UInt32; let home: String; let members: [String] }

    static func read(_ path: [String], in root: RootedDirectory) -> [[String]] {
        let fd = root.open(path, flags: O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let data = (try? FileSystem.readAll(fd, what: path.joined(separator: "/"))) ?? []
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Resolves `user` into the spec. As Docker: a non-root user starts with no effective or
    /// permitted capabilities (the bounding set still limits what a setuid binary could get).
    public static func apply(_ user: String, in root: RootedDirectory, to spec: inout RuntimeSpec) throws {
        try resolve(user, in: root, into: &spec)
        if spec.uid != 0 {
            for set in ["effective", "permitted", "ambient", "inheritable"] { spec.capabilities[set] = [] }
        }
    }

    public static func resolve(_ user: String, in root: RootedDirectory, into spec: inout RuntimeSpec) throws {
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        guard let u = parts.first, !u.isEmpty else { throw EngineError("invalid user \"\(user)\"") }
        let passwd = read(["etc", "passwd"], in: root)
        let groups = read(["etc", "group"], in: root)
        var uid: UInt32, gid: UInt32, name: String?
        if let n = UInt32(u) {
            uid = n
            let entry = passwd.first { $0.count >= 4 && UInt32($0[2]) == n }
            gid = entry.flatMap { UInt32($0[3]) } ?? 0
            name = entry?[0]
            if let e = entry, e.count >= 6 { setHome(e[5], &spec) }
        } else {
            guard let e = passwd.first(where: { $0.count >= 4 && $0[0] == u }), let i = UInt32(e[2]), let g = UInt32(e[3]) else {
                throw EngineError("unable to find user \(u): no matching entries in passwd file")
            }
            uid = i; gid = g; name = u
            if e.count >= 6 { setHome(e[5], &spec) }
        }
        if parts.count == 2 {
            let g = parts[1]
            if let n = UInt32(g) { gid = n } else {
                guard let e = groups.first(where: { $0.count >= 3 && $0[0] == g }), let n = UInt32(e[2]) else {
                    throw EngineError("unable to find group \(g): no matching entries in group file")
                }
                gid = n
            }
        }
        var extra: [UInt32] = []
        if let name {
            for e in groups where e.count >= 4 && e[3].split(separator: ",").contains(Substring(name)) {
                if let n = UInt32(e[2]), n != gid, !extra.contains(n) { extra.append(n) }
            }
        }
        spec.uid = uid
        spec.gid = gid
        spec.additionalGids = extra + spec.additionalGids.filter { !extra.contains($0) }
        if !spec.env.contains(where: { $0.hasPrefix("HOME=") }) { setHome(uid == 0 ? "/root" : "/", &spec) }
    }

    static func setHome(_ home: String, _ spec: inout RuntimeSpec) {
        if !spec.env.contains(where: { $0.hasPrefix("HOME=") }) { spec.env.append("HOME=" + home) }
    }
}
