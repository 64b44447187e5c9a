import Foundation
import XCTest

/// `mdlua info`: the host's facts as the engine sees them, in Docker's layout and templates.
final class InfoTests: ContainerTestCase {
    override var bootstrapsBusybox: Bool { false }

    func testFactsMatchTheHost() throws {
        XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0)
        XCTAssertEqual(md(["create", "--name", "a", "busybox", "true"]).status, 0)
        let r = md(["info"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        XCTAssertTrue(r.stdout.contains(" Kernel Version: \(release)\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains(" Containers: 1\n  Running: 0\n  Paused: 0\n  Stopped: 1\n Images: 1\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains(" Docker Root Dir: \(root)\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains(" CPUs: \(ProcessInfo.processInfo.activeProcessorCount)\n"), r.stdout)
        let v1 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes")
        XCTAssertTrue(r.stdout.contains(" Cgroup Version: \(v1 ? 1 : 2)\n"), r.stdout)
    }

    func testFormat() {
        XCTAssertEqual(md(["info", "-f", "{{.Containers}} {{.OSType}} {{json .SecurityOptions}}"]).stdout,
                       "0 linux [\"name=seccomp,profile=builtin\",\"name=no-new-privileges\"]\n")
        let json = md(["info", "--format", "json"]).stdout
        let doc = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual(doc?["DockerRootDir"] as? String, root, json)
        XCTAssertEqual(doc?["NCPU"] as? Int, ProcessInfo.processInfo.activeProcessorCount, json)
        let bad = md(["info", "-f", "{{.NoSuchField}}"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.stderr.contains("NoSuchField"), bad.stderr)
        XCTAssertEqual(md(["info", "extra"]).status, 125)
    }
}
