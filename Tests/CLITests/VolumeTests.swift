import Foundation
import XCTest

/// Volumes and bind mounts (docs/volumes.md): named volumes that outlive their containers,
/// `:ro` everywhere below a mount, copy-in of the image's content, anonymous volumes and
/// `rm -v`, `--volumes-from`, the in-use refusal, size limits, `volume` commands, the Lua API.
final class VolumeTests: ContainerTestCase {
    var host: URL { dir.appendingPathComponent("host") }

    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        md(["run", "--rm"] + args, file: file, line: line)
    }

    /// A line of Python on the host (for extended attributes); its stdout.
    func python(_ code: String, _ arg: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", code, arg]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, code)
        return String(decoding: data, as: UTF8.self)
    }

    func testNamedVolumePersistsAcrossContainers() {
        var r = run(["-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = run(["-v", "data:/srv/other", "busybox", "cat", "/srv/other/f"])
        XCTAssertEqual(r.stdout, "kept\n", r.stderr)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "data\n")
        let path = md(["volume", "inspect", "-f", "{{.Mountpoint}}", "data"]).stdout
        XCTAssertEqual(path, root + "/volumes/data/_data\n")
        XCTAssertEqual(try? String(contentsOfFile: root + "/volumes/data/_data/f", encoding: .utf8), "kept\n")
    }

    func testReadOnlyHoldsInEverySubmount() throws {
        try FileManager.default.createDirectory(at: host.appendingPathComponent("sub"), withIntermediateDirectories: true)
        XCTAssertEqual(Glibc.mount("tmpfs", host.appendingPathComponent("sub").path, "tmpfs", 0, nil), 0)
        defer { umount2(host.appendingPathComponent("sub").path, Int32(MNT_DETACH)) }
        var r = run(["-v", host.path + ":/h:ro", "busybox", "sh", "-c", "touch /h/x || touch /h/sub/x || echo refused"])
        XCTAssertEqual(r.stdout, "refused\n", r.stderr)
        XCTAssertTrue(r.stderr.contains("Read-only file system"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: host.appendingPathComponent("sub/x").path))
        // --mount readonly and a volume's :ro too.
        r = run(["--mount", "type=bind,source=\(host.path),target=/h,readonly", "busybox", "touch", "/h/sub/y"])
        XCTAssertEqual(r.status, 1)
        r = run(["-v", "v:/v:ro", "busybox", "touch", "/v/y"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("Read-only file system"), r.stderr)
        // The rest of the container stays writable, and --read-only leaves volumes writable.
        r = run(["--read-only", "-v", "v:/v", "busybox", "sh", "-c", "touch /v/ok && ! touch /etc/no 2>/dev/null && echo ok"])
        XCTAssertEqual(r.stdout, "ok\n", r.stderr)
    }

    func testBindMountsOfAFileAndADirectory() throws {
        try FileManager.default.createDirectory(at: host, withIntermediateDirectories: true)
        try "from the host\n".write(to: host.appendingPathComponent("file"), atomically: true, encoding: .utf8)
        var r = run(["-v", host.appendingPathComponent("file").path + ":/etc/motd", "busybox", "cat", "/etc/motd"])
        XCTAssertEqual(r.stdout, "from the host\n", r.stderr)
        r = run(["-v", host.path + ":/mnt/h", "busybox", "sh", "-c", "echo back > /mnt/h/new"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOf: host.appendingPathComponent("new"), encoding: .utf8), "back\n")
        // A relative or missing host path, or a bad name: one line, 125, nothing made.
        for (arg, word) in [("./rel:/x", "neither an absolute host path nor a volume name"),
                            (host.path + "/missing:/x", "does not exist"), ("data:rel", "must be absolute"),
                            ("data:/", "cannot be /"), ("data:/proc/x", "nothing but proc")] {
            r = run(["-v", arg, "busybox", "true"])
            XCTAssertEqual(r.status, 125, arg)
            XCTAssertTrue(r.stderr.contains(word), "\(arg): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        r = run(["--mount", "type=bind,target=/x", "busybox", "true"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("a bind needs source"), r.stderr)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "")
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }

    func testCopyInKeepsOwnersModesAndXattrsAndNocopyTurnsItOff() {
        // An image with content where the volume goes.
        var r = md(["run", "--name", "src", "busybox", "sh", "-c",
                    "mkdir -p /seed/d && echo s > /seed/d/f && chown 1234:5678 /seed/d/f && chmod 4750 /seed/d/f && "
                    + "ln -s d/f /seed/l && ln /seed/d/f /seed/hard && mknod /seed/null c 1 3 && chmod 0711 /seed"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(md(["commit", "src", "seeded"]).status, 0)
        // An xattr on the image's file, set through the committed layer on the host.
        r = run(["-v", "fresh:/seed", "seeded", "sh", "-c",
                 "stat -c '%u:%g %a %N' /seed/d/f /seed/l /seed; stat -c '%h %t:%T' /seed/hard /seed/null; cat /seed/l"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            1234:5678 4750 /seed/d/f
            0:0 777 '/seed/l' -> 'd/f'
            0:0 711 /seed
            2 0:0
            1 1:3
            s

            """)
        // Not again once it has content: the container's changes stay.
        XCTAssertEqual(run(["-v", "fresh:/seed", "seeded", "rm", "/seed/d/f"]).status, 0)
        XCTAssertEqual(run(["-v", "fresh:/seed", "seeded", "ls", "/seed/d"]).stdout, "")
        r = run(["-v", "bare:/seed:nocopy", "seeded", "ls", "-A", "/seed"])
        XCTAssertEqual(r.stdout, "", r.stderr)
        r = run(["--mount", "type=volume,source=bare2,target=/seed,volume-nocopy", "seeded", "ls", "-A", "/seed"])
        XCTAssertEqual(r.stdout, "", r.stderr)
        XCTAssertEqual(md(["rm", "src"]).status, 0)
    }

    func testCopyInKeepsExtendedAttributes() throws {
        // A layer made from a host directory carries the xattr into the image.
        let layer = dir.appendingPathComponent("layer/seed")
        try FileManager.default.createDirectory(at: layer, withIntermediateDirectories: true)
        try "x".write(to: layer.appendingPathComponent("f"), atomically: true, encoding: .utf8)
        XCTAssertEqual(python("import os,sys; os.setxattr(sys.argv[1], 'user.kept', b'yes')", layer.appendingPathComponent("f").path), "")
        let script = """
            local l = md.layer.create("\(dir.appendingPathComponent("layer").path)")
            local layers = {}
            for i, id in ipairs(md.image.get("busybox").layers) do layers[i] = id end
            layers[#layers + 1] = l.id
            md.image.assemble("withxattr", layers, { config = { Cmd = { "sh" } } })
            """
        var r = md(["-e", script])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = run(["-v", "xa:/seed", "withxattr", "true"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(python("import os,sys; print(os.getxattr(sys.argv[1], 'user.kept').decode())", root + "/volumes/xa/_data/f"), "yes\n")
    }

    func testAnonymousVolumesGoWithRmVAndRunRm() {
        var r = md(["create", "--name", "a", "-v", "/anon", "--mount", "type=volume,target=/anon2", "busybox", "true"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = md(["volume", "ls", "-q"]).stdout.split(separator: "\n")
        XCTAssertEqual(names.count, 2)
        XCTAssertTrue(names.allSatisfy { $0.count == 64 }, "\(names)")
        // In use: refused, naming the container.
        r = md(["volume", "rm", String(names[0])])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("in use by container a"), r.stderr)
        // --volumes-from shares them, read-only when asked; they stay the first container's.
        XCTAssertEqual(md(["start", "-a", "a"]).status, 0)
        r = run(["--volumes-from", "a:ro", "busybox", "sh", "-c", "test -d /anon && test -d /anon2 && ! touch /anon/x 2>/dev/null && echo ok"])
        XCTAssertEqual(r.stdout, "ok\n", r.stderr)
        r = run(["--volumes-from", "a", "busybox", "touch", "/anon/x"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout.split(separator: "\n").count, 2)
        XCTAssertEqual(md(["rm", "-v", "a"]).status, 0)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "")
        // run --rm removes its anonymous volumes, not its named ones; rm without -v keeps them.
        XCTAssertEqual(run(["-v", "/anon", "-v", "named:/n", "busybox", "true"]).status, 0)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "named\n")
        XCTAssertEqual(md(["run", "--name", "b", "-v", "/anon", "busybox", "true"]).status, 0)
        XCTAssertEqual(md(["rm", "b"]).status, 0)
        XCTAssertEqual(md(["volume", "ls", "-q", "--filter", "dangling=true"]).stdout.split(separator: "\n").count, 2)
        let pruned = md(["volume", "prune", "-f"])
        XCTAssertEqual(pruned.status, 0, pruned.stderr)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "named\n", "prune without -a keeps named volumes")
    }

    func testImageVolumesAreAnonymousVolumes() {
        XCTAssertEqual(md(["run", "--name", "v", "busybox", "sh", "-c", "mkdir -p /db && echo init > /db/seed"]).status, 0)
        XCTAssertEqual(md(["commit", "--change", "VOLUME /db", "v", "withvolume"]).status, 0)
        XCTAssertEqual(md(["rm", "v"]).status, 0)
        var r = md(["run", "--name", "w", "withvolume", "sh", "-c", "cat /db/seed; grep ' /db ' /proc/self/mountinfo | wc -l"])
        XCTAssertEqual(r.stdout, "init\n1\n", r.stderr)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout.split(separator: "\n").count, 1)
        // A -v on the same path replaces it.
        r = run(["-v", "mine:/db", "withvolume", "cat", "/db/seed"])
        XCTAssertEqual(r.stdout, "init\n", r.stderr)
        XCTAssertEqual(md(["rm", "-v", "w"]).status, 0)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "mine\n")
    }

    func testVolumeCommands() {
        var r = md(["volume", "create", "--label", "team=a", "--label", "x", "one"])
        XCTAssertEqual(r.stdout, "one\n", r.stderr)
        XCTAssertEqual(md(["volume", "create", "two"]).status, 0)
        XCTAssertEqual(md(["volume", "create", "one"]).stdout, "one\n", "an existing name is returned")
        r = md(["volume", "ls"])
        XCTAssertEqual(r.stdout, "DRIVER   VOLUME NAME\nlocal    one\nlocal    two\n")
        XCTAssertEqual(md(["volume", "ls", "-q", "--filter", "label=team=a"]).stdout, "one\n")
        XCTAssertEqual(md(["volume", "ls", "-q", "--filter", "label=x"]).stdout, "one\n")
        XCTAssertEqual(md(["volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}}"]).stdout,
                       "one local team=a,x=\ntwo local \n")
        r = md(["volume", "inspect", "one"])
        XCTAssertTrue(r.stdout.contains("\"Labels\": {"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\"Scope\": \"local\""), r.stdout)
        r = md(["volume", "create", "bad/name"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("invalid volume name"), r.stderr)
        r = md(["volume", "create", "--opt", "colour=red", "odd"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("invalid volume option \"colour\""), r.stderr)
        r = md(["volume", "rm", "nosuch"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("no such volume: nosuch"), r.stderr)
        XCTAssertEqual(md(["volume", "rm", "-f", "nosuch"]).status, 0)
        XCTAssertEqual(md(["volume", "rm", "one", "two"]).stdout, "one\ntwo\n")
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "")
        XCTAssertEqual(FileManager.default.fileExists(atPath: root + "/volumes/one"), false)
    }

    func testTmpfsVolumeIsSharedAndUnmountedOnRemoval() {
        XCTAssertEqual(md(["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m", "t"]).status, 0)
        var r = run(["-v", "t:/t", "busybox", "sh", "-c", "echo a > /t/a; df -k /t | tail -1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("tmpfs") && r.stdout.contains(" 2048 "), r.stdout)
        r = run(["-v", "t:/t", "busybox", "cat", "/t/a"])
        XCTAssertEqual(r.stdout, "a\n", r.stderr)
        XCTAssertEqual(md(["volume", "rm", "t"]).status, 0)
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        XCTAssertFalse(mounts.contains(root), "the volume's tmpfs is unmounted")
    }

    func testSizeLimitGivesENOSPCInsideAndNothingOutside() {
        var r = md(["volume", "create", "--opt", "size=16m", "small"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = run(["-v", "small:/s", "busybox", "sh", "-c",
                 "dd if=/dev/zero of=/s/big bs=1M count=64 2>&1 | grep -o 'No space left on device'; stat -c %s /s/big"])
        XCTAssertTrue(r.stdout.hasPrefix("No space left on device\n"), r.stdout + r.stderr)
        XCTAssertLessThan(Int(r.stdout.split(separator: "\n").last ?? "") ?? .max, 16 << 20)
        // The host holds the image's blocks only: at most its size.
        var st = stat()
        XCTAssertEqual(stat(root + "/volumes/small/disk.img", &st), 0)
        XCTAssertLessThanOrEqual(Int(st.st_blocks) * 512, 16 << 20)
        XCTAssertEqual(md(["volume", "rm", "small"]).status, 0)
        let loops = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        XCTAssertFalse(loops.contains(root), "unmounted")
        r = md(["volume", "create", "--opt", "size=1k", "tiny"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("the minimum is 8m"), r.stderr)
    }

    func testLuaAPI() {
        let script = """
            local v = md.volume.create{ name = "lua", labels = { k = "v" } }
            assert(v.mountpoint == md.config.root .. "/volumes/lua/_data", v.mountpoint)
            assert(md.volume.get("lua").labels.k == "v")
            local r = md.run{ image = "busybox", cmd = { "sh", "-c", "echo hi > /d/f; cat /h/f" }, rm = true, capture = true,
                              volumes = { "lua:/d" }, mounts = { { type = "bind", source = v.mountpoint, target = "/h", readonly = true } } }
            assert(r.exit_code == 0 and r.stdout == "hi\\n", r.stderr)
            local ok, err = pcall(md.run, { image = "busybox", volumes = { "lua:rel" } })
            assert(not ok and err.code == "invalid_option" and err.message:find("volumes", 1, true), tostring(err))
            local c = md.container.create{ image = "busybox", volumes = { "lua:/d" } }
            local ok2, err2 = pcall(v.rm, v)
            assert(not ok2 and err2.code == "conflict", tostring(err2))
            c:rm()
            v:rm()
            assert(#md.volume.list() == 0)
            local ok3, err3 = pcall(md.volume.get, "lua")
            assert(not ok3 and err3.code == "not_found")
            print("ok")
            """
        let r = md(["-e", script])
        XCTAssertEqual(r.stdout, "ok\n", r.stderr)
    }

    func testKilledCreationLeavesNothingToTripOver() throws {
        // What a kill -9 between the staging and the rename leaves: a staging dir of a dead
        // writer, and a volume directory without its record.
        try FileManager.default.createDirectory(atPath: root + "/tmp/volume-999999-abc/_data", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/volumes/half/_data", withIntermediateDirectories: true)
        XCTAssertEqual(md(["volume", "ls", "-q"]).stdout, "")
        XCTAssertEqual(md(["volume", "create", "half"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/tmp/volume-999999-abc"))
        // A copy-in killed half-way (its marker left) is done again from the start.
        XCTAssertEqual(md(["run", "--name", "s", "busybox", "sh", "-c", "mkdir /seed && echo a > /seed/a && echo b > /seed/b"]).status, 0)
        XCTAssertEqual(md(["commit", "s", "seeded"]).status, 0)
        XCTAssertEqual(md(["volume", "create", "torn"]).status, 0)
        FileManager.default.createFile(atPath: root + "/volumes/torn/copying", contents: nil)
        FileManager.default.createFile(atPath: root + "/volumes/torn/_data/a", contents: Data("partial".utf8))
        let r = run(["-v", "torn:/seed", "seeded", "cat", "/seed/a", "/seed/b"])
        XCTAssertEqual(r.stdout, "a\nb\n", r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/volumes/torn/copying"))
        XCTAssertEqual(md(["rm", "s"]).status, 0)
    }
}
