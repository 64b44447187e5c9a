import Foundation
import XCTest

/// Detached containers under their monitor: ps, stop, kill, wait, logs, exec, restart, rm.
final class LifecycleTests: ContainerTestCase {
    func detached(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = md(["run", "-d"] + args, file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r.stdout.trimmingCharacters(in: .newlines)
    }

    func testRunDetachedKeepsRunningAndStops() {
        let id = detached(["--name", "web", "busybox", "sh", "-c", "trap 'echo bye; exit 3' TERM; echo up; while true; do sleep 0.1; done"])
        XCTAssertEqual(id.count, 64)
        XCTAssertEqual(md(["ps", "-q"]).stdout, String(id.prefix(12)) + "\n", "running after the CLI exited")
        let ps = md(["ps"]).stdout
        XCTAssertTrue(ps.hasPrefix("CONTAINER ID   IMAGE     COMMAND"), ps)
        XCTAssertTrue(ps.contains("Up ") && ps.contains("web"), ps)
        XCTAssertEqual(md(["ps", "--format", "{{.Names}} {{.Image}} {{.State}}"]).stdout, "web busybox running\n")
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.Name}}", "web"]).stdout, "running true /web\n")
        XCTAssertEqual(md(["stop", "web"]).stdout, "web\n")
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"]).stdout, "exited 3\n")
        XCTAssertEqual(md(["ps", "-q"]).stdout, "")
        XCTAssertTrue(md(["ps", "-a"]).stdout.contains("Exited (3)"))
        XCTAssertEqual(md(["logs", "web"]).stdout, "up\nbye\n")
        XCTAssertEqual(md(["wait", "web"]).stdout, "3\n")
        XCTAssertEqual(md(["rm", "web"]).stdout, "web\n")
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }

    func testStopKillsAfterTheTimeout() {
        detached(["--name", "stubborn", "busybox", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
        let start = Date()
        XCTAssertEqual(md(["stop", "-t", "1", "stubborn"]).status, 0)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 1.0)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.ExitCode}} {{.State.Error}}", "stubborn"]).stdout, "137 \n")
    }

    func testKillWaitAndRemoveForce() {
        detached(["--name", "k", "--init", "busybox", "sleep", "60"])
        XCTAssertEqual(md(["kill", "-s", "USR1", "k"]).stdout, "k\n")
        XCTAssertEqual(md(["wait", "k"]).stdout, "138\n")
        let bad = md(["kill", "-s", "NOPE", "k"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.stderr.contains("invalid signal \"NOPE\""), bad.stderr)
        detached(["--name", "busy", "busybox", "sleep", "60"])
        let refused = md(["rm", "busy"])
        XCTAssertEqual(refused.status, 125)
        XCTAssertTrue(refused.stderr.contains("is running"), refused.stderr)
        XCTAssertEqual(md(["rm", "-f", "busy"]).status, 0)
        XCTAssertEqual(md(["ps", "-aq"]).stdout.split(separator: "\n").count, 1)
    }

    func testLogsKeepStreamsApartAndFollow() {
        detached(["--name", "l", "busybox", "sh", "-c", "echo out1; echo err1 >&2; echo out2; sleep 1; echo late"])
        usleep(300_000)
        let r = md(["logs", "l"])
        XCTAssertEqual(r.stdout, "out1\nout2\n")
        XCTAssertEqual(r.stderr, "err1\n")
        // Lines of one stream keep their order; --tail counts lines of both.
        XCTAssertEqual(md(["logs", "--tail", "3", "l"]).stdout, "out1\nout2\n")
        XCTAssertTrue(md(["logs", "-t", "l"]).stdout.hasPrefix("20"), "timestamps")
        // -f ends when the container stops, with everything it wrote.
        let followed = md(["logs", "-f", "l"])
        XCTAssertEqual(followed.stdout, "out1\nout2\nlate\n")
        XCTAssertEqual(md(["logs", "--since", "1h", "l"]).stdout, "out1\nout2\nlate\n")
    }

    func testLogRotationKeepsItsBound() throws {
        detached(["--name", "chatty", "--log-opt", "max-size=64k", "--log-opt", "max-file=2", "busybox", "sh", "-c",
                  "i=0; while [ $i -lt 20000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"])
        XCTAssertEqual(md(["wait", "chatty"]).stdout, "0\n")
        let cdir = try FileManager.default.contentsOfDirectory(atPath: root + "/containers").first { !$0.hasPrefix(".") }!
        let logs = try FileManager.default.contentsOfDirectory(atPath: root + "/containers/" + cdir).filter { $0.hasPrefix("container.log") }
        XCTAssertEqual(logs.sorted(), ["container.log", "container.log.1"])
        for l in logs {
            let size = (try FileManager.default.attributesOfItem(atPath: root + "/containers/" + cdir + "/" + l)[.size] as? Int) ?? 0
            XCTAssertLessThanOrEqual(size, 64 * 1024)
        }
        XCTAssertTrue(md(["logs", "--tail", "1", "chatty"]).stdout.hasPrefix("line-19999-"))
        XCTAssertEqual(md(["run", "--rm", "--log-opt", "max-size=huge", "busybox", "true"]).status, 125)
    }

    func testExec() {
        detached(["--name", "x", "-e", "FROM_RUN=1", "busybox", "sleep", "60"])
        XCTAssertEqual(md(["exec", "x", "sh", "-c", "echo $$ $FROM_RUN; hostname"]).stdout.split(separator: "\n").first, "2 1")
        XCTAssertEqual(md(["exec", "-u", "nobody", "-w", "/tmp", "-e", "A=b", "x", "sh", "-c", "id -u; pwd; echo $A"]).stdout,
                       "65534\n/tmp\nb\n")
        XCTAssertEqual(md(["exec", "x", "grep", "-E", "^(CapEff|NoNewPrivs|Seccomp):", "/proc/self/status"]).stdout,
                       "CapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n", "the container's security settings")
        XCTAssertEqual(md(["exec", "x", "sh", "-c", "exit 4"]).status, 4)
        XCTAssertEqual(md(["exec", "x", "nothing-here"]).status, 127)
        XCTAssertEqual(md(["exec", "x", "unshare", "-n", "true"]).status, 1, "seccomp holds in exec too")
        // -d: returns at once, the command goes on in the container.
        let d = md(["exec", "-d", "x", "sh", "-c", "sleep 0.3; echo done > /tmp/detached"])
        XCTAssertEqual(d.status, 0)
        XCTAssertEqual(d.stdout, "")
        XCTAssertNotEqual(md(["exec", "x", "cat", "/tmp/detached"]).status, 0, "not finished when exec -d returned")
        var finished = ""
        for _ in 0..<50 where finished != "done\n" {
            usleep(100_000)
            finished = md(["exec", "x", "cat", "/tmp/detached"]).stdout
        }
        XCTAssertEqual(finished, "done\n")
        XCTAssertEqual(md(["exec", "-d", "x", "nothing-here"]).status, 127, "a command that cannot start is still an error")
        XCTAssertEqual(md(["exec", "-d", "-t", "x", "true"]).status, 125)
        md(["stop", "-t", "0", "x"])
        let stopped = md(["exec", "x", "true"])
        XCTAssertEqual(stopped.status, 125)
        XCTAssertTrue(stopped.stderr.contains("is not running"), stopped.stderr)
    }

    func testRestartPolicy() {
        detached(["--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1"])
        XCTAssertEqual(md(["wait", "flaky"]).stdout, "1\n")
        var count = ""
        for _ in 0..<100 {
            count = md(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"]).stdout
            if count == "2 exited\n" { break }
            usleep(50_000)
        }
        XCTAssertEqual(count, "2 exited\n")
        detached(["--name", "always", "--restart", "always", "busybox", "sleep", "0.1"])
        usleep(800_000)
        XCTAssertEqual(md(["stop", "always"]).status, 0, "stop ends the restarts")
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "always"]).stdout, "exited\n")
        let bad = md(["run", "-d", "--restart", "sometimes", "busybox", "true"])
        XCTAssertEqual(bad.status, 125)
        // update --restart reaches a running container's monitor.
        detached(["--name", "later", "busybox", "sh", "-c", "sleep 0.5; exit 1"])
        XCTAssertEqual(md(["update", "--restart", "on-failure:1", "later"]).status, 0)
        var restarted = ""
        for _ in 0..<60 {
            restarted = md(["inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}}", "later"]).stdout
            if restarted == "1 exited on-failure\n" { break }
            usleep(100_000)
        }
        XCTAssertEqual(restarted, "1 exited on-failure\n")
        XCTAssertEqual(md(["update", "--restart", "maybe", "later"]).status, 125)
    }

    func testNamesAreUniqueEvenWhenRacing() throws {
        let p = (0..<6).map { _ -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
            p.arguments = ["--root", root, "create", "--name", "same", "busybox", "true"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try? p.run()
            return p
        }
        p.forEach { $0.waitUntilExit() }
        XCTAssertEqual(p.filter { $0.terminationStatus == 0 }.count, 1, "exactly one wins")
        XCTAssertEqual(md(["ps", "-aq"]).stdout.split(separator: "\n").count, 1)
    }

    func testAMonitorKilledLeavesAReadableState() throws {
        detached(["--name", "orphan", "busybox", "sleep", "60"])
        let monitorPid = md(["-e", "print(md.container.get('orphan').monitor_pid)"]).stdout.trimmingCharacters(in: .newlines)
        let containerPid = md(["inspect", "-f", "{{.State.Pid}}", "orphan"]).stdout.trimmingCharacters(in: .newlines)
        kill(Int32(monitorPid)!, SIGKILL)
        kill(Int32(containerPid)!, SIGKILL)
        usleep(200_000)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "orphan"]).stdout, "exited\n", "never running forever")
        XCTAssertEqual(md(["rm", "orphan"]).status, 0)
    }

    func testAnInterruptedRemovalLeavesADeadContainer() throws {
        XCTAssertEqual(md(["create", "--name", "doomed", "busybox", "true"]).status, 0)
        let id = md(["inspect", "-f", "{{.Id}}", "doomed"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // A file the removal cannot delete stands for a crash in the middle of it.
        let stuck = root + "/containers/" + id + "/stuck"
        FileManager.default.createFile(atPath: stuck, contents: nil)
        XCTAssertEqual(Process.run("/usr/bin/chattr", ["+i", stuck]), 0)
        defer { _ = Process.run("/usr/bin/chattr", ["-i", stuck]) }
        XCTAssertEqual(md(["rm", "doomed"]).status, 125)
        XCTAssertEqual(md(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout, "doomed Dead\n")
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}} {{.State.Dead}}", "doomed"]).stdout, "dead true\n")
        let start = md(["start", "doomed"])
        XCTAssertEqual(start.status, 125)
        XCTAssertTrue(start.stderr.contains("is dead"), start.stderr)
        XCTAssertEqual(Process.run("/usr/bin/chattr", ["-i", stuck]), 0)
        XCTAssertEqual(md(["rm", "doomed"]).status, 0, "removing it again finishes")
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
        // A record emptied by a power loss: a dead container, named as the event log last
        // named it, that rm removes.
        XCTAssertEqual(md(["create", "--rm", "--name", "lost", "busybox", "true"]).status, 0)
        let lost = md(["inspect", "-f", "{{.Id}}", "lost"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        FileManager.default.createFile(atPath: root + "/containers/" + lost + "/container.json", contents: Data())
        XCTAssertEqual(md(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout, "lost Dead (damaged record)\n")
        XCTAssertEqual(md(["rm", String(lost.prefix(8))]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/containers/" + lost))
    }

    func testLuaContainerObjects() throws {
        let script = dir.appendingPathComponent("c.lua")
        try write("""
            local c = md.container.create{image="busybox", cmd={"sleep", "60"}, name="lua"}
            assert(c:start_detached())
            local r = c:exec{cmd={"sh", "-c", "echo in $HOSTNAME"}, capture=true}
            io.write(r.exit_code, " ", r.stdout)
            local other = md.container.create{image="busybox", cmd={"true"}, name="idle"}
            local running, all = md.containers(), md.containers{all=true}
            print(#running, running[1].name, #all, all[1].name, all[2].name)
            local doc = c:inspect()
            print(doc.State.Status, doc.State.Running, doc.Name, doc.Config.Cmd[1])
            c:stop{timeout=0}
            print(c.status, c:wait(), #c:logs())
            c:rm()
            other:rm()
            print(#md.containers{all=true})
            """, to: script)
        let r = md([script.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("0 in "), r.stdout)
        XCTAssertTrue(r.stdout.contains("\n1\tlua\t2\tidle\tlua\nrunning\ttrue\t/lua\tsleep\n"), "running only; all, newest first\n" + r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("exited\t137\t0\n0\n"), r.stdout)
    }

    func testDiffAndCommit() {
        XCTAssertEqual(md(["run", "--name", "ch", "-e", "KEEP=1", "-w", "/srv", "busybox", "sh", "-c",
                           "echo new > /newfile; rm /bin/ls; echo x >> /etc/passwd"]).status, 0)
        XCTAssertEqual(md(["diff", "ch"]).stdout, "C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nA /newfile\nA /srv\n",
                       "the runtime's own mount points are not changes")
        let id = md(["commit", "-c", "CMD [\"cat\", \"/newfile\"]", "-m", "my change", "ch", "changed:1"])
        XCTAssertEqual(id.status, 0, id.stderr)
        XCTAssertEqual(md(["run", "--rm", "changed:1"]).stdout, "new\n")
        XCTAssertEqual(md(["run", "--rm", "changed:1", "ls"]).status, 127, "the deletion is in the image")
        XCTAssertEqual(md(["run", "--rm", "--entrypoint", "sh", "changed:1", "-c", "echo $KEEP; pwd; cat /etc/hosts | wc -l"]).stdout,
                       "1\n/srv\n7\n", "the container's env and workdir are kept (and /etc/hosts: 6 lines and its address)")
        XCTAssertTrue(md(["history", "changed:1"]).stdout.contains("my change"))
        // The layer goes out as a .wh. entry in a saved archive.
        let archive = dir.appendingPathComponent("c.tar").path
        XCTAssertEqual(md(["save", "-o", archive, "changed:1"]).status, 0)
        let other = dir.appendingPathComponent("other").path
        XCTAssertEqual(MDLuaBinary.run(["--root", other, "load", "-i", archive]).status, 0)
        XCTAssertEqual(MDLuaBinary.run(["--root", other, "run", "--rm", "changed:1", "ls"]).status, 127)
    }

    func testRenameRestartPruneTopAndLabels() {
        detached(["--name", "a", "-l", "team=x", "busybox", "sleep", "60"])
        XCTAssertEqual(md(["rename", "a", "b"]).status, 0)
        XCTAssertEqual(md(["ps", "--format", "{{.Names}}"]).stdout, "b\n")
        XCTAssertEqual(md(["ps", "-q", "--filter", "label=team=x"]).stdout.count, 13)
        XCTAssertEqual(md(["ps", "-q", "--filter", "label=team=y"]).stdout, "")
        let top = md(["top", "b"]).stdout
        XCTAssertTrue(top.hasPrefix("UID ") && top.contains(" PID ") && top.contains("sleep 60"), top)
        let pid1 = md(["inspect", "-f", "{{.State.Pid}}", "b"]).stdout
        XCTAssertEqual(md(["restart", "-t", "0", "b"]).status, 0)
        XCTAssertNotEqual(md(["inspect", "-f", "{{.State.Pid}}", "b"]).stdout, pid1)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "b"]).stdout, "running\n")
        XCTAssertEqual(md(["create", "busybox", "true"]).status, 0)
        let pruned = md(["container", "prune", "-f"]).stdout
        XCTAssertTrue(pruned.hasPrefix("Deleted Containers:\n"), pruned)
        XCTAssertEqual(md(["ps", "-aq"]).stdout.split(separator: "\n").count, 1, "the running one stays")
        XCTAssertEqual(md(["container", "ls", "-q"]).stdout, md(["ps", "-q"]).stdout)
        let taken = md(["run", "-d", "--name", "b", "busybox", "true"])
        XCTAssertEqual(taken.status, 125)
    }

    func testHealthChecks() {
        detached(["--name", "h", "--health-cmd", "test -f /ok", "--health-interval", "200ms", "--health-retries", "2",
                  "busybox", "sleep", "60"])
        XCTAssertTrue(md(["ps", "--format", "{{.Status}}"]).stdout.contains("(health: starting)"))
        var status = ""
        for _ in 0..<50 {
            status = md(["inspect", "-f", "{{.State.Health.Status}}", "h"]).stdout
            if status == "unhealthy\n" { break }
            usleep(100_000)
        }
        XCTAssertEqual(status, "unhealthy\n", "two failures in a row")
        XCTAssertTrue(md(["ps", "--format", "{{.Status}}"]).stdout.contains("(unhealthy)"))
        XCTAssertEqual(md(["exec", "h", "touch", "/ok"]).status, 0)
        for _ in 0..<50 {
            status = md(["inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", "h"]).stdout
            if status == "healthy 0\n" { break }
            usleep(100_000)
        }
        XCTAssertEqual(status, "healthy 0\n", "a success makes it healthy again")
        let log = md(["inspect", "-f", "{{json .State.Health.Log}}", "h"]).stdout
        XCTAssertTrue(log.contains("\"ExitCode\":0") && log.contains("\"ExitCode\":1"), log)
        XCTAssertEqual(md(["run", "--rm", "--health-interval", "soon", "busybox", "true"]).status, 125)
        detached(["--name", "none", "--no-healthcheck", "busybox", "sleep", "60"])
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Health}}", "none"]).stdout, "<nil>\n", "as Docker prints a nil Health")
    }

    func testCopyBothWaysNeverLeavesTheRootfs() throws {
        detached(["--name", "c", "busybox", "sh", "-c", "mkdir -p /data/sub; echo hi > /data/sub/f; ln -s / /data/up; sleep 60"])
        usleep(300_000)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        XCTAssertEqual(md(["cp", "c:/data", out.path]).status, 0)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("data/sub/f"), encoding: .utf8), "hi\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: out.path + "/data/up"), "/",
                       "a symlink is copied as a symlink, not followed")
        XCTAssertEqual(md(["cp", "c:/data/sub/f", out.appendingPathComponent("renamed").path]).status, 0)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("renamed"), encoding: .utf8), "hi\n")
        // Into the container through its own symlink to /: it lands in the container's root.
        let file = dir.appendingPathComponent("in.txt")
        try write("from host", to: file)
        let marker = "/mdlua-cp-\(UUID().uuidString.prefix(8))"
        XCTAssertEqual(md(["cp", file.path, "c:/data/up" + marker]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the host's / is untouched")
        XCTAssertEqual(md(["exec", "c", "cat", marker]).stdout, "from host")
        XCTAssertEqual(md(["cp", file.path, "c:/data/sub/"]).status, 0)
        XCTAssertEqual(md(["exec", "c", "cat", "/data/sub/in.txt"]).stdout, "from host")
        // A stopped container too.
        md(["stop", "-t", "0", "c"])
        XCTAssertEqual(md(["cp", "c:/data/sub/in.txt", out.appendingPathComponent("after").path]).status, 0)
        let bad = md(["cp", "c:/nope", out.path])
        XCTAssertEqual(bad.status, 125)
        XCTAssertEqual(md(["cp", "a", "b"]).status, 125)
    }

    func testAttachFollowsOutputUntilTheContainerStops() {
        detached(["--name", "a", "busybox", "sh", "-c", "echo early; sleep 0.6; echo one; echo two >&2; sleep 0.2"])
        usleep(200_000)
        let r = md(["attach", "a"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "one\n", "only what came after attaching")
        XCTAssertEqual(r.stderr, "two\n")
        XCTAssertEqual(md(["attach", "a"]).status, 125, "not running any more")
    }

    func testEvents() throws {
        // Following: only what happens after the start.
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
        follower.arguments = ["--root", root, "events", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"]
        let pipe = Pipe()
        follower.standardOutput = pipe
        try follower.run()
        usleep(300_000)
        XCTAssertEqual(md(["run", "--rm", "--name", "once", "busybox", "sh", "-c", "exit 3"]).status, 3)
        detached(["--name", "bg", "busybox", "true"])
        XCTAssertEqual(md(["wait", "bg"]).stdout, "0\n")
        XCTAssertEqual(md(["tag", "busybox", "evbox:1"]).status, 0)
        XCTAssertEqual(md(["rmi", "evbox:1"]).status, 0)
        usleep(500_000)
        follower.terminate()
        follower.waitUntilExit()
        let followed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(followed, """
            container create once
            container start once
            container die once
            container destroy once
            container create bg
            container start bg
            container die bg
            image tag docker.io/library/evbox:1
            image untag docker.io/library/evbox:1

            """)
        // The past, filtered; --until ends the stream.
        let dies = md(["events", "--since", "1m", "--until", "0s", "-f", "event=die", "--format", "{{.Actor.Attributes.name}}={{.Actor.Attributes.exitCode}}"])
        XCTAssertEqual(dies.stdout, "once=3\nbg=0\n")
        let one = md(["events", "--since", "1m", "--until", "0s", "-f", "container=bg", "-f", "event=start"])
        XCTAssertTrue(one.stdout.hasSuffix(" container start \(md(["inspect", "-f", "{{.Id}}", "bg"]).stdout.dropLast()) (image=busybox, name=bg)\n"), one.stdout)
        XCTAssertEqual(md(["events", "--since", "1m", "--until", "0s", "-f", "image=evbox", "--format", "{{.Action}}"]).stdout, "tag\nuntag\n")
        XCTAssertEqual(md(["events", "-f", "colour=red"]).status, 125)
        XCTAssertEqual(md(["events", "--until", "yesterday"]).status, 125)
    }

    func testAttachFeedsStdinOfAnInteractiveContainer() {
        detached(["-i", "--name", "reader", "busybox", "sh", "-c", "read a; echo got $a; read b; echo also $b >&2; exit 3"])
        let r = MDLuaBinary.run(["--root", root, "attach", "reader"], stdin: "first\nsecond\n")
        XCTAssertEqual(r.status, 3, "attach ends with the container, with its exit code")
        XCTAssertEqual(r.stdout, "got first\n")
        XCTAssertEqual(r.stderr, "also second\n")
        XCTAssertEqual(md(["logs", "reader"]).stdout, "got first\n")
        // Without -i the container's stdin is /dev/null: input is dropped, output still comes.
        detached(["--name", "deaf", "busybox", "sh", "-c", "sleep 0.5; read x || echo eof"])
        let deaf = MDLuaBinary.run(["--root", root, "attach", "deaf"], stdin: "ignored\n")
        XCTAssertEqual(deaf.stdout, "eof\n")
    }

    func testAttachToATerminalResizesAndDetaches() throws {
        detached(["-it", "--name", "shell", "busybox", "sh"])
        let term = try REPLTests.Terminal(arguments: ["--root", root, "attach", "shell"],
                                          environment: ["TERM": "xterm", "PATH": "/usr/bin:/bin"], rows: 33, columns: 101)
        term.send("stty size; echo $((6*7))\r")
        term.expect("33 101")
        term.expect("42")
        term.send("\u{10}\u{11}")   // Ctrl-P Ctrl-Q: detach, the shell goes on
        term.process.waitUntilExit()
        XCTAssertEqual(term.process.terminationStatus, 0)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "shell"]).stdout, "running\n")
        XCTAssertTrue(md(["logs", "shell"]).stdout.contains("42"), "a terminal's output is logged too")
        let again = try REPLTests.Terminal(arguments: ["--root", root, "attach", "shell"],
                                           environment: ["TERM": "xterm", "PATH": "/usr/bin:/bin"])
        again.send("exit 4\r")
        again.process.waitUntilExit()
        XCTAssertEqual(again.process.terminationStatus, 4)
    }
}
