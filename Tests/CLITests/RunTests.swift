import Foundation
import XCTest

/// `mdlua run` with real containers, as root, each test with its own state root.
final class RunTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
        // Runs before the directory's removal (teardown blocks run last in, first out).
        addTeardownBlock { [unowned self] in
            // Nothing of this test's may stay mounted; no container may be left without --rm.
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            XCTAssertFalse(mounts.contains(dir.path), "a mount is left behind")
        }
        let r = MDLuaBinary.run(["--root", root, "image", "bootstrap", "busybox"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    @discardableResult
    func run(_ args: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, stdin: stdin, file: file, line: line)
    }

    func sh(_ script: String, _ flags: [String] = [], file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = run(["run", "--rm"] + flags + ["busybox", "sh", "-c", script], file: file, line: line)
        XCTAssertEqual(r.status, 0, "\(script): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    func containers() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/containers"))?.filter { !$0.hasPrefix(".") } ?? []
    }

    func testIsolation() {
        XCTAssertEqual(sh("echo $$"), "1\n", "the command is pid 1")
        // ps alone (in a pipe, whether wc has started yet when ps reads /proc is a race).
        XCTAssertEqual(sh("ps -o pid > /tmp/p; wc -l < /tmp/p"), "3\n", "only the container's processes (header, sh, ps)")
        XCTAssertEqual(sh("hostname", ["-h", "box"]), "box\n")
        XCTAssertEqual(sh("cat /etc/hostname", ["--hostname", "box"]), "box\n")
        XCTAssertEqual(sh("ls /sys/class/net"), "eth0\nlo\n", "a network namespace of its own (on the default network)")
        XCTAssertEqual(sh("ls /sys/class/net", ["--network", "none"]), "lo\n", "--network none: lo only")
        XCTAssertEqual(sh("cat /sys/class/net/lo/operstate; grep -c . /proc/net/dev", ["--network", "none"]), "unknown\n3\n")
        XCTAssertEqual(sh("cat /sys/class/net/lo/flags"), "0x9\n", "lo is up")
        let mounts = sh("cut -d' ' -f5 /proc/self/mountinfo | tr '\\n' ' '")
        XCTAssertEqual(mounts, "/ /proc /dev /dev/pts /dev/shm /dev/mqueue /sys /etc/hostname /etc/hosts /etc/resolv.conf "
                       + "/proc/acpi /proc/keys /proc/timer_list /sys/firmware /proc/bus /proc/fs /proc/irq /proc/sys ",
                       "its own mount table, nothing of the host's")
        // The container's process holds stdio and nothing else of the engine's.
        XCTAssertEqual(run(["run", "-d", "--name", "fds", "busybox", "sleep", "30"]).status, 0)
        XCTAssertEqual(run(["exec", "fds", "ls", "/proc/1/fd"]).stdout, "0\n1\n2\n")
        run(["rm", "-f", "fds"])
        XCTAssertTrue(containers().isEmpty, "--rm removed the container")
    }

    func testDefaultSecurity() {
        let status = sh("grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status")
        XCTAssertEqual(status, """
            CapInh:\t0000000000000000
            CapPrm:\t00000000a80425fb
            CapEff:\t00000000a80425fb
            CapBnd:\t00000000a80425fb
            CapAmb:\t0000000000000000
            NoNewPrivs:\t1
            Seccomp:\t2

            """)
        // A system call the profile refuses: new namespaces, keyrings.
        let r = run(["run", "--rm", "busybox", "unshare", "-n", "true"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("Operation not permitted"), r.stderr)
        // Masked paths read empty; /proc/sys is read-only.
        XCTAssertEqual(sh("wc -c < /proc/timer_list; ls /sys/firmware | wc -l"), "0\n0\n")
        XCTAssertEqual(sh("echo x > /proc/sys/kernel/hostname 2>/dev/null; echo $?"), "1\n")
        XCTAssertEqual(sh("ls /dev | tr '\\n' ' '"), "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero ")
    }

    func testSecurityOptions() {
        XCTAssertEqual(sh("grep CapEff /proc/self/status", ["--cap-drop", "ALL"]), "CapEff:\t0000000000000000\n")
        XCTAssertEqual(sh("grep CapEff /proc/self/status", ["--cap-drop", "ALL", "--cap-add", "net_admin"]),
                       "CapEff:\t0000000000001000\n")
        // Privileged: every capability the engine itself holds (root here lacks CAP_SYS_RESOURCE).
        let own = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("CapPrm:") }?.split(separator: "\t").last.map(String.init) ?? ""
        XCTAssertEqual(sh("grep CapEff /proc/self/status", ["--privileged"]), "CapEff:\t\(own)\n")
        XCTAssertEqual(sh("grep NoNewPrivs /proc/self/status", ["--security-opt", "no-new-privileges=false"]), "NoNewPrivs:\t0\n")
        XCTAssertEqual(sh("grep Seccomp: /proc/self/status", ["--security-opt", "seccomp=unconfined"]), "Seccomp:\t0\n")
        // With CAP_SYS_ADMIN the profile gives namespaces back, as Docker's does.
        XCTAssertEqual(sh("unshare -n true && echo ok", ["--cap-add", "SYS_ADMIN"]), "ok\n")
        let profile = dir.appendingPathComponent("profile.json")
        try! write(#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdirat","mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#, to: profile)
        XCTAssertEqual(sh("mkdir /x 2>/dev/null; echo $?", ["--security-opt", "seccomp=" + profile.path]), "1\n")
        for (flag, message) in [(["--cap-add", "FLY"], "invalid --cap-add \"FLY\""),
                                (["--security-opt", "apparmor-ish"], "invalid --security-opt"),
                                (["--ulimit", "nofiles=1"], "invalid --ulimit"),
                                (["--network", ""], "invalid --network \"\""),
                                (["--tmpfs", "relative"], "invalid --tmpfs")] {
            let r = run(["run", "--rm"] + flag + ["busybox", "true"])
            XCTAssertEqual(r.status, 125, "\(flag)")
            XCTAssertTrue(r.stderr.contains(message), "\(flag): \(r.stderr)")
        }
        XCTAssertTrue(containers().isEmpty, "a refused run leaves no container")
    }

    func testImageConfigAndFlags() throws {
        let out = run(["-e", """
            local img = md.image.get("busybox")
            md.image.assemble("cfg:1", img.layers, { changes = { 'ENTRYPOINT ["echo", "ep"]', 'CMD ["from-cmd"]',
              'ENV A=image B=image', 'WORKDIR /srv/app', 'USER nobody' } })
            """])
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertEqual(run(["run", "--rm", "cfg:1"]).stdout, "ep from-cmd\n")
        XCTAssertEqual(run(["run", "--rm", "cfg:1", "args"]).stdout, "ep args\n")
        XCTAssertEqual(run(["run", "--rm", "--entrypoint", "pwd", "cfg:1"]).stdout, "/srv/app\n", "WORKDIR created")
        XCTAssertEqual(run(["run", "--rm", "--entrypoint", "sh", "-e", "B=flag", "cfg:1", "-c", "echo $A $B $HOME; id -u"]).stdout,
                       "image flag /nonexistent\n65534\n")
        XCTAssertEqual(run(["run", "--rm", "-u", "0:1", "-w", "/tmp", "--entrypoint", "sh", "cfg:1", "-c", "id -u; id -g; pwd"]).stdout,
                       "0\n1\n/tmp\n")
        XCTAssertEqual(sh("id", ["-u", "daemon"]), "uid=1(daemon) gid=1(daemon)\n")
        XCTAssertEqual(sh("id -u; id -g", ["-u", "4242:4343"]), "4242\n4343\n")
        let env = dir.appendingPathComponent("env")
        try write("# comment\nFROMFILE=yes\n", to: env)
        XCTAssertEqual(sh("echo $FROMFILE $PATH $HOSTNAME", ["--env-file", env.path, "-h", "hn"]),
                       "yes /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin hn\n")
        XCTAssertEqual(sh("ulimit -n", ["--ulimit", "nofile=100:200"]), "100\n")
        let bad = run(["run", "--rm", "-u", "ghost", "busybox", "true"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.stderr.contains("unable to find user ghost"), bad.stderr)
        XCTAssertTrue(containers().isEmpty)
    }

    func testExitCodes() {
        XCTAssertEqual(run(["run", "--rm", "busybox", "sh", "-c", "exit 3"]).status, 3)
        let missing = run(["run", "--rm", "busybox", "no-such-command"])
        XCTAssertEqual(missing.status, 127)
        XCTAssertEqual(missing.stderr, "mdlua: exec: \"no-such-command\": executable file not found in $PATH\n")
        XCTAssertEqual(run(["run", "--rm", "busybox", "/etc/passwd"]).status, 126)
        XCTAssertEqual(run(["run", "--rm", "busybox", "/no/such/file"]).status, 127)
        XCTAssertEqual(run(["run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"]).status, 137)
        let noImage = run(["run", "--rm", "--pull", "never", "nothere", "true"])
        XCTAssertEqual(noImage.status, 125)
        XCTAssertEqual(noImage.stderr, "mdlua: no such image: nothere\n")
        XCTAssertEqual(run(["run", "--rm", "--bogus", "busybox"]).status, 125)
        XCTAssertEqual(run(["run"]).status, 125)
        // Flags after the image belong to the command.
        XCTAssertEqual(run(["run", "--rm", "busybox", "sh", "-c", "echo $0 $1", "-l", "--rm"]).stdout, "-l --rm\n")
        XCTAssertTrue(containers().isEmpty)
    }

    func testSignalsAreForwarded() throws {
        for (flags, script, signal, expected) in [
            (["--init"], ["sleep", "30"], SIGTERM, Int32(143)),
            ([], ["sh", "-c", "trap 'exit 7' USR1; while true; do sleep 0.1; done"], SIGUSR1, 7),
            ([], ["sh", "-c", "trap 'exit 9' INT; while true; do sleep 0.1; done"], SIGINT, 9),
        ] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
            p.arguments = ["--root", root, "run", "--rm"] + flags + ["busybox"] + script
            p.standardInput = FileHandle.nullDevice
            try p.run()
            // Wait until the container runs: its record says so.
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                let running = MDLuaBinary.run(["--root", root, "-e",
                    "for _, c in ipairs(md.container.list()) do if c.status == 'running' then print(c.id) end end"])
                if !running.stdout.isEmpty { break }
                usleep(50_000)
            }
            usleep(200_000)
            kill(p.processIdentifier, signal)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, expected, "\(script) after signal \(signal)")
        }
        XCTAssertTrue(containers().isEmpty)
    }

    func testInitReapsZombies() {
        // The orphan is reparented to pid 1, the init, which must reap it when it exits.
        let script = "(sleep 0.5 &); sleep 0.2; ps -o ppid,comm | grep -c '^ *1 sleep'; sleep 1; ps -o stat | grep -c Z"
        XCTAssertEqual(run(["run", "--rm", "--init", "busybox", "sh", "-c", script]).stdout, "1\n0\n")
        XCTAssertEqual(sh("cat /proc/1/comm; readlink /proc/1/exe || echo hidden", ["--init"]), "init\nhidden\n",
                       "the init is not a way to the engine binary")
    }

    func testTopRunsTheHostsPsOnTheContainersProcesses() {
        XCTAssertEqual(run(["run", "-d", "--name", "t", "busybox", "sh", "-c", "sleep 60 & exec sleep 61"]).status, 0)
        defer { run(["rm", "-f", "t"]) }
        var out = ""
        for _ in 0..<50 {   // until the background sleep has started
            out = run(["top", "t"]).stdout
            if out.contains("sleep 60") { break }
            usleep(100_000)
        }
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.first?.split(separator: " ", omittingEmptySubsequences: true),
                       ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], out)
        XCTAssertEqual(lines.count, 3, "the two sleeps and nothing of the host's: \(out)")
        XCTAssertTrue(out.contains("sleep 61"), out)
        let aux = run(["top", "t", "aux"]).stdout
        XCTAssertTrue(aux.hasPrefix("USER ") && aux.contains(" %CPU ") && aux.contains("sleep 61"), aux)
        XCTAssertEqual(run(["top", "t", "-o", "pid,comm"]).stdout.split(separator: "\n").count, 3)
        let bad = run(["top", "t", "--no-such-option"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.stderr.hasPrefix("mdlua: top: ps --no-such-option failed"), bad.stderr)
    }

    func testInitShowsItsOwnCommandLineNotTheHosts() {
        // pid 1 is a copy of the engine: its argument memory held the host's command line.
        let out = sh("tr '\\0' '|' </proc/1/cmdline; echo; cat /proc/1/environ 2>&1 | tr '\\0' '|' | grep -c SECRET; true",
                     ["--init", "-e", "SECRET=hunter2"])
        XCTAssertTrue(out.hasPrefix("mdlua-init|--|sh|-c|tr "), out)
        XCTAssertFalse(out.contains("hunter2"), "nothing of the host's command line or environment: \(out)")
        XCTAssertFalse(out.contains("--root"), out)
    }

    func testReadOnlyAndTmpfs() {
        XCTAssertEqual(sh("touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmp; touch /tmp/z 2>/dev/null || echo ro-tmp",
                          ["--read-only", "--tmpfs", "/scratch:size=1m"]), "ro\ntmp\nro-tmp\n")
        XCTAssertEqual(sh("grep ' /scratch ' /proc/self/mounts | cut -d' ' -f3,4", ["--tmpfs", "/scratch"]),
                       "tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k\n")
    }

    func testTerminal() throws {
        let term = try REPLTests.Terminal(arguments: ["--root", root, "run", "-it", "--rm", "busybox", "sh"],
                                          environment: ["TERM": "xterm", "PATH": "/usr/bin:/bin"])
        term.expect("# ")
        term.send("echo $TERM; tty\r")
        term.expect("xterm\r\n/dev/pts/0")   // its own devpts, as with Docker (TerminalTests)
        term.send("sleep 30\r")
        usleep(300_000)
        term.send("\u{03}")   // Ctrl-C goes to the container, not to mdlua
        term.expect("# ")
        term.send("exit 5\r")
        term.process.waitUntilExit()
        XCTAssertEqual(term.process.terminationStatus, 5, "the terminal showed \(term.shown())")
        XCTAssertTrue(containers().isEmpty)
    }

    func testCreateStartAndExport() throws {
        let id = run(["create", "--name", "web", "busybox", "sh", "-c", "echo started > /marker; echo out"])
        XCTAssertEqual(id.status, 0, id.stderr)
        XCTAssertEqual(id.stdout.count, 65)
        let dup = run(["create", "--name", "web", "busybox", "true"])
        XCTAssertEqual(dup.status, 125)
        XCTAssertTrue(dup.stderr.contains("already in use"), dup.stderr)
        XCTAssertEqual(run(["start", "-a", "web"]).stdout, "out\n")
        let tar = dir.appendingPathComponent("export.tar").path
        XCTAssertEqual(run(["export", "-o", tar, "web"]).status, 0)
        let listing = try String(contentsOfFile: tar, encoding: .isoLatin1)
        XCTAssertTrue(listing.contains("bin/busybox") && listing.contains("marker"), "the export holds the changes")
        XCTAssertEqual(run(["rm", "web"]).stdout, "web\n")
        XCTAssertTrue(containers().isEmpty)
        XCTAssertEqual(run(["rm", "web"]).status, 125)
    }

    func testLuaRunWithCapture() throws {
        let script = dir.appendingPathComponent("run.lua")
        try write("""
            local r = md.run{image="busybox", cmd={"sh","-c","echo hi $A; echo err >&2; exit 4"}, env={A="1"},
                             workdir="/tmp", user="nobody", rm=true, capture=true}
            io.write(r.exit_code, "|", r.stdout, "|", r.stderr)
            local ok, err = pcall(function() local r = md.run{image="busybox", cmd="not a table"}; return r end)
            print(ok, err)
            ok, err = pcall(function() local r = md.run{image="busybox", colour="red"}; return r end)
            print(ok, err)
            """, to: script)
        let r = run([script.path])
        XCTAssertEqual(r.stdout, """
            4|hi 1
            |err
            false\t\(script.path):4: md.run: field "cmd" must be a table, got string
            false\t\(script.path):6: md.run: unknown field "colour"

            """, r.stderr)
        XCTAssertTrue(containers().isEmpty)
    }

    /// The mount points every container needs come from ROOT/mountpoints, one layer shared
    /// by all: a container's first run makes nothing in its upper dir.
    func testMountPointsComeFromTheSharedLayer() throws {
        XCTAssertEqual(run(["run", "--name", "mp", "busybox", "sh", "-c", "test -s /etc/hosts && test -d /proc/1"]).status, 0)
        let id = run(["inspect", "-f", "{{.Id}}", "mp"]).stdout.trimmingCharacters(in: .newlines)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/containers/\(id)/upper"), [])
        XCTAssertEqual(run(["diff", "mp"]).stdout, "")
        for f in ["etc/hostname", "etc/hosts", "etc/resolv.conf"] {
            let a = try FileManager.default.attributesOfItem(atPath: root + "/mountpoints/" + f)
            XCTAssertEqual(a[.size] as? Int, 0, f)
        }
        XCTAssertEqual(run(["rm", "mp"]).status, 0)
    }

    /// Images whose /proc, /dev or /etc/hosts point at host paths (the mount-point layer
    /// hides these), and a --tmpfs destination that does: the mounts land inside.
    func testHostileSymlinksInTheRootfs() throws {
        let victim = dir.appendingPathComponent("victim")
        try FileManager.default.createDirectory(at: victim, withIntermediateDirectories: true)
        try write("host file", to: victim.appendingPathComponent("hosts"))
        let hostile = dir.appendingPathComponent("hostile")
        try FileManager.default.createDirectory(at: hostile.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: hostile.path + "/proc", withDestinationPath: victim.path)
        try FileManager.default.createSymbolicLink(atPath: hostile.path + "/dev", withDestinationPath: "../../../../" + victim.path)
        try FileManager.default.createSymbolicLink(atPath: hostile.path + "/etc/hosts", withDestinationPath: victim.path + "/hosts")
        try FileManager.default.createSymbolicLink(atPath: hostile.path + "/data", withDestinationPath: victim.path)
        let r = run(["-e", """
            local l = md.layer.create("\(hostile.path)")
            md.image.assemble("hostile:1", { md.image.get("busybox").layers[1], l.id })
            """])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = run(["run", "--rm", "--tmpfs", "/data", "hostile:1", "sh", "-c", "cat /etc/hosts | head -1; echo $$; touch /data/x"])
        // Either outcome is safe; what matters is the host.
        if out.status == 0 { XCTAssertEqual(out.stdout, "127.0.0.1\tlocalhost\n1\n") }
        XCTAssertEqual(try String(contentsOf: victim.appendingPathComponent("hosts"), encoding: .utf8), "host file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victim.path), ["hosts"])
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        XCTAssertFalse(mounts.contains(victim.path))
    }

    func testHostNetwork() {
        let lines = Int(sh("ls /sys/class/net | wc -l", ["--network", "host"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(lines, 1, "the host's interfaces")
    }
}
