import Foundation
import XCTest

/// Containers as on a kernel before 5.12: Tests/fixtures/oldkernel.c runs mdlua under a
/// seccomp filter that fails the calls such a kernel lacks as it would (mount_setattr:
/// ENOSYS; close_range's CLOSE_RANGE_CLOEXEC: EINVAL; fsconfig's `lowerdir+`: EINVAL), so
/// the fallbacks run on this host too. The VM tests (scripts/vm) run them on real 5.10 and
/// 6.1 kernels.
final class KernelFallbackTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }
    var wrapper: String { dir.appendingPathComponent("oldkernel").path }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
        addTeardownBlock { [unowned self] in
            // This root's containers only: other test runs on the machine share the parent.
            let rm = MDLuaBinary.run(["--root", root, "-e",
                                      "for _, c in ipairs(md.container.list{all=true}) do print(c.id); c:rm{force=true} end"])
            XCTAssertEqual(rm.status, 0, rm.stderr)
            let ids = rm.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(leftoverCgroups(under: "mdlua").filter { path in ids.contains { path.hasSuffix($0) } }, [],
                           "the containers' cgroups are removed")
        }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/oldkernel.c").path
        XCTAssertEqual(Process.run("/usr/bin/cc", ["-O2", "-o", wrapper, source, "-lseccomp"]), 0, "cc and libseccomp-dev")
        XCTAssertEqual(MDLuaBinary.run(["--root", root, "image", "bootstrap", "busybox"]).status, 0)
    }

    /// mdlua under the wrapper.
    func old(_ args: [String]) -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: wrapper)
        p.arguments = [MDLuaBinary.path, "--root", root] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return (-1, "", "cannot start \(wrapper)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testRunWithTheClassicOverlayAndRemountedAttributes() {
        let r = old(["run", "--rm", "busybox", "sh", "-c",
                     "echo hi; grep -E ' / | /proc/sys ' /proc/self/mountinfo; ls /proc/self/fd | wc -l"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("hi\n"), r.out)
        XCTAssertTrue(r.out.contains("lowerdir=l/"), "the short links of the classic options: \(r.out)")
        XCTAssertTrue(r.out.contains("\n4\n"), "only stdio and ls's own directory are open: \(r.out)")
        XCTAssertTrue(r.out.contains(" /proc/sys ro,"), "/proc/sys is read-only: \(r.out)")
        XCTAssertEqual(FileManager.default.fileExists(atPath: root + "/layers/l"), true)
    }

    func testReadOnlyRootAndRecursiveReadOnlyBind() {
        // --network host binds the host's /sys with its submounts (the cgroup hierarchies):
        // every one of them must turn read-only, not only the top.
        let r = old(["run", "--rm", "--read-only", "--network", "host", "busybox", "sh", "-c",
                     "touch /x 2>&1; for d in /sys/fs/cgroup /sys/fs/cgroup/*; do touch $d/x 2>&1; done; " +
                     "awk '$5 ~ \"^/sys\" && $6 !~ \"^ro\" {print \"writable: \" $5}' /proc/self/mountinfo"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("touch: /x: Read-only file system"), r.out)
        XCTAssertFalse(r.out.contains("writable:"), r.out)
        let mounts = r.out.split(separator: "\n").filter { $0.hasPrefix("touch: /sys") }
        XCTAssertFalse(mounts.isEmpty, r.out)
        for line in mounts { XCTAssertTrue(line.hasSuffix("Read-only file system"), String(line)) }
    }

    func testDetachedContainerAndExec() {
        let run = old(["run", "-d", "--name", "k", "busybox", "sleep", "60"])
        XCTAssertEqual(run.status, 0, run.err)
        let exec = old(["exec", "k", "sh", "-c", "ls /proc/self/fd | wc -l"])
        XCTAssertEqual(exec.status, 0, exec.err)
        XCTAssertEqual(exec.out.trimmingCharacters(in: .whitespacesAndNewlines), "4", "nothing of the engine's leaks into exec")
        XCTAssertEqual(old(["rm", "-f", "k"]).status, 0)
    }
}
