import Foundation
import XCTest

/// Limits on this host's real cgroup v1 hierarchies (skipped, with the reason, on a host without them).
final class ResourceTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }

    override func setUpWithError() throws {
        // These read the files of v1 hierarchies; a pure cgroup v2 host gets the same checks
        // from the VM suite (scripts/vm/guest-suite.sh, make test-vm).
        guard FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes") else {
            throw XCTSkip("this host has no cgroup v1 memory hierarchy (cgroup v2 is tested by make test-vm)")
        }
        dir = try temporaryDirectory(self)
        // Runs before the directory's removal (teardown blocks run last in, first out).
        addTeardownBlock { [unowned self] in
            _ = md(["-e", "for _, c in ipairs(md.container.list{all=true}) do c:rm{force=true} end"])
            XCTAssertEqual(leftoverCgroups(under: "mdlua-test"), [], "the containers' cgroups are removed")
        }
        XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0)
    }

    @discardableResult
    func md(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, file: file, line: line)
    }

    func cgroupParentFile(_ controller: String, _ dir: String, _ file: String) -> String {
        ((try? String(contentsOfFile: "/sys/fs/cgroup/\(controller)/\(dir)/\(file)", encoding: .utf8)) ?? "<missing>")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func cgroupFile(_ controller: String, _ id: String, _ file: String) -> String {
        ((try? String(contentsOfFile: "/sys/fs/cgroup/\(controller)/mdlua-test/\(id)/\(file)", encoding: .utf8)) ?? "<missing>")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testParentCgroupStaysWithChildrenInheritingCpuset() {
        XCTAssertEqual(md(["run", "--rm", "--cgroup-parent", "mdlua-test", "busybox", "true"]).status, 0)
        let parent = "/sys/fs/cgroup/cpuset/mdlua-test"
        XCTAssertEqual((try? String(contentsOfFile: parent + "/cgroup.clone_children", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines), "1", "new container cgroups start with the parent's cpus")
        let r = md(["run", "--rm", "--cgroup-parent", "mdlua-test", "busybox", "sh", "-c", "cat /proc/self/status"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("Cpus_allowed_list:"), r.stdout)
        // The parent holds Docker's device rules, which its children copy.
        let defaults = "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\nc 5:1 rwm\nc 5:2 rwm\nc 136:* rwm\nc 10:200 rwm"
        XCTAssertEqual(cgroupParentFile("devices", "mdlua-test", "devices.list"), defaults)
        XCTAssertEqual(leftoverCgroups(under: "mdlua-test"), [])
    }

    func testAParentMadeBySomeoneElse() throws {
        // A parent mdlua did not make: no clone_children for cpuset, every device allowed.
        let parent = "mdlua-test-foreign"
        for h in ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"] {
            try FileManager.default.createDirectory(atPath: "/sys/fs/cgroup/\(h)/\(parent)", withIntermediateDirectories: false)
        }
        for f in ["cpuset.cpus", "cpuset.mems"] {
            try cgroupParentFile("cpuset", "", f).write(toFile: "/sys/fs/cgroup/cpuset/\(parent)/\(f)", atomically: false, encoding: .utf8)
        }
        addTeardownBlock {
            for h in ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"] { rmdir("/sys/fs/cgroup/\(h)/\(parent)") }
        }
        XCTAssertEqual(cgroupParentFile("devices", parent, "devices.list"), "a *:* rwm")
        let id = md(["run", "-d", "--cgroup-parent", parent, "busybox", "sleep", "30"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(id.count, 64, "the container's cpuset got cpus and mems although the parent does not hand them down")
        XCTAssertEqual(cgroupParentFile("devices", parent + "/" + id, "devices.list").split(separator: "\n").first, "c *:* m",
                       "the container's own rules are written when the parent allows more")
        XCTAssertEqual(md(["rm", "-f", id]).status, 0)
        XCTAssertEqual(leftoverCgroups(under: parent), [])
    }

    func testOOMKill() {
        let r = md(["run", "--name", "oom", "--cgroup-parent", "mdlua-test", "-m", "64m", "busybox", "sh", "-c",
                    "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"])
        XCTAssertEqual(r.status, 137)
        XCTAssertFalse(r.stdout.contains("survived"))
        XCTAssertEqual(md(["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "oom"]).stdout, "true 137\n")
        XCTAssertEqual(md(["events", "--since", "5m", "--until", "0s", "-f", "container=oom", "-f", "event=oom", "-f", "event=die",
                           "--format", "{{.Action}} {{.Actor.Attributes.exitCode}}"]).stdout, "oom <no value>\ndie 137\n")
    }

    func testLimitsAreWrittenAndUpdatedLive() {
        let id = md(["run", "-d", "--cgroup-parent", "mdlua-test", "-m", "100m", "--memory-swap", "200m", "--cpus", "0.5",
                     "--pids-limit", "20", "--cpu-shares", "512", "--cpuset-cpus", "0", "busybox", "sleep", "60"])
            .stdout.trimmingCharacters(in: .newlines)
        XCTAssertEqual(id.count, 64)
        XCTAssertEqual(cgroupFile("memory", id, "memory.limit_in_bytes"), String(100 << 20))
        XCTAssertEqual(cgroupFile("cpu", id, "cpu.cfs_quota_us"), "50000")
        XCTAssertEqual(cgroupFile("cpu", id, "cpu.cfs_period_us"), "100000")
        XCTAssertEqual(cgroupFile("cpu", id, "cpu.shares"), "512")
        XCTAssertEqual(cgroupFile("pids", id, "pids.max"), "20")
        XCTAssertEqual(cgroupFile("cpuset", id, "cpuset.cpus"), "0")
        let cgroups = md(["exec", id, "cat", "/proc/self/cgroup"])
        XCTAssertTrue(cgroups.stdout.contains("memory:/\n"),
                      "a private cgroup namespace rooted at the container's cgroup: \(cgroups.stdout) \(cgroups.stderr)")
        XCTAssertEqual(md(["update", "-m", "150m", "--memory-swap", "300m", "--pids-limit", "30", id]).status, 0)
        XCTAssertEqual(cgroupFile("memory", id, "memory.limit_in_bytes"), String(150 << 20))
        XCTAssertEqual(cgroupFile("pids", id, "pids.max"), "30")
        let stats = md(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", id]).stdout
        XCTAssertTrue(stats.contains(" 1 ") && stats.contains("/ 157MB"), stats)
        XCTAssertEqual(md(["rm", "-f", id]).status, 0)
        XCTAssertEqual(cgroupFile("memory", id, "memory.limit_in_bytes"), "<missing>", "removed with the container")
    }

    func testCpuQuotaHoldsABusyLoopNearHalfACore() throws {
        let id = md(["run", "-d", "--cgroup-parent", "mdlua-test", "--cpus", "0.5", "busybox", "sh", "-c", "while true; do :; done"])
            .stdout.trimmingCharacters(in: .newlines)
        usleep(300_000)
        let u0 = UInt64(cgroupFile("cpuacct", id, "cpuacct.usage")) ?? 0
        let t0 = Date()
        sleep(3)
        let u1 = UInt64(cgroupFile("cpuacct", id, "cpuacct.usage")) ?? 0
        let share = Double(u1 - u0) / 1e9 / Date().timeIntervalSince(t0)
        XCTAssertGreaterThan(share, 0.25)
        XCTAssertLessThan(share, 0.75, "the quota holds it near half a core (\(share))")
    }

    func testPidsLimitStopsAForkBomb() {
        let id = md(["run", "-d", "--cgroup-parent", "mdlua-test", "--pids-limit", "20", "busybox", "sh", "-c",
                     "sh -c 'while true; do sleep 30 & done' 2>/dev/null; sleep 60"]).stdout.trimmingCharacters(in: .newlines)
        usleep(500_000)
        let n = Int(cgroupFile("pids", id, "pids.current")) ?? 99
        XCTAssertLessThanOrEqual(n, 20, "the bomb is held at the limit")
        XCTAssertGreaterThanOrEqual(n, 15, "and it did try")
        XCTAssertGreaterThan(Int(cgroupFile("pids", id, "pids.events").split(separator: " ").last ?? "0") ?? 0, 0,
                             "forks were refused")
        XCTAssertEqual(md(["rm", "-f", id]).status, 0, "and the host can still clean up")
    }

    func testPauseFreezesAndUnpauseResumes() throws {
        let id = md(["run", "-d", "--cgroup-parent", "mdlua-test", "busybox", "sh", "-c",
                     "i=0; while true; do i=$((i+1)); echo $i > /count; done"]).stdout.trimmingCharacters(in: .newlines)
        let counter = root + "/containers/\(id)/upper/count"
        // The file is rewritten all the time: a read may catch it empty.
        func count() -> Int {
            for _ in 0..<100 {
                if let n = Int(((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) { return n }
                usleep(1000)
            }
            return -1
        }
        usleep(300_000)
        XCTAssertEqual(md(["pause", id]).status, 0)
        XCTAssertEqual(cgroupFile("freezer", id, "freezer.state"), "FROZEN")
        let a = count()
        usleep(300_000)
        XCTAssertEqual(count(), a, "frozen: the counter stands still")
        XCTAssertTrue(md(["ps", "--format", "{{.Status}}"]).stdout.contains("(Paused)"))
        XCTAssertEqual(md(["unpause", id]).status, 0)
        usleep(300_000)
        XCTAssertGreaterThan(count(), a, "thawed: it counts again")
    }

    func testBadLimits() {
        let cases: [([String], String)] = [
            (["-m", "4m"], "the minimum is 6m"),
            (["-m", "lots"], "invalid --memory \"lots\""),
            (["--cpus", "999"], "at most"),
            (["--cpuset-cpus", "1-0"], "invalid --cpuset-cpus"),
            (["--cpuset-cpus", "a"], "invalid --cpuset-cpus"),
            (["-m", "10m", "--memory-swap", "5m"], "at least --memory"),
            (["--pids-limit", "0"], "invalid --pids-limit"),
            (["--blkio-weight", "5"], "invalid --blkio-weight"),
            (["--cgroup-parent", "../escape"], "invalid --cgroup-parent"),
            (["--cgroupns", "shared"], "invalid --cgroupns"),
            (["--device-read-bps", "/dev/null:1mb"], "/dev/null is not a block device"),
            (["--device-read-bps", "/no/such:1mb"], "/no/such: No such file or directory"),
            (["--device-write-bps", "/dev/null"], "expected PATH:RATE"),
            (["--device-read-iops", "/dev/null:fast"], "invalid --device-read-iops \"/dev/null:fast\": expected a positive number"),
            (["--device-write-bps", "/dev/null:0"], "expected a positive rate"),
        ]
        for (flags, message) in cases {
            let r = md(["run", "--rm"] + flags + ["busybox", "true"])
            XCTAssertEqual(r.status, 125, "\(flags)")
            XCTAssertTrue(r.stderr.contains(message), "\(flags): \(r.stderr)")
        }
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }

    /// The first whole disk of this host, as /dev/NAME (the throttles need a block device).
    func hostDisk() -> (path: String, device: String)? {
        let disks = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []).sorted()
        for name in disks where !name.hasPrefix("loop") && !name.hasPrefix("ram") && FileManager.default.fileExists(atPath: "/dev/" + name) {
            let dev = ((try? String(contentsOfFile: "/sys/block/\(name)/dev", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if !dev.isEmpty { return ("/dev/" + name, dev) }
        }
        return nil
    }

    func testDeviceThrottlesAreWritten() throws {
        guard let disk = hostDisk() else { throw XCTSkip("this host has no block device to throttle") }
        let id = md(["run", "-d", "--cgroup-parent", "mdlua-test", "--device-read-bps", disk.path + ":1mb",
                     "--device-write-bps", disk.path + ":2m", "--device-read-iops", disk.path + ":100",
                     "--device-write-iops", disk.path + ":50", "busybox", "sleep", "60"])
            .stdout.trimmingCharacters(in: .newlines)
        XCTAssertEqual(id.count, 64)
        XCTAssertEqual(cgroupFile("blkio", id, "blkio.throttle.read_bps_device"), "\(disk.device) 1048576")
        XCTAssertEqual(cgroupFile("blkio", id, "blkio.throttle.write_bps_device"), "\(disk.device) 2097152")
        XCTAssertEqual(cgroupFile("blkio", id, "blkio.throttle.read_iops_device"), "\(disk.device) 100")
        XCTAssertEqual(cgroupFile("blkio", id, "blkio.throttle.write_iops_device"), "\(disk.device) 50")
        XCTAssertEqual(md(["rm", "-f", id]).status, 0)
    }

    func testMemorySizes() {
        for (flag, bytes) in [("100m", 100 << 20), ("1g", 1 << 30), ("524288k", 512 << 20), ("8388608b", 8 << 20), ("64", 64 << 20)] {
            let r = md(["run", "--rm", "--cgroup-parent", "mdlua-test", "-m", flag, "busybox", "true"])
            XCTAssertEqual(r.status, 0, "\(flag): \(r.stderr)")
            let spec = md(["-e", "print(require('mdlua.spec').memory_bytes('\(flag)', '-m'))"]).stdout
            XCTAssertEqual(spec, "\(bytes)\n", flag)
        }
    }
}
