import Foundation
import XCTest

/// What the CLI tests with containers share: a state root of their own in a temporary
/// directory, busybox bootstrapped in it, and a teardown that removes every container and
/// checks that nothing of this root stays mounted and no monitor of it still runs.
class ContainerTestCase: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }
    /// Whether set-up makes the busybox image (most tests run it).
    var bootstrapsBusybox: Bool { true }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
        // Runs before the directory's removal (teardown blocks run last in, first out).
        addTeardownBlock { [unowned self] in
            _ = md(["-e", "for _, c in ipairs(md.container.list{all=true}) do pcall(c.unpause, c); c:rm{force=true} end"])
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            XCTAssertFalse(mounts.contains(dir.path), "a mount is left behind")
            XCTAssertEqual(monitors(), 0, "a monitor is left behind")
        }
        if bootstrapsBusybox { XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0) }
    }

    /// Monitors of this test's root still alive.
    func monitors() -> Int {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.filter { Int($0) != nil }.filter { pid in
            let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return cmd.contains("--internal-monitor") && cmd.contains(root)
        }.count
    }

    /// mdlua with this test's root.
    @discardableResult
    func md(_ args: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, stdin: stdin, file: file, line: line)
    }
}
