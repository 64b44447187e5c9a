import Foundation
import XCTest

/// Many CLIs at once, and CLIs killed at random points: every following command works, and
/// `rm -f` leaves nothing behind.
final class CrashSafetyTests: ContainerTestCase {
    override func checkNothingLeft() {
        XCTAssertEqual(leftoverCgroups(under: "mdlua-crash"), [], "no cgroup is left")
    }

    /// `stderr`: a file for its error output (else it is dropped).
    func spawn(_ args: [String], stderr: URL? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
        p.arguments = ["--root", root] + args
        p.standardOutput = FileHandle.nullDevice
        if let url = stderr {
            FileManager.default.createFile(atPath: url.path, contents: nil)
            p.standardError = try FileHandle(forWritingTo: url)
        } else {
            p.standardError = FileHandle.nullDevice
        }
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    func testFiftyConcurrentDetachedRuns() throws {
        var procs: [Process] = []
        for i in 0..<50 {
            // Ten of them want the same name: exactly one may get it.
            let name = i % 5 == 0 ? ["--name", "contested"] : []
            procs.append(try spawn(["run", "-d", "--cgroup-parent", "mdlua-crash"] + name + ["busybox", "sleep", "60"],
                                   stderr: dir.appendingPathComponent("stderr-\(i)")))
        }
        procs.forEach { $0.waitUntilExit() }
        // Why each failed run failed: the nine that lost the name say so, nothing else may fail.
        let failures = procs.indices.filter { procs[$0].terminationStatus != 0 }.map { i in
            (i, (try? String(contentsOf: dir.appendingPathComponent("stderr-\(i)"), encoding: .utf8)) ?? "")
        }
        XCTAssertEqual(failures.filter { $0.0 % 5 != 0 || !$0.1.contains("is already in use") }.map { "run \($0.0): \($0.1)" }, [],
                       "only the losers of the contested name fail")
        XCTAssertEqual(procs.filter { $0.terminationStatus == 0 }.count, 41, "40 unnamed and one of the ten named")
        let running = md(["ps", "-q"]).stdout.split(separator: "\n")
        XCTAssertEqual(running.count, 41)
        XCTAssertEqual(Set(running).count, 41, "distinct containers")
        XCTAssertEqual(md(["ps", "-a", "--filter", "name=contested", "-q"]).stdout.split(separator: "\n").count, 1)
        let names = md(["ps", "--format", "{{.Names}}"]).stdout.split(separator: "\n")
        XCTAssertEqual(Set(names).count, 41, "unique names")
    }

    func testKilledCLIsLeaveARepairableState() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<12 {
            let p: Process
            switch round % 3 {
            case 0: p = try spawn(["run", "-d", "--cgroup-parent", "mdlua-crash", "busybox", "sleep", "60"])
            case 1: p = try spawn(["run", "--rm", "--cgroup-parent", "mdlua-crash", "busybox", "sleep", "60"])
            default:
                XCTAssertEqual(md(["run", "--name", "c\(round)", "--cgroup-parent", "mdlua-crash", "busybox", "sh", "-c",
                                   "echo x > /f"]).status, 0)
                p = try spawn(["commit", "c\(round)", "img\(round)"])
            }
            usleep(UInt32.random(in: 0...80_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Whatever was half-made, the next commands work.
            XCTAssertEqual(md(["ps", "-a"]).status, 0, "round \(round)")
            XCTAssertEqual(md(["images"]).status, 0, "round \(round)")
        }
        // A killed `rm` too.
        XCTAssertEqual(md(["run", "-d", "--name", "victim", "--cgroup-parent", "mdlua-crash", "busybox", "sleep", "60"]).status, 0)
        let rm = try spawn(["rm", "-f", "victim"])
        usleep(20_000)
        kill(rm.processIdentifier, SIGKILL)
        rm.waitUntilExit()
        XCTAssertEqual(md(["-e", "for _, c in ipairs(md.container.list{all=true}) do c:rm{force=true} end"]).status, 0)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
        XCTAssertEqual(md(["image", "prune", "-f"]).status, 0)
        // A killed commit may have left a staging dir: the next writer removes it.
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertEqual(md(["layer", "create", empty.path]).status, 0)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? [], [])
    }
}
