import Foundation
import XCTest

/// `system df` (every byte under the state root in a row) and `system prune` (what it gives
/// back: with `-a --volumes` and no container, the root is its empty skeleton again).
final class DiskUsageTests: ContainerTestCase {
    /// `du -sxB1` of a path: allocated bytes, hard links once, nothing past a mount.
    func du(_ path: String) -> UInt64 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/du")
        p.arguments = ["-sxB1", path]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return UInt64(text.split(separator: "\t").first ?? "") ?? 0
    }

    /// The rows of `system df` as the engine counts them (bytes, not the table's rounding).
    func rows() -> [String: (size: UInt64, reclaimable: UInt64)] {
        let r = md(["-e", "for _, u in ipairs(md._runtime.df(md.config.root)) do print(u.type, u.size, u.reclaimable) end"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var out: [String: (UInt64, UInt64)] = [:]
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: "\t")
            if f.count == 3 { out[String(f[0])] = (UInt64(f[1]) ?? 0, UInt64(f[2]) ?? 0) }
        }
        return out
    }

    func testDfAccountsForEveryByteUnderTheRoot() throws {
        // An exited container with 2 MiB in its writable layer, a running one with a named
        // volume holding 3 MiB, an anonymous volume, a stale staging directory.
        XCTAssertEqual(md(["run", "--name", "wrote", "busybox", "dd", "if=/dev/zero", "of=/big", "bs=1M", "count=2"]).status, 0)
        XCTAssertEqual(md(["run", "--rm", "-v", "data:/data", "busybox", "dd", "if=/dev/zero", "of=/data/f", "bs=1M", "count=3"]).status, 0)
        XCTAssertEqual(md(["run", "-d", "--name", "up", "-v", "data:/data", "-v", "/anon", "busybox", "sleep", "600"]).status, 0)
        // A build whose cache mount holds 1 MiB (before the stale staging: a build's own
        // staging removes what dead writers left).
        let ctx = dir.appendingPathComponent("ctx")
        try FileManager.default.createDirectory(at: ctx, withIntermediateDirectories: true)
        try write("FROM busybox\nRUN --mount=type=cache,target=/c dd if=/dev/zero of=/c/f bs=1M count=1\n",
                  to: ctx.appendingPathComponent("Dockerfile"))
        XCTAssertEqual(md(["build", "-q", ctx.path]).status, 0)

        // A staging directory named for a writer process that is gone (StateCheck.isStale).
        let stale = root + "/tmp/load-2147483646-0"
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: stale + "/part", contents: Data(count: 1 << 20))

        let r = rows()
        XCTAssertEqual(Set(r.keys), ["Images", "Containers", "Local Volumes", "Build Cache", "Staging", "Engine"])
        XCTAssertGreaterThanOrEqual(r["Build Cache"]!.size, 1 << 20, "the cache mount")
        XCTAssertEqual(r["Build Cache"]!.reclaimable, r["Build Cache"]!.size)
        let total = r.values.reduce(0) { $0 + $1.size }
        XCTAssertEqual(total, du(root), "the rows add up to du -sx of the state root")
        XCTAssertGreaterThanOrEqual(r["Containers"]!.reclaimable, 2 << 20, "the exited container's layer is reclaimable")
        XCTAssertGreaterThanOrEqual(r["Local Volumes"]!.size, 3 << 20)
        XCTAssertLessThan(r["Local Volumes"]!.reclaimable, 1 << 20, "both volumes are in use")
        XCTAssertGreaterThanOrEqual(r["Staging"]!.reclaimable, 1 << 20)

        let table = md(["system", "df"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.hasPrefix("TYPE"), table.stdout)
        XCTAssertTrue(table.stdout.contains("Local Volumes"), table.stdout)
        let verbose = md(["system", "df", "-v"])
        XCTAssertEqual(verbose.status, 0, verbose.stderr)
        for heading in ["Images space usage:", "Containers space usage:", "Local Volumes space usage:"] {
            XCTAssertTrue(verbose.stdout.contains(heading), verbose.stdout)
        }
        let volumeRow = verbose.stdout.split(separator: "\n").first { $0.hasPrefix("data ") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        XCTAssertEqual(volumeRow?.prefix(2), ["data", "1"], "the volume and the one container that links it")
        XCTAssertEqual(md(["system", "df", "extra"]).status, 125)
    }

    /// "Total reclaimed space: 2.1MB" -> bytes (format.size: decimal units, 3 digits).
    func reclaimed(_ out: String) -> Double? {
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("Total reclaimed space: ") }) else { return nil }
        let text = line.dropFirst("Total reclaimed space: ".count)
        let units: [(String, Double)] = [("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("B", 1)]
        for (u, m) in units where text.hasSuffix(u) { return Double(text.dropLast(u.count)).map { $0 * m } }
        return nil
    }

    func testSystemPruneReclaimedSpaceIsWhatDuSaysWentAway() throws {
        // Pruned: a stopped container with 2 MiB written, a dangling image with 3 MiB more;
        // kept: a running container with 1 MiB written (its layer is not walked again).
        XCTAssertEqual(md(["run", "--name", "wrote", "busybox", "dd", "if=/dev/zero", "of=/big", "bs=1M", "count=2"]).status, 0)
        XCTAssertEqual(md(["run", "--name", "src", "busybox", "dd", "if=/dev/urandom", "of=/img", "bs=1M", "count=3"]).status, 0)
        XCTAssertEqual(md(["commit", "src"]).status, 0)
        XCTAssertEqual(md(["run", "-d", "--name", "up", "busybox", "sh", "-c", "dd if=/dev/zero of=/kept bs=1M count=1; sleep 600"]).status, 0)
        XCTAssertEqual(md(["exec", "up", "sh", "-c", "while [ $(stat -c %s /kept 2>/dev/null || echo 0) -lt 1048576 ]; do sleep 0.05; done"]).status, 0)
        let before = du(root)
        let r = md(["system", "prune", "-f"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let after = du(root)
        let said = try XCTUnwrap(reclaimed(r.stdout), r.stdout)
        XCTAssertGreaterThan(said, 5e6, r.stdout)
        // Three significant digits, and the events the prune itself logged.
        let gone = Double(before) - Double(after)
        let slack: Double = gone * 0.01 + 16384
        XCTAssertEqual(said, gone, accuracy: slack, r.stdout)
        XCTAssertEqual(md(["exec", "up", "stat", "-c", "%s", "/kept"]).stdout, "1048576\n", "the running one is untouched")
    }

    func testSystemPruneAllVolumesLeavesTheEmptySkeleton() throws {
        let net = "dut\(getpid() % 100_000)"
        XCTAssertEqual(md(["network", "create", "--subnet", "10.251.\(getpid() % 200).0/24", net]).status, 0)
        XCTAssertEqual(md(["run", "--name", "done", "--network", net, "-v", "named:/n", "-v", "/anon",
                           "busybox", "sh", "-c", "echo x > /n/f; echo y > /anon/f; echo z > /layer"]).status, 0)
        XCTAssertEqual(md(["commit", "done", "mine:1"]).status, 0)
        XCTAssertEqual(md(["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "scratch"]).status, 0)

        // Without -a and --volumes the named volumes and the tagged images stay.
        let first = md(["system", "prune", "-f"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("Deleted Containers:"), first.stdout)
        XCTAssertTrue(first.stdout.contains("Deleted Networks:\n\(net)\n"), first.stdout)
        XCTAssertTrue(first.stdout.contains("Total reclaimed space:"), first.stdout)
        // (The removed container's anonymous volume stays, dangling, as Docker leaves it.)
        let volumes = md(["volume", "ls", "-q"]).stdout.split(separator: "\n")
        XCTAssertEqual(volumes.count, 3, "\(volumes)")
        XCTAssertTrue(volumes.contains("named") && volumes.contains("scratch"), "\(volumes)")
        XCTAssertEqual(md(["images", "-q"]).stdout.split(separator: "\n").count, 2)

        let all = md(["system", "prune", "-a", "--volumes", "-f"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(all.stdout.contains("Deleted Volumes:"), all.stdout)
        XCTAssertTrue(all.stdout.contains("Deleted Images:"), all.stdout)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "")
        XCTAssertEqual(md(["images", "-q"]).stdout, "")

        // The skeleton: the store's directories and its records (empty lists), the locks, the
        // events log, the empty mount points the engine's files are mounted on in every
        // container. Nothing under blobs, layers, containers, volumes, tmp or the cache.
        let left = ((FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []).sorted()
        let skeleton: Set<String> = ["blobs", "blobs/sha256", "containers", "containers/.lock", "events.log", "images.json",
                                     "layers", "networks", "networks/.lock", "seccomp", "store.lock", "tmp", "volumes",
                                     "mountpoints", "mountpoints/dev", "mountpoints/etc", "mountpoints/etc/hostname",
                                     "mountpoints/etc/hosts", "mountpoints/etc/resolv.conf", "mountpoints/proc", "mountpoints/sys"]
        XCTAssertEqual(left.filter { !skeleton.contains($0) }, [], "only the skeleton is left")
        let events = (try? FileManager.default.attributesOfItem(atPath: root + "/events.log")[.size] as? UInt64) ?? 0
        XCTAssertLessThanOrEqual(du(root), events + 64 << 10, "du of the root: the skeleton and the events log")
        XCTAssertEqual(md(["system", "prune", "--bogus"]).status, 125)
    }
}
