import Foundation
import XCTest

/// What a state root's networking leaves on the host, found by its names (docs/networking.md,
/// "Subnets, bridge names, tables"): its bridges `md<tag><n>`, its nf_tables table
/// `ip mdlua_<tag>`, the host ends `vm<id>` of its containers' veth pairs, and its DNS server.
/// Every test directory is checked when the test ends (`temporaryDirectory`), and what is
/// found is removed, so that one failure does not leave the host dirty for the next test.
enum NetworkLeaks {
    /// The 8 hex digits NetworkStore.tag derives from a root's path.
    static func tag(_ root: String) -> String {
        var h: UInt32 = 2166136261
        for b in root.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// Link names on the host (/sys/class/net).
    static func links() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? [] }

    /// The directories under a test directory that may be state roots, by path alone (one
    /// may be empty by now, or unmounted): its entries, and theirs where the entry is not a
    /// state root itself (`dir/a/root`).
    static func candidateRoots(in dir: String) -> [String] {
        let fm = FileManager.default
        func subdirectories(_ d: String) -> [String] {
            ((try? fm.contentsOfDirectory(atPath: d)) ?? []).map { d + "/" + $0 }.filter {
                var isDir: ObjCBool = false
                return fm.fileExists(atPath: $0, isDirectory: &isDir) && isDir.boolValue
            }
        }
        var out: [String] = []
        for d in subdirectories(dir) {
            out.append(d)
            if !fm.fileExists(atPath: d + "/containers") && !fm.fileExists(atPath: d + "/networks") {
                out += subdirectories(d)
            }
        }
        return out
    }

    /// Of `roots`, those whose tag names a link or an nf_tables table on the host now (one
    /// listing of each for all of them).
    static func rootsWithLinksOrTables(_ roots: [String]) -> [String] {
        let names = links()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
        p.arguments = ["list", "tables"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        var tables = ""
        if (try? p.run()) != nil {
            tables = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
        }
        return roots.filter { root in
            let t = tag(root)
            return names.contains { $0.hasPrefix("md" + t) } || tables.contains("mdlua_" + t + "\n")
                || FileManager.default.fileExists(atPath: root + "/networks/bridge.json")
        }
    }

    static func tableExists(_ tag: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
        p.arguments = ["list", "table", "ip", "mdlua_" + tag]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// What is left of `root`'s networking (and of the veths of `containerIDs`): a line per
    /// leak, empty when nothing is. The kernel removes a stopped container's veth pair in
    /// its own time (NetworkHook.swift): waited for, up to 5 s.
    static func left(root: String, containerIDs: [String] = []) -> [String] {
        let t = tag(root)
        var found: [String] = []
        for attempt in 0..<50 {
            let names = links()
            found = names.filter { $0.hasPrefix("md" + t) }.map { "bridge \($0)" }
            found += names.filter { n in containerIDs.contains { n.hasPrefix("vm" + $0.prefix(11)) } }.map { "veth \($0)" }
            if found.isEmpty || attempt == 49 { break }
            usleep(100_000)
        }
        if tableExists(t) { found.append("nf_tables table ip mdlua_\(t)") }
        let leases = (try? String(contentsOfFile: root + "/networks/bridge.json", encoding: .utf8)) ?? ""
        if leases.contains("\"container_id\"") { found.append("a lease on the default network") }
        return found
    }

    /// Removes what `left` found (after the failure is reported).
    static func clean(root: String, containerIDs: [String] = []) {
        let t = tag(root)
        for n in links() where n.hasPrefix("md" + t) || containerIDs.contains(where: { n.hasPrefix("vm" + $0.prefix(11)) }) {
            _ = Process.run("/usr/sbin/ip", ["link", "del", n])
        }
        if tableExists(t) { _ = Process.run("/usr/sbin/nft", ["delete", "table", "ip", "mdlua_" + t]) }
    }
}
