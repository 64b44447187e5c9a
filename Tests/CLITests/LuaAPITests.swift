import Foundation
import XCTest

/// The md.* API from scripts, with real containers (docs/lua-api.md): errors as tables with
/// a code, unknown option names rejected, rm everywhere, lists, md.run's container,
/// md.exec and md.commit, health and labels as tables. Each test has its own state root.
final class LuaAPITests: ContainerTestCase {
    /// Runs a Lua script (on stdin) against this test's root; expects status 0.
    @discardableResult
    func lua(_ script: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = MDLuaBinary.run(["--root", root, "-"], stdin: script, file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r.stdout
    }

    func containers() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/containers"))?.filter { !$0.hasPrefix(".") } ?? []
    }

    func testRunGivesTheContainerAndCommitTakesUnknownNamesAsErrors() {
        let out = lua("""
            local r = md.run{ image = "busybox", cmd = { "sh", "-c", "echo built > /built; echo ran" }, capture = true }
            print(r.exit_code, r.stdout:gsub("\\n", ""), r.container.id == r.id, r.container.status)
            local ok, e = pcall(r.container.commit, r.container, { tag = "x" })
            print(ok, e.code, e.message)
            local img = md.commit(r.name, { name = "built:1" })
            print(img.names[1], type(img:manifest()), img.manifest_digest:sub(1, 7))
            print(md.run{ image = "built:1", cmd = { "cat", "/built" }, rm = true, capture = true }.stdout)
            print(md.run{ image = "busybox", cmd = { "true" }, rm = true }.container)
            r.container:rm()
            md.image.rm("built:1")
            """)
        XCTAssertEqual(out, """
            0\tran\ttrue\texited
            false\tinvalid_option\tc:commit: unknown field "tag"
            docker.io/library/built:1\ttable\tsha256:
            built

            nil

            """)
        XCTAssertTrue(containers().isEmpty)
    }

    func testUnknownOptionsAndErrorCodes() {
        let out = lua("""
            local c = md.container.create{ image = "busybox", cmd = { "sleep", "30" }, label = { "role=test" } }
            local function code(f, ...) local ok, e = pcall(f, ...); return ok and "ok" or (e.code .. " " .. tostring(e)) end
            print(code(c.start, c, { capture = true, bogus = 1 }))
            print(code(md.image.save, { images = { "busybox" }, out = "/tmp/x" }))
            print(code(md.container.get, "nosuch"))
            print(code(md.image.get, "nosuch"))
            print(code(md.layer.rm, "sha256:0000"))
            print(code(md.run, { image = "busybox", resources = { memory = "1k" } }))
            print(c.labels.role, c.health)
            assert(c:start_detached())
            print(code(c.exec, c, { "true", bogus = 1 }))
            print(code(c.rm, c))
            print(md.exec(c.name, { cmd = { "sh", "-c", "echo $X$Y" }, env = { X = "1", Y = "2" }, capture = true }).stdout)
            print(#md.containers(), #md.container.list(), #md.container.list{ all = true })
            c:rm{ force = true }
            """)
        XCTAssertEqual(out, """
            invalid_option c:start: unknown field "bogus"
            invalid_option md.image.save: unknown field "out"
            not_found md.container.get: no such container: nosuch
            not_found md.image.get: no such image: nosuch
            not_found md.layer.rm: no such layer: sha256:0000
            invalid_option invalid resources.memory "1k": the minimum is 6m
            test\tnil
            invalid_option c:exec: unknown field "bogus"
            conflict md.container.remove: container \(name(out)) is running: stop it first, or use -f
            12

            1\t1\t1

            """)
        XCTAssertTrue(containers().isEmpty)
    }

    /// A process that does not start is raised (start_failed, with Docker's exit status) by
    /// md.run, c:start_detached and c:exec alike; c.config is what the container was created
    /// with, c:spec() its runtime spec.
    func testStartFailuresAreRaisedAndConfigIsATable() {
        let out = lua("""
            local function fail(f, ...) local ok, e = pcall(f, ...); return ok and "ok" or (e.code .. " " .. e.status) end
            print(fail(md.run, { image = "busybox", cmd = { "/nonexistent" }, rm = true }))
            local c = md.container.create{ image = "busybox", cmd = { "/nonexistent" }, restart = "on-failure:2",
                                           label = { "a=b" }, stop_signal = "SIGUSR1", log_opt = { "max-file=15" } }
            print(fail(c.start_detached, c))
            print(c.config.image, c.config.restart, c.config.labels.a, c.config.stop_signal, c.config.log_max_file,
                  c.config.rm, c:spec().ociVersion)
            c:rm{ force = true }
            c = md.container.create{ image = "busybox", cmd = { "sleep", "30" } }
            print(c:start_detached() == c, c.status)
            print(fail(c.exec, c, { "/nonexistent" }))
            print(c:exec{ "true" }.exit_code)
            c:update{ restart = "always", resources = { pids_limit = 50 } }
            print(md.container.get(c.id).config.restart)
            c:rm{ force = true }
            """)
        XCTAssertEqual(out, """
            start_failed 127
            start_failed 127
            busybox\ton-failure:2\tb\tSIGUSR1\t15\tfalse\t1.0.2
            true\trunning
            start_failed 127
            0
            always

            """)
        XCTAssertTrue(containers().isEmpty)
    }

    /// The name of the container in the conflict line (generated).
    func name(_ out: String) -> String {
        out.components(separatedBy: "container ").last?.components(separatedBy: " is running").first ?? ""
    }

    func testImageRmUntagsLikeTheModuleFunction() {
        let out = lua("""
            local img = md.image.get("busybox")
            img:tag("other:1")
            local r = md.image.get("other:1"):rm()
            print(r.untagged[1], #md.image.get("busybox").names)
            md.image.get("busybox"):tag("other:2")
            print(md.image.remove("other:2").untagged[1])
            """)
        XCTAssertEqual(out, """
            docker.io/library/other:1\t1
            docker.io/library/other:2

            """)
    }

    func testTheCLIPrintsTheSameLine() {
        let r = MDLuaBinary.run(["--root", root, "rm", "nosuch"])
        XCTAssertEqual(r.status, 125)
        XCTAssertEqual(r.stderr, "mdlua: no such container: nosuch\n")
        let m = MDLuaBinary.run(["--root", root, "run", "--rm", "--memory", "1k", "busybox", "true"])
        XCTAssertEqual(m.status, 125)
        XCTAssertEqual(m.stderr, "mdlua: invalid --memory \"1k\": the minimum is 6m\n")
        let s = MDLuaBinary.run(["--root", root, "-e", "md.image.get('nosuch')"])
        XCTAssertEqual(s.status, 125, "an API error escaping a chunk: its status")
        XCTAssertEqual(s.stderr, "mdlua: md.image.get: no such image: nosuch\n")
    }
}
