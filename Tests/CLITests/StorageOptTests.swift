import Foundation
import XCTest

/// `--storage-opt size=`: a container's writable layer on a loop-mounted file system of that
/// size (Sources/MDCore/Container/WritableLayer.swift, docs/volumes.md).
final class StorageOptTests: ContainerTestCase {
    override func checkNothingLeft() {
        XCTAssertEqual(loopDevices(), [], "no loop device is left attached to an image of this root")
    }

    /// Loop devices whose backing file is under this test's directory.
    func loopDevices() -> [String] {
        let devices = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []
        return devices.filter { $0.hasPrefix("loop") }.filter { d in
            let backing = (try? String(contentsOfFile: "/sys/block/\(d)/loop/backing_file", encoding: .utf8)) ?? ""
            return backing.contains(dir.path)
        }.sorted()
    }

    func mountsOfRoot() -> [String] {
        let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { $0.contains(root) }
    }

    func id(_ name: String) -> String {
        md(["inspect", "-f", "{{.Id}}", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testWritingPastTheLimitGivesENOSPCInsideAndNothingOutside() {
        let r = md(["run", "--name", "full", "--storage-opt", "size=16m", "busybox", "sh", "-c",
                    "df -k / | tail -1; dd if=/dev/zero of=/big bs=1M count=64 2>&1 | grep -o 'No space left on device'; stat -c %s /big"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, r.stdout)
        // df inside sees the limit, not the host's file system.
        let total = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        XCTAssertTrue(total > 12 << 10 && total <= 16 << 10, lines.first ?? "")
        XCTAssertEqual(lines.dropFirst().first, "No space left on device")
        XCTAssertLessThan(Int(lines.last ?? "") ?? .max, 16 << 20)
        // The host holds at most the image's 16 MiB of the 64 written (its free space is no
        // measure here: other writers share the disk).
        var st = stat()
        XCTAssertEqual(stat(root + "/containers/" + id("full") + "/disk.img", &st), 0)
        XCTAssertLessThanOrEqual(Int(st.st_blocks) * 512, 16 << 20)
        XCTAssertEqual(st.st_size, 16 << 20, "the image is the size asked")
        // A run without a limit next to it writes as it always did.
        XCTAssertEqual(md(["run", "--rm", "busybox", "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=20 2>/dev/null && stat -c %s /big"]).stdout,
                       "\(20 << 20)\n")
        XCTAssertEqual(md(["rm", "full"]).status, 0)
    }

    func testDiffCommitCpExportSeeTheLayerRunningAndStopped() throws {
        XCTAssertEqual(md(["run", "-d", "--name", "lim", "--storage-opt", "size=32m", "busybox", "sleep", "60"]).status, 0)
        XCTAssertEqual(md(["exec", "lim", "sh", "-c", "mkdir /d && echo one > /d/f && rm /bin/true"]).status, 0)
        func check(_ state: String, before: String) throws {
            XCTAssertEqual(md(["diff", "lim"]).stdout, "C /bin\nD /bin/true\nA /d\nA /d/f\n" + before, state)
            let out = dir.appendingPathComponent("out-\(state)")
            XCTAssertEqual(md(["cp", "lim:/d/f", out.path]).status, 0, state)
            XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "one\n", state)
            try "\(state)\n".write(to: out, atomically: false, encoding: .utf8)
            XCTAssertEqual(md(["cp", out.path, "lim:/d/\(state)"]).status, 0, state)
            let image = "lim-\(state)"
            XCTAssertEqual(md(["commit", "lim", image]).status, 0, state)
            XCTAssertEqual(md(["run", "--rm", image, "sh", "-c", "cat /d/f /d/\(state); test -e /bin/true || echo gone"]).stdout,
                           "one\n\(state)\ngone\n", state)
            let tar = md(["export", "lim"]).stdout
            XCTAssertTrue(tar.contains("d/\(state)"), state)
        }
        try check("running", before: "")
        XCTAssertEqual(md(["stop", "-t", "0", "lim"]).status, 0)
        try check("stopped", before: "A /d/running\n")
        // The layer stays mounted while the container exists; a reboot takes the mount:
        // every command mounts it again.
        let layer = root + "/containers/" + id("lim") + "/layer"
        XCTAssertEqual(mountsOfRoot().filter { $0.contains(layer) }.count, 1)
        XCTAssertEqual(umount2(layer, Int32(MNT_DETACH)), 0)
        XCTAssertEqual(md(["diff", "lim"]).stdout, "C /bin\nD /bin/true\nA /d\nA /d/f\nA /d/running\nA /d/stopped\n")
        XCTAssertEqual(md(["start", "lim"]).status, 0)
        XCTAssertEqual(md(["exec", "lim", "cat", "/d/running"]).stdout, "running\n")
        XCTAssertEqual(loopDevices().count, 1, "one device, attached once")
        XCTAssertEqual(md(["rm", "-f", "lim"]).status, 0)
    }

    func testRmLeavesNoLoopDeviceMountOrFile() {
        XCTAssertEqual(md(["create", "--name", "c", "--storage-opt", "size=16m", "busybox", "true"]).status, 0)
        let dirPath = root + "/containers/" + id("c")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dirPath + "/disk.img"))
        XCTAssertEqual(loopDevices(), [], "created, never used: nothing attached")
        XCTAssertEqual(md(["start", "-a", "c"]).status, 0)
        XCTAssertEqual(loopDevices().count, 1)
        XCTAssertEqual(md(["inspect", "-f", "{{.HostConfig.StorageOpt}} {{.GraphDriver.Data.UpperDir}}", "c"]).stdout,
                       "map[size:16m] \(dirPath)/layer/upper\n")
        XCTAssertEqual(md(["system", "check"]).stdout, "no problems found\n", "the layer's mount is expected")
        XCTAssertEqual(md(["rm", "c"]).status, 0)
        XCTAssertEqual(loopDevices(), [])
        XCTAssertEqual(mountsOfRoot(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dirPath))
        // --rm: the same, at its exit.
        XCTAssertEqual(md(["run", "--rm", "--storage-opt", "size=16m", "busybox", "true"]).status, 0)
        XCTAssertEqual(loopDevices(), [])
        XCTAssertEqual(mountsOfRoot(), [])
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }

    func testKilledRunAtAnyPointLeavesNothingToTripOver() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<10 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
            p.arguments = ["--root", root, "run"] + (round % 2 == 0 ? ["--rm"] : ["--name", "k\(round)"])
                + ["--storage-opt", "size=16m", "busybox", "sh", "-c", "echo x > /x; sleep 60"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 0...150_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(md(["ps", "-a"]).status, 0, "round \(round)")
            // A named one that was made starts again, its layer there.
            if round % 2 == 1, md(["inspect", "k\(round)"]).status == 0 {
                XCTAssertEqual(md(["start", "k\(round)"]).status, 0, "round \(round)")
                XCTAssertEqual(md(["exec", "k\(round)", "sh", "-c", "echo y > /y && cat /y"]).stdout, "y\n", "round \(round)")
            }
        }
        XCTAssertEqual(md(["-e", "for _, c in ipairs(md.container.list{all=true}) do c:rm{force=true} end"]).status, 0)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
        XCTAssertEqual(loopDevices(), [])
        XCTAssertEqual(mountsOfRoot(), [])
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: root + "/containers"))?.filter { !$0.hasPrefix(".") } ?? [], [])
    }

    func testBadValuesAreOneLineAnd125() {
        for (opt, why) in [("size=abc", "expected a size like 100m or 1g"), ("size=0", "the minimum is 8m"),
                           ("size=1k", "the minimum is 8m"), ("size", "expected size=SIZE"),
                           ("foo=1", "unknown option \"foo\" (only size= is known)"),
                           ("size=99999999999999t", "the maximum is 1024t")] {
            let r = md(["run", "--rm", "-v", "anon:/a", "--storage-opt", opt, "busybox", "true"])
            XCTAssertEqual(r.status, 125, opt)
            XCTAssertEqual(r.stderr, "mdlua: invalid --storage-opt \"\(opt)\": \(why)\n")
        }
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "nothing was created")
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "")
    }

    func testLuaAPI() {
        let script = """
            local r = md.run{ image = "busybox", cmd = { "sh", "-c", "df -k / | tail -1" }, rm = true, capture = true,
                              storage_opt = { "size=16m" } }
            assert(r.exit_code == 0 and r.stdout:match("^none%s+1%d%d%d%d "), r.stdout .. r.stderr)
            local c = md.container.create{ image = "busybox", storage_opt = { "size=16m" } }
            assert(c.config.storage_opt.size == "16m")
            c:rm()
            local ok, err = pcall(md.run, { image = "busybox", storage_opt = { "size=x" } })
            assert(not ok and err.code == "invalid_option", tostring(err))
            assert(err.message == 'invalid storage_opt "size=x": expected a size like 100m or 1g', err.message)
            print("ok")
            """
        let r = md(["-e", script])
        XCTAssertEqual(r.stdout, "ok\n", r.stderr)
    }
}
