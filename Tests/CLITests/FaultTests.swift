import Foundation
import XCTest

/// Faults injected into the container lifecycle (issue 17): `kill -9` of the CLI and of the
/// monitor at several points, damaged and missing records, a full disk. Every test ends
/// with the same check (`assertNothingLeft`): no process of its containers alive unless its
/// record says it runs under a live monitor, no mount, no cgroup, no container directory
/// after `rm -f`.
final class FaultTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }
    /// A number no other process on the host has on its command line: the containers'
    /// processes are found by it.
    let marker = String(Int.random(in: 100_000...999_999))
    /// The test's own cgroup parent (others may run containers at the same time), removed
    /// at its end.
    var parent: String { "mdlua-fault-" + marker }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
        addTeardownBlock { [unowned self] in
            _ = md(["-e", "for _, c in ipairs(md.container.list{all=true}) do pcall(c.rm, c, {force=true}) end"])
            assertNothingLeft()
            _ = umount2(root, Int32(MNT_DETACH))   // the tmpfs of the full-disk test
            for h in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
                rmdir("/sys/fs/cgroup/\(h)/\(parent)")
                removeStagedParents(of: parent, in: "/sys/fs/cgroup/\(h)")
            }
        }
    }

    func prepareImage() {
        XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0)
    }

    @discardableResult
    func md(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, file: file, line: line)
    }

    func spawn(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
        p.arguments = ["--root", root] + args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Processes whose command line holds `marker` (the containers' own) or this root (monitors).
    func processes() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid -> String? in
            guard Int(pid) != nil, Int32(pid) != getpid(),
                  let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return nil }
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?
                .split(separator: ")").last?.split(separator: " ").first ?? "Z"
            guard state != "Z", cmd.contains(marker) || cmd.contains(root) else { return nil }
            return pid + ": " + cmd.replacingOccurrences(of: "\0", with: " ")
        }
    }

    func waitUntil(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func assertNothingLeft(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(waitUntil { processes().isEmpty }, "processes left: \(processes())", file: file, line: line)
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        XCTAssertFalse(mounts.contains(root + "/containers"), "a mount is left behind", file: file, line: line)
        XCTAssertEqual(leftoverCgroups(under: parent), [], "no cgroup is left", file: file, line: line)
        let containers = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/containers")) ?? [])
            .filter { !$0.hasPrefix(".") }
        XCTAssertEqual(containers, [], "no container directory is left", file: file, line: line)
    }

    /// The rule: no process of a container alive unless its record says it runs under a live monitor.
    func assertSupervised(file: StaticString = #filePath, line: UInt = #line) {
        let running = md(["ps", "-q", "--no-trunc"]).stdout.split(separator: "\n")
        if running.isEmpty {
            XCTAssertTrue(waitUntil { processes().isEmpty }, "unsupervised: \(processes())", file: file, line: line)
        }
    }

    func inspect(_ ref: String) -> [String: Any] {
        let out = md(["inspect", ref]).stdout
        let list = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]]
        return list?.first?["State"] as? [String: Any] ?? [:]
    }

    func monitorPid(_ id: String) -> Int32? {
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        return all.first { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("--internal-monitor\0\(root)\0\(id)")
        }
    }

    // MARK: kill -9 of the process that supervises a container

    func testKilledForegroundRunRemovesItsContainer() throws {
        prepareImage()
        for delay: UInt32 in [0, 3_000, 8_000, 15_000, 30_000, 60_000, 150_000, 400_000] {
            let p = try spawn(["run", "--rm", "--cgroup-parent", parent, "busybox", "sleep", marker])
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // The container died with its monitor; the next command gives back what it held
            // and, as it was --rm, removes it.
            XCTAssertTrue(waitUntil { processes().isEmpty }, "delay \(delay): \(processes())")
            XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "delay \(delay)")
            assertNothingLeft()
        }
    }

    func testKilledForegroundRunRecordsWhy() throws {
        prepareImage()
        for (i, delay) in ([0, 10_000, 400_000] as [UInt32]).enumerated() {
            let p = try spawn(["run", "--name", "fg\(i)", "--cgroup-parent", parent, "busybox", "sleep", marker])
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertTrue(waitUntil { processes().isEmpty }, "delay \(delay): \(processes())")
            let ps = md(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout
            guard ps.contains("fg\(i)") else { continue }   // killed before it was created
            let state = inspect("fg\(i)")
            let status = state["Status"] as? String
            XCTAssertTrue(status == "exited" || status == "created", "delay \(delay): \(state)")
            XCTAssertNotEqual(status, "running")
            if status == "exited" {
                XCTAssertTrue((state["Error"] as? String ?? "").contains("monitor"), "\(state)")
                XCTAssertTrue(ps.contains("fg\(i) Exited (unknown)") || ps.contains("fg\(i) Exited (137)"), ps)
            }
            // Nothing held: no cgroup, no mount, while the record stays.
            XCTAssertEqual(leftoverCgroups(under: parent), [], "delay \(delay)")
            XCTAssertFalse(((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(root + "/containers"))
            XCTAssertEqual(md(["start", "fg\(i)"]).status, 0, "it can be started again")
            XCTAssertEqual(md(["rm", "-f", "fg\(i)"]).status, 0)
            assertNothingLeft()
        }
    }

    func testKilledForegroundStartGivesBackWhatItHeld() throws {
        prepareImage()
        XCTAssertEqual(md(["create", "--name", "fs", "--cgroup-parent", parent, "busybox", "sleep", marker]).status, 0)
        for delay: UInt32 in [0, 3_000, 10_000, 300_000] {
            let p = try spawn(["start", "-a", "fs"])
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertTrue(waitUntil { processes().isEmpty }, "delay \(delay): \(processes())")
            let state = md(["ps", "-a", "--format", "{{.State}}"]).stdout
            XCTAssertTrue(state == "exited\n" || state == "created\n", "delay \(delay): \(state)")
            XCTAssertEqual(leftoverCgroups(under: parent), [], "delay \(delay)")
            XCTAssertFalse(((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(root + "/containers"))
        }
        XCTAssertEqual(md(["rm", "fs"]).status, 0)
        assertNothingLeft()
    }

    func testKilledMonitorKillsItsContainerAndTheRecordSaysWhy() throws {
        prepareImage()
        let run = md(["run", "-d", "--name", "watched", "--cgroup-parent", parent, "busybox", "sh", "-c",
                      "echo before; sleep \(marker)"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(waitUntil { md(["logs", "watched"]).stdout == "before\n" })
        let monitor = try XCTUnwrap(monitorPid(id))
        kill(monitor, SIGKILL)
        XCTAssertTrue(waitUntil { processes().isEmpty }, "the container dies with its monitor: \(processes())")
        let ps = md(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout
        XCTAssertTrue(ps.hasPrefix("watched Exited (unknown)"), ps)
        let state = inspect("watched")
        XCTAssertEqual(state["Running"] as? Bool, false)
        XCTAssertTrue((state["Error"] as? String ?? "").contains("its monitor (pid \(monitor))"), "\(state)")
        XCTAssertEqual(md(["logs", "watched"]).stdout, "before\n", "the log up to the kill")
        XCTAssertEqual(leftoverCgroups(under: parent), [])
        XCTAssertNotEqual(md(["stop", "watched"]).status, 125, "stop of an exited container is no engine failure")
        XCTAssertEqual(md(["rm", "watched"]).status, 0)
        assertNothingLeft()
    }

    /// The parent-death signal survives what the start does after it: a change of user
    /// (setresuid clears it) and --init (pid 1 is then mdlua's own init).
    func testKilledMonitorTakesNonRootAndInitContainersWithIt() throws {
        prepareImage()
        for extra in [["--user", "65534:65534"], ["--init"], ["--init", "--user", "65534"]] {
            let run = md(["run", "-d", "--cgroup-parent", parent] + extra + ["busybox", "sh", "-c", "sleep \(marker)"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(waitUntil { processes().contains { $0.contains("sleep \(marker)") } })
            kill(try XCTUnwrap(monitorPid(id)), SIGKILL)
            XCTAssertTrue(waitUntil { processes().isEmpty }, "\(extra): \(processes())")
            XCTAssertEqual(md(["ps", "-a", "--format", "{{.Status}}"]).stdout.prefix(16), "Exited (unknown)", "\(extra)")
            XCTAssertEqual(md(["rm", id]).status, 0)
            assertNothingLeft()
        }
    }

    func testKilledLoadLeavesStagingThatIsReclaimed() throws {
        prepareImage()
        let tar = dir.appendingPathComponent("busybox.tar").path
        XCTAssertEqual(md(["save", "-o", tar, "busybox"]).status, 0)
        XCTAssertEqual(md(["rmi", "busybox"]).status, 0)
        for delay: UInt32 in [1_000, 5_000, 10_000, 20_000, 40_000] {
            let p = try spawn(["load", "-i", tar])
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let check = md(["system", "check"])
            XCTAssertTrue(check.status == 0 || check.stdout.contains("staging ") || check.stdout.contains("blob ")
                          || check.stdout.contains("layer "), check.stdout)
            XCTAssertEqual(md(["image", "prune", "-f"]).status, 0)
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? [], [], "delay \(delay)")
            XCTAssertEqual(md(["system", "check", "--repair"]).status, 0)
            XCTAssertEqual(md(["system", "check"]).stdout, "no problems found\n")
            _ = md(["rmi", "busybox"])
        }
        XCTAssertEqual(md(["load", "-i", tar]).status, 0)
        XCTAssertEqual(md(["run", "--rm", "busybox", "true"]).status, 0)
    }

    func testMonitorKilledWhileItWaitsToRestartKeepsTheLastExit() throws {
        prepareImage()
        let run = md(["run", "-d", "--name", "again", "--restart", "always", "--cgroup-parent", parent,
                      "busybox", "sh", "-c", "exit 7 # \(marker)"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The back-off doubles from 100 ms: after a few runs it waits long enough to catch.
        XCTAssertTrue(waitUntil(10) { (Int(md(["inspect", "-f", "{{.RestartCount}}", "again"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 4 })
        XCTAssertTrue(waitUntil { md(["inspect", "-f", "{{.State.Status}}", "again"]).stdout == "restarting\n" })
        kill(try XCTUnwrap(monitorPid(id)), SIGKILL)
        let state = inspect("again")
        XCTAssertEqual(state["Status"] as? String, "exited", "\(state)")
        XCTAssertEqual(state["ExitCode"] as? Int, 7, "\(state)")
        XCTAssertTrue((state["Error"] as? String ?? "").contains("not restarted"), "\(state)")
        XCTAssertEqual(md(["rm", "again"]).status, 0)
        assertNothingLeft()
    }

    func testKilledMonitorAtStart() throws {
        prepareImage()
        // The monitor killed while it starts the container (the CLI waits for it: it says so).
        for delay: UInt32 in [0, 2_000, 5_000, 10_000, 20_000] {
            let p = try spawn(["run", "-d", "--cgroup-parent", parent, "busybox", "sleep", marker])
            usleep(delay)
            let all = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
            for pid in all where ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "")
                .contains("--internal-monitor\0\(root)") {
                kill(pid, SIGKILL)
            }
            p.waitUntilExit()
            XCTAssertEqual(md(["ps", "-a"]).status, 0)
            assertSupervised()
            XCTAssertEqual(md(["-e", "for _, c in ipairs(md.container.list{all=true}) do c:rm{force=true} end"]).status, 0)
            assertNothingLeft()
        }
    }

    func testKilledDetachedRunLeavesItSupervisedOrStopped() throws {
        prepareImage()
        for delay: UInt32 in [0, 2_000, 5_000, 10_000, 20_000, 50_000] {
            let p = try spawn(["run", "-d", "--cgroup-parent", parent, "busybox", "sleep", marker])
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // The monitor may carry on (the container then runs under it) or not have started.
            let ps = md(["ps", "-a", "--format", "{{.State}}"]).stdout
            XCTAssertTrue(ps.isEmpty || ps == "running\n" || ps == "created\n", "delay \(delay): \(ps)")
            if ps == "running\n" {
                let id = md(["ps", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                XCTAssertNotNil(monitorPid(id), "delay \(delay): running under a live monitor")
            } else {
                XCTAssertTrue(waitUntil { processes().isEmpty }, "delay \(delay): \(processes())")
                XCTAssertEqual(leftoverCgroups(under: parent), [], "delay \(delay)")
            }
            XCTAssertEqual(md(["-e", "for _, c in ipairs(md.container.list{all=true}) do c:rm{force=true} end"]).status, 0)
            assertNothingLeft()
        }
    }

    func testKilledRmIsFinishedByTheNextRm() throws {
        prepareImage()
        for (i, delay) in ([0, 2_000, 5_000, 10_000, 20_000, 40_000] as [UInt32]).enumerated() {
            let name = "victim\(i)"
            XCTAssertEqual(md(["run", "-d", "--name", name, "--cgroup-parent", parent, "busybox", "sleep", marker]).status, 0)
            let p = try spawn(["rm", "-f", name])
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Whatever state it was left in, ps tells it, and rm -f finishes.
            let state = md(["ps", "-a", "--format", "{{.Names}} {{.State}}"]).stdout
            XCTAssertTrue(["", "\(name) running\n", "\(name) exited\n", "\(name) dead\n"].contains(state), "delay \(delay): \(state)")
            if state == "\(name) running\n" {
                let id = md(["ps", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                // The killed rm may have stopped the container already: its monitor then
                // records the exit and ends, maybe between ps and this look.
                if monitorPid(id) == nil {
                    let now = md(["ps", "-a", "--format", "{{.Names}} {{.State}}"]).stdout
                    XCTAssertTrue(["", "\(name) exited\n"].contains(now), "delay \(delay): no monitor, and ps says \(now)")
                }
            }
            if !state.isEmpty { XCTAssertEqual(md(["rm", "-f", name]).status, 0, "delay \(delay)") }
            assertNothingLeft()
        }
    }

    func testFailedExecIsRecordedWithItsStatus() throws {
        prepareImage()
        let r = md(["run", "-d", "--name", "nocmd", "--cgroup-parent", parent, "busybox", "nosuchcmd"])
        XCTAssertEqual(r.status, 127, r.stderr)
        let state = inspect("nocmd")
        XCTAssertEqual(state["ExitCode"] as? Int, 127, "\(state)")
        XCTAssertTrue((state["Error"] as? String ?? "").contains("nosuchcmd"), "\(state)")
        XCTAssertTrue(md(["ps", "-a", "--format", "{{.Status}}"]).stdout.hasPrefix("Exited (127)"))
        XCTAssertEqual(md(["rm", "nocmd"]).status, 0)
        assertNothingLeft()
    }

    func testRefusedLimitsAreReportedInTheFlagsWords() throws {
        prepareImage()
        let r = md(["run", "--rm", "--cgroup-parent", parent, "--cpuset-cpus", "99", "busybox", "true"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.hasPrefix("mdlua: --cpuset-cpus 99: this machine has CPUs "), r.stderr)
        assertNothingLeft()
    }

    // MARK: damaged records

    func testDamagedOrMissingRecordsAreListedAndRemoved() throws {
        prepareImage()
        for damage in ["truncated", "empty", "missing", "garbage"] {
            let name = "dmg-" + damage
            let run = md(["run", "-d", "--name", name, "--cgroup-parent", parent, "busybox", "sleep", marker])
            XCTAssertEqual(run.status, 0, run.stderr)
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let record = root + "/containers/\(id)/container.json"
            switch damage {
            case "truncated": XCTAssertEqual(truncate(record, 100), 0)
            case "empty": XCTAssertEqual(truncate(record, 0), 0)
            case "missing": XCTAssertEqual(unlink(record), 0)
            default: try write("{\"id\": nonsense", to: URL(fileURLWithPath: record))
            }
            let ps = md(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Status}}"])
            XCTAssertEqual(ps.status, 0)
            XCTAssertEqual(ps.stdout, "\(id) \(name) Dead (damaged record)\n", damage)
            XCTAssertTrue(md(["inspect", name]).stdout.contains("container.json"), "inspect says which file")
            let start = md(["start", name])
            XCTAssertEqual(start.status, 125)
            XCTAssertTrue(start.stderr.contains(record), start.stderr)
            if damage == "garbage" {
                // stop goes by its cgroups, and says what it did and what is wrong.
                let stop = md(["stop", name])
                XCTAssertTrue(stop.stderr.contains("was stopped (its processes killed), but its record \(record)"), stop.stderr)
                XCTAssertTrue(waitUntil { processes().isEmpty }, "\(processes())")
                XCTAssertEqual(md(["wait", name]).status, 0, "wait returns for a dead container")
                XCTAssertEqual(md(["rm", name]).status, 0)
                assertNothingLeft()
                continue
            }
            // Its cgroups say it still runs: rm and prune leave it without -f.
            let plain = md(["rm", name])
            XCTAssertEqual(plain.status, 125)
            XCTAssertTrue(plain.stderr.contains("use -f"), plain.stderr)
            XCTAssertEqual(md(["container", "prune", "-f"]).stdout, "")
            // By name (from what is left of the record, or the event log), then nothing is left.
            let rm = md(["rm", "-f", name])
            XCTAssertEqual(rm.status, 0, "\(damage): \(rm.stderr)")
            assertNothingLeft()
        }
    }

    func testPruneRemovesStoppedContainersWithDamagedRecords() throws {
        prepareImage()
        XCTAssertEqual(md(["run", "--name", "done", "--cgroup-parent", parent, "busybox", "true"]).status, 0)
        let id = md(["ps", "-aq", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(unlink(root + "/containers/\(id)/container.json"), 0)
        XCTAssertEqual(md(["container", "prune", "-f"]).stdout, "Deleted Containers:\n\(id)\n")
        assertNothingLeft()
    }

    func testDamagedRuntimeSpecErrorsNameTheFile() throws {
        prepareImage()
        XCTAssertEqual(md(["run", "-d", "--name", "badspec", "--cgroup-parent", parent, "busybox", "sleep", marker]).status, 0)
        let id = md(["ps", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let spec = root + "/containers/\(id)/config.json"
        XCTAssertEqual(truncate(spec, 1), 0)
        // stop still stops it: its stop signal is in the record, not the spec.
        let stop = md(["stop", "-t", "1", "badspec"])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        XCTAssertTrue(md(["ps", "-a", "--format", "{{.Status}}"]).stdout.hasPrefix("Exited"))
        let start = md(["start", "badspec"])
        XCTAssertEqual(start.status, 125)
        XCTAssertTrue(start.stderr.contains(spec) && start.stderr.contains("badspec"), start.stderr)
        XCTAssertEqual(md(["rm", "-f", "badspec"]).status, 0)
        assertNothingLeft()
    }

    // MARK: a full disk

    func mountSmallTmpfs() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        XCTAssertEqual(mount("tmpfs", root, "tmpfs", 0, "size=24m,mode=0700"), 0, String(cString: strerror(errno)))
    }

    /// Fills the file system of the state root; returns the filler, to be removed.
    func fillDisk() -> String {
        let filler = root + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var chunk = [UInt8](repeating: 1, count: 1 << 16)
        while chunk.withUnsafeMutableBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
        chunk = [1]
        while chunk.withUnsafeMutableBytes({ Glibc.write(fd, $0.baseAddress, 1) }) > 0 {}
        close(fd)
        return filler
    }

    func testFullDisk() throws {
        try mountSmallTmpfs()
        prepareImage()
        XCTAssertEqual(md(["run", "-d", "--name", "a", "--cgroup-parent", parent, "busybox", "sleep", marker]).status, 0)
        XCTAssertEqual(md(["run", "-d", "--name", "b", "--cgroup-parent", parent, "busybox", "sleep", marker]).status, 0)
        XCTAssertEqual(md(["run", "-d", "--name", "c", "--cgroup-parent", parent, "busybox", "sleep", marker]).status, 0)
        // A foreground container that exits 3 while the disk is full: run returns 3.
        let fg = try spawn(["run", "--name", "fg", "--cgroup-parent", parent, "busybox", "sh", "-c",
                            "sleep 1; exit 3 # \(marker)"])
        XCTAssertTrue(waitUntil { md(["ps", "--format", "{{.Names}}"]).stdout.contains("fg") })
        let filler = fillDisk()
        defer { unlink(filler) }

        // stop acts first: the container stops whatever the record can say.
        let stop = md(["stop", "-t", "1", "a"])
        XCTAssertTrue(stop.status == 0 || stop.stderr.contains("record"), stop.stderr)
        XCTAssertEqual(md(["kill", "b"]).status, 0)
        fg.waitUntilExit()
        XCTAssertEqual(fg.terminationStatus, 3, "the container's own exit status")
        let rm = md(["rm", "-f", "c"])
        XCTAssertEqual(rm.status, 0, rm.stderr)
        XCTAssertTrue(waitUntil { md(["ps", "-q"]).stdout.isEmpty }, md(["ps", "-a"]).stdout)
        // Nothing of a, b, c runs; the records tell the truth as far as they could be written.
        let ps = md(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout
        XCTAssertFalse(ps.contains(" Up"), ps)
        XCTAssertTrue(ps.contains("fg Exited (3)"), ps)
        XCTAssertFalse(ps.contains("c "), ps)
        XCTAssertTrue(waitUntil { processes().isEmpty }, "\(processes())")
        unlink(filler)
        XCTAssertEqual(md(["-e", "for _, c in ipairs(md.container.list{all=true}) do c:rm{force=true} end"]).status, 0)
        assertNothingLeft()
    }

    /// A record that cannot be written at all (immutable: neither replaced nor written in
    /// place): stop and rm -f still act, and say what they could not record.
    func testUnwritableRecordDoesNotStopTheStop() throws {
        prepareImage()
        for command in [["stop", "-t", "1"], ["rm", "-f"]] {
            let run = md(["run", "-d", "--cgroup-parent", parent, "busybox", "sleep", marker])
            XCTAssertEqual(run.status, 0, run.stderr)
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let record = root + "/containers/\(id)/container.json"
            XCTAssertEqual(Process.run("/usr/bin/chattr", ["+i", record]), 0)
            let r = md(command + [id])
            XCTAssertTrue(waitUntil { processes().isEmpty }, "\(command): the container is stopped: \(processes())")
            XCTAssertEqual(r.status, 125, "\(command)")
            XCTAssertTrue(r.stderr.contains(record), "\(command): \(r.stderr)")
            XCTAssertEqual(Process.run("/usr/bin/chattr", ["-i", record]), 0)
            let state = md(["ps", "-a", "--format", "{{.State}}"]).stdout
            XCTAssertTrue(state == "exited\n" || state == "dead\n", "\(command): \(state)")
            XCTAssertEqual(md(["rm", "-f", id]).status, 0)
            assertNothingLeft()
        }
    }

    /// An exit that cannot be recorded at all is recorded by the next command: a foreground
    /// run (the CLI records it) and a detached one (its monitor does).
    func testAnExitThatCannotBeRecordedIsRecordedByTheNextCommand() throws {
        prepareImage()
        for detached in [false, true] {
            let name = detached ? "bg" : "fg"
            let args = ["run"] + (detached ? ["-d"] : []) + ["--name", name, "--cgroup-parent", parent,
                                                             "busybox", "sh", "-c", "sleep 1; exit 3 # \(marker)"]
            let p = try spawn(args)
            XCTAssertTrue(waitUntil { md(["ps", "--format", "{{.Names}}"]).stdout == "\(name)\n" })
            let id = md(["ps", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let record = root + "/containers/\(id)/container.json"
            XCTAssertEqual(Process.run("/usr/bin/chattr", ["+i", record]), 0)
            p.waitUntilExit()
            if !detached { XCTAssertEqual(p.terminationStatus, 3, "run returns the container's status") }
            XCTAssertTrue(waitUntil { processes().isEmpty }, "\(processes())")
            XCTAssertEqual(Process.run("/usr/bin/chattr", ["-i", record]), 0)
            XCTAssertEqual(md(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout.prefix(13), "\(name) Exited (3)")
            XCTAssertEqual(inspect(name)["ExitCode"] as? Int, 3)
            XCTAssertEqual(md(["rm", name]).status, 0)
            assertNothingLeft()
        }
    }

    // MARK: system check, staging

    /// A staging dir as an interrupted `load` leaves it: its writer's pid in its name, its
    /// `.owner` lock free, a megabyte of layer in it.
    func makeStaleStaging(_ purpose: String) throws -> String {
        let staging = root + "/tmp/\(purpose)-999999999-dead"
        try FileManager.default.createDirectory(atPath: staging + "/layer", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: staging + "/.owner", contents: Data())
        FileManager.default.createFile(atPath: staging + "/layer/blob", contents: Data(count: 1 << 20))
        return staging
    }

    func testImagePruneReclaimsStaleStaging() throws {
        prepareImage()
        let stale = try makeStaleStaging("load")
        // A staging dir whose writer lives is left alone.
        let live = root + "/tmp/commit-\(getpid())-live"
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)
        let lock = open(live + "/.owner", O_RDWR | O_CREAT, 0o600)
        XCTAssertEqual(flock(lock, LOCK_EX), 0)
        defer { close(lock); try? FileManager.default.removeItem(atPath: live) }
        // system df counts it: two staging dirs, one live, the stale one's megabyte reclaimable
        // (allocated blocks as du counts them: the file and the directories).
        let df = md(["system", "df"]).stdout.split(separator: "\n").first { $0.hasPrefix("Staging") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        XCTAssertEqual(df, "Staging 2 1 1.06MB 1.06MB (100%)")
        XCTAssertEqual(md(["image", "prune", "-f"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
    }

    func testSystemCheckFindsAndRepairs() throws {
        prepareImage()
        XCTAssertEqual(md(["system", "check"]).stdout, "no problems found\n")
        // A container whose record is gone, still running.
        let run = md(["run", "-d", "--name", "norecord", "--cgroup-parent", parent, "busybox", "sleep", marker])
        XCTAssertEqual(run.status, 0, run.stderr)
        let gone = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(unlink(root + "/containers/\(gone)/container.json"), 0)
        // A created container with a mount and cgroups it should not hold.
        XCTAssertEqual(md(["create", "--name", "idle", "--cgroup-parent", parent, "busybox", "true"]).status, 0)
        let idle = md(["inspect", "-f", "{{.Id}}", "idle"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(mount("tmpfs", root + "/containers/\(idle)/rootfs", "tmpfs", 0, nil), 0)
        for h in ["pids", "memory"] {
            try FileManager.default.createDirectory(atPath: "/sys/fs/cgroup/\(h)/\(parent)/\(idle)",
                                                    withIntermediateDirectories: true)
        }
        // A blob no image uses.
        let blob = root + "/blobs/sha256/" + String(repeating: "ab", count: 32)
        FileManager.default.createFile(atPath: blob, contents: Data("x".utf8))
        // Last: the first container's start made ROOT/mountpoints, which reclaims stale
        // staging as every writer does.
        let stale = try makeStaleStaging("commit")

        let check = md(["system", "check"])
        XCTAssertEqual(check.status, 1)
        for want in ["staging \(stale)", "container \(root)/containers/\(gone)", "mount \(root)/containers/\(idle)/rootfs",
                     "cgroup /sys/fs/cgroup/", "blob \(blob)"] {
            XCTAssertTrue(check.stdout.contains(want), "\(want) in\n\(check.stdout)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: stale), "a check alone changes nothing")

        let repair = md(["system", "check", "--repair"])
        XCTAssertEqual(repair.status, 0, repair.stdout)
        XCTAssertTrue(repair.stdout.contains("removed"), repair.stdout)
        XCTAssertTrue(repair.stdout.contains("unmounted"), repair.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertFalse(FileManager.default.fileExists(atPath: blob))
        XCTAssertEqual(md(["system", "check"]).stdout, "no problems found\n")
        XCTAssertEqual(md(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout, "idle Created\n")
        XCTAssertEqual(md(["rm", "idle"]).status, 0)
        XCTAssertEqual(md(["run", "--rm", "busybox", "true"]).status, 0, "the image is whole")
        assertNothingLeft()
    }

    func testSystemCheckReportsImagesMissingTheirLayers() throws {
        prepareImage()
        let layers = try FileManager.default.contentsOfDirectory(atPath: root + "/layers").filter { $0.count == 64 }
        let layer = try XCTUnwrap(layers.first)
        let record = root + "/layers/\(layer)/layer.json"
        XCTAssertEqual(rename(record, record + ".away"), 0)
        let repair = md(["system", "check", "--repair"])
        XCTAssertEqual(repair.status, 1, "nothing safe to do: \(repair.stdout)")
        XCTAssertTrue(repair.stdout.contains("image \(root)/layers/\(layer): docker.io/library/busybox:latest: this layer is missing"),
                      repair.stdout)
        XCTAssertTrue(repair.stdout.contains("left as it is (not safe to repair)"), repair.stdout)
        XCTAssertEqual(rename(record + ".away", record), 0)
        XCTAssertEqual(md(["system", "check"]).stdout, "no problems found\n")
    }
}
