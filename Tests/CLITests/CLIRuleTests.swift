import Foundation
import XCTest

/// The rules README.md states for every command: exit statuses of errors in a user's code
/// and in mdlua, the state root a user cannot read, the run-state default.
final class CLIRuleTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
    }

    func md(_ args: [String], env: [String: String] = [:], file: StaticString = #filePath,
            line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, env: env, file: file, line: line)
    }

    /// The rule README.md states: a command, built-in or from MDLUA_PATH, fails with one
    /// line and 125 (the traceback at --log-level debug); a script, an -e chunk or stdin
    /// fails with its traceback and 1, as `lua`; errors.fail keeps its line and status.
    func testErrorsInCommandsAndInScripts() throws {
        let commands = dir.appendingPathComponent("cmds")
        try FileManager.default.createDirectory(at: commands, withIntermediateDirectories: true)
        try write("""
            return { summary = "Fails", run = function(opts, args)
              local t = nil
              return t.field
            end }
            """, to: commands.appendingPathComponent("boom.lua"))
        try write("""
            return { summary = "Fails cleanly", run = function()
              require("mdlua.errors").fail("it did not work", 3)
            end }
            """, to: commands.appendingPathComponent("clean.lua"))
        try write("local t = nil\nreturn t.field\n", to: dir.appendingPathComponent("boom-script.lua"))
        try write("require('mdlua.errors').fail('it did not work', 3)\n", to: dir.appendingPathComponent("clean-script.lua"))
        let env = ["MDLUA_PATH": commands.path]

        // Commands: a Lua error in a user's command, a bad flag, an unknown command, a
        // built-in's error.
        for args in [["boom"], ["boom", "--nope"], ["nosuchcommand"], ["inspect", "nosuch"]] {
            let r = md(args, env: env)
            XCTAssertEqual(r.status, 125, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("mdlua: "), r.stderr)
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)")
        }
        XCTAssertEqual(md(["boom"], env: env).stderr,
                       "mdlua: \(commands.path)/boom.lua:3: attempt to index a nil value (local 't')\n")
        let debug = md(["--log-level", "debug", "boom"], env: env)
        XCTAssertEqual(debug.status, 125)
        XCTAssertTrue(debug.stderr.contains("stack traceback:") && debug.stderr.contains("boom.lua:3"), debug.stderr)
        // Scripts: the traceback and 1.
        for args in [[dir.appendingPathComponent("boom-script.lua").path], ["-e", "local t = nil; return t.field"]] {
            let r = md(args, env: env)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("mdlua: "), r.stderr)
            XCTAssertTrue(r.stderr.contains("attempt to index a nil value (local 't')"), r.stderr)
            XCTAssertTrue(r.stderr.contains("\nstack traceback:\n"), "\(args): the traceback: \(r.stderr)")
        }
        let piped = MDLuaBinary.run(["--root", root, "-"], stdin: "local t = nil\nreturn t.field\n")
        XCTAssertEqual(piped.status, 1)
        XCTAssertTrue(piped.stderr.contains("stack traceback:"), piped.stderr)
        // errors.fail: its line and its status, in a command and in a script.
        for args in [["clean"], [dir.appendingPathComponent("clean-script.lua").path]] {
            let r = md(args, env: env)
            XCTAssertEqual(r.status, 3, "\(args)")
            XCTAssertEqual(r.stderr, "mdlua: it did not work\n", "\(args)")
        }
    }

    /// Without --runroot or MDLUA_RUNROOT, the run state is under the state root when that
    /// is given (--root or MDLUA_ROOT), else /run/mdlua.
    func testRunRootDefault() {
        let print = ["-e", "io.write(md.config.root, ' ', md.config.runroot)"]
        XCTAssertEqual(MDLuaBinary.run(print, env: ["MDLUA_ROOT": root]).stdout, "\(root) \(root)/run")
        XCTAssertEqual(MDLuaBinary.run(["--root", root] + print).stdout, "\(root) \(root)/run")
        XCTAssertEqual(MDLuaBinary.run(print, env: ["MDLUA_ROOT": root, "MDLUA_RUNROOT": "/tmp/rr"]).stdout, "\(root) /tmp/rr")
        XCTAssertEqual(MDLuaBinary.run(print).stdout, "/var/lib/mdlua /run/mdlua")
    }

    /// As `nobody`: a command that cannot read the state root says so in one line, 125,
    /// instead of empty tables and "no such image".
    func testAStateRootThatCannotBeRead() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv")
        }
        XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0)
        // nobody needs to reach the binary and the test's directory (mode 0755).
        func asNobody(_ args: [String], env: [String: String] = [:]) -> MDLuaBinary.Result {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", MDLuaBinary.path, "--root", root] + args
            p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MDLUA_") }
                .merging(env) { _, new in new }
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try? p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return MDLuaBinary.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                                      stderr: String(decoding: e, as: UTF8.self))
        }
        let message = "mdlua: cannot read the state root \(root): permission denied (run as root)\n"
        for args in [["ps"], ["ps", "-a"], ["images"], ["run", "--rm", "busybox", "true"], ["inspect", "x"],
                     ["image", "ls"], ["rm", "-f", "x"]] {
            let r = asNobody(args)
            XCTAssertEqual(r.status, 125, "\(args): \(r.stdout) \(r.stderr)")
            XCTAssertEqual(r.stderr, message, "\(args)")
            XCTAssertEqual(r.stdout, "", "\(args): no empty table")
        }
        // The root readable but what is in it not: the same.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        XCTAssertEqual(asNobody(["ps", "-a"]).stderr, message)
        // What needs no state root still works.
        XCTAssertEqual(asNobody(["version"]).status, 0)
        XCTAssertEqual(asNobody(["help"]).status, 0)
        XCTAssertEqual(asNobody(["-e", "print(1)"]).stdout, "1\n")
        // A user's command decides for itself what it needs.
        let commands = dir.appendingPathComponent("cmds")
        try FileManager.default.createDirectory(at: commands, withIntermediateDirectories: true)
        try write("return { summary = 'Hi', run = function() print('hi') end }", to: commands.appendingPathComponent("hi.lua"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: commands.path)
        XCTAssertEqual(asNobody(["hi"], env: ["MDLUA_PATH": commands.path]).stdout, "hi\n")
        // As root it all works.
        XCTAssertEqual(md(["ps", "-a"]).status, 0)
    }
}
