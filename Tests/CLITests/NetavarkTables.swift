import Foundation

/// netavark (podman's and buildah's network backend, through iptables-nft) makes `table ip
/// nat` and `table ip filter` and leaves them when its networks are gone. The tests that run
/// podman or buildah remove, when they end, such a table that was not there before they
/// began and holds only netavark's skeleton now (no rule of a network: nothing matches an
/// address or names a container's port chain); one another program uses stays.
enum NetavarkTables {
    static func nft(_ args: [String]) -> String { MDLuaBinary.run(args, executable: "/usr/sbin/nft").stdout }

    static func current() -> Set<String> {
        Set(nft(["list", "tables"]).split(separator: "\n").filter { $0.hasPrefix("table ") }.map(String.init))
    }

    static func removeSkeletons(before: Set<String>) {
        let hooks: Set<String> = ["PREROUTING", "POSTROUTING", "OUTPUT", "INPUT", "FORWARD"]
        for table in current().subtracting(before) where table == "table ip nat" || table == "table ip filter" {
            let name = table.split(separator: " ").dropFirst().map(String.init)
            let text = nft(["list", "table"] + name)
            let chains = text.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                return f.count >= 2 && f[0].trimmingCharacters(in: .whitespaces) == "chain" ? String(f[1]) : nil
            }
            guard chains.allSatisfy({ $0.hasPrefix("NETAVARK") || hooks.contains($0) }) else { continue }
            guard !text.contains("ip saddr"), !text.contains("ip daddr"), !text.contains("NETAVARK-DN-") else { continue }
            _ = nft(["delete", "table"] + name)
        }
    }
}
