import Foundation
import XCTest

/// What the CLI tests with containers share: a state root of their own in a temporary
/// directory, busybox bootstrapped in it, and a teardown that removes every container and
/// checks that nothing of this root stays mounted and no process of it (a monitor, what
/// holds a detached exec's terminal) still runs; then a class's own checks
/// (`checkNothingLeft`).
class ContainerTestCase: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }
    /// Whether set-up makes the busybox image (most tests run it).
    var bootstrapsBusybox: Bool { true }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
        // Runs before the directory's removal (teardown blocks run last in, first out).
        addTeardownBlock { [unowned self] in
            let ids = md(["ps", "-aq", "--no-trunc"]).stdout.split(separator: "\n").map(String.init)
            let rm = md(["-e", "for _, c in ipairs(md.container.list{all=true}) do pcall(c.unpause, c); c:rm{force=true} end"])
            XCTAssertEqual(rm.status, 0, "every container is removed: \(rm.stderr)")
            // User networks go with the test; then nothing of the root's networking may stay
            // (the bridges and table are checked again with the directory: temporaryDirectory).
            _ = md(["-e", "for _, n in ipairs(md.network.list()) do if n.name ~= 'bridge' then pcall(n.rm, n) end end"])
            var networking = NetworkLeaks.left(root: root, containerIDs: ids + containerIDs)
            if !networking.isEmpty {
                // A test that kills mdlua may leave what `system check --repair` is for (a
                // lease whose create died before its record, docs/networking.md).
                _ = md(["system", "check", "--repair"])
                networking = NetworkLeaks.left(root: root, containerIDs: ids + containerIDs)
            }
            XCTAssertEqual(networking, [], "networking left behind")
            if !networking.isEmpty { NetworkLeaks.clean(root: root, containerIDs: ids + containerIDs) }
            // Volumes with a file system of their own (tmpfs, a size limit) are mounted until removed.
            _ = md(["-e", "for _, v in ipairs(md.volume.list()) do pcall(v.rm, v) end"])
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            XCTAssertFalse(mounts.contains(dir.path), "a mount is left behind")
            // What ends with the containers may take a moment to exit.
            var left = processes()
            for _ in 0..<50 where left > 0 {
                usleep(100_000)
                left = processes()
            }
            XCTAssertEqual(left, 0, "a monitor or another process of this root is left behind")
            checkNothingLeft()
        }
        if bootstrapsBusybox { XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0) }
    }

    /// A class's own checks, after the containers are removed.
    func checkNothingLeft() {}

    /// IDs of containers that are gone before the teardown (`--rm`) whose veths it checks.
    var containerIDs: [String] = []

    /// Processes whose command line names this test's root (and `text`): monitors, and what
    /// a test started with its root.
    func processes(containing text: String = "") -> Int {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.filter { Int($0) != nil && Int32($0) != getpid() }.filter { pid in
            let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return cmd.contains(text) && cmd.contains(root)
        }.count
    }

    /// mdlua with this test's root.
    @discardableResult
    func md(_ args: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, stdin: stdin, file: file, line: line)
    }
}
