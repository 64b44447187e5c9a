import Foundation
import XCTest

final class CLITests: XCTestCase {
    func testVersion() {
        let r = MDLuaBinary.run(["--version"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.hasPrefix("mdlua version "), r.stdout)
        XCTAssertTrue(r.stdout.contains("Lua 5.4"), r.stdout)
        XCTAssertTrue(r.stdout.contains("commit "), r.stdout)
        XCTAssertEqual(MDLuaBinary.run(["version"]).stdout, r.stdout)
    }

    func testHelpListsCommandsWithSummaries() {
        let r = MDLuaBinary.run(["help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("Show help for mdlua or one of its commands"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Show the mdlua version"), r.stdout)
        XCTAssertTrue(r.stdout.contains("--root DIR"), r.stdout)
        XCTAssertEqual(MDLuaBinary.run(["--help"]).stdout, r.stdout)
    }

    func testCommandHelp() {
        let a = MDLuaBinary.run(["help", "version"])
        let b = MDLuaBinary.run(["version", "--help"])
        XCTAssertEqual(a.status, 0)
        XCTAssertTrue(a.stdout.contains("Usage:  mdlua version"), a.stdout)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertEqual(MDLuaBinary.run(["version", "-h"]).stdout, a.stdout)
    }

    func testUnknownCommandSuggestsAndExits125() {
        let r = MDLuaBinary.run(["hlep"])
        XCTAssertEqual(r.status, 125)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr,
                       "mdlua: unknown command \"hlep\" (did you mean \"help\"?); 'mdlua help' lists the commands\n")
        let far = MDLuaBinary.run(["zzzzzzzz"])
        XCTAssertEqual(far.status, 125)
        XCTAssertFalse(far.stderr.contains("did you mean"), far.stderr)
        XCTAssertEqual(MDLuaBinary.run(["help", "hlep"]).status, 125)
    }

    func testBadGlobalOptions() {
        let r = MDLuaBinary.run(["--log-level", "loud", "version"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("invalid log level \"loud\""), r.stderr)
        let missing = MDLuaBinary.run(["--root"])
        XCTAssertEqual(missing.status, 125)
        XCTAssertEqual(missing.stderr, "mdlua: flag needs an argument: --root\n")
        XCTAssertEqual(MDLuaBinary.run(["--bogus"]).stderr, "mdlua: unknown flag: --bogus\n")
    }

    func testRootOption() {
        let code = "print(md.config.root, md.config.runroot)"
        XCTAssertEqual(MDLuaBinary.run(["-e", code]).stdout, "/var/lib/mdlua\t/run/mdlua\n")
        XCTAssertEqual(MDLuaBinary.run(["--root", "/tmp/r", "-e", code]).stdout, "/tmp/r\t/tmp/r/run\n")
        XCTAssertEqual(MDLuaBinary.run(["--root=/tmp/r", "--runroot", "/tmp/q", "-e", code]).stdout, "/tmp/r\t/tmp/q\n")
        XCTAssertEqual(MDLuaBinary.run(["-e", code], env: ["MDLUA_ROOT": "/tmp/e"]).stdout, "/tmp/e\t/tmp/e/run\n")
        XCTAssertEqual(MDLuaBinary.run(["--root", "/tmp/f", "-e", code], env: ["MDLUA_ROOT": "/tmp/e"]).stdout,
                       "/tmp/f\t/tmp/f/run\n")
    }

    func testExecuteChunks() {
        let r = MDLuaBinary.run(["-e", "x = 40", "-e", "print(x + 2, md.version == require('mdlua').version)"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "42\ttrue\n")
    }

    func testStdinScript() {
        let r = MDLuaBinary.run(["-", "a", "b"], stdin: "print(#arg, arg[0], arg[1], arg[2], ...)")
        XCTAssertEqual(r.stdout, "2\t-\ta\tb\ta\tb\n")
        // Not a terminal and no arguments: stdin is the script, as with `lua`.
        XCTAssertEqual(MDLuaBinary.run([], stdin: "print('from stdin')").stdout, "from stdin\n")
    }

    func testScriptWithArguments() throws {
        let dir = try temporaryDirectory(self)
        let script = dir.appendingPathComponent("hello.lua")
        try write("""
            local md2 = require "mdlua"
            assert(md2 == md)
            print(arg[0]:match("[^/]+$"), #arg, ...)
            os.exit(3)
            """, to: script)
        let r = MDLuaBinary.run([script.path, "x", "-l", "--flag"])
        XCTAssertEqual(r.status, 3)
        XCTAssertEqual(r.stdout, "hello.lua\t3\tx\t-l\t--flag\n")
    }

    func testScriptErrorShowsLocationAndTraceback() throws {
        let dir = try temporaryDirectory(self)
        let script = dir.appendingPathComponent("bad.lua")
        try write("local function f()\n  error('it broke')\nend\nf()\n", to: script)
        let r = MDLuaBinary.run([script.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("mdlua: \(script.path):2: it broke\nstack traceback:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("bad.lua:4: in main chunk"), r.stderr)
        XCTAssertFalse(r.stderr.contains("cli.lua"), "the CLI's own frames are trimmed: \(r.stderr)")

        let syntax = MDLuaBinary.run(["-e", "x = = 1"])
        XCTAssertEqual(syntax.status, 1)
        XCTAssertTrue(syntax.stderr.contains("(command line):1:"), syntax.stderr)

        let missing = MDLuaBinary.run([dir.appendingPathComponent("none.lua").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("none.lua"), missing.stderr)
    }

    func testSwiftErrorInScriptIsCatchable() {
        let r = MDLuaBinary.run(["-e", "print(pcall(md.sys.isatty, 'x'))"])
        XCTAssertEqual(r.stdout, "false\tbad argument #1 to 'md.sys.isatty' (number expected, got string)\n")
    }

    func testRunsFromAnyDirectoryWithoutShadowing() throws {
        // The stdlib is in the binary: a cwd with a hostile mdlua/cli.lua changes nothing.
        let dir = try temporaryDirectory(self)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("mdlua"),
                                                withIntermediateDirectories: true)
        try write("error('shadowed')", to: dir.appendingPathComponent("mdlua/cli.lua"))
        let r = MDLuaBinary.run(["version"], cwd: dir.path)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testStdlibFromDisk() throws {
        let dir = try temporaryDirectory(self)
        let src = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("stdlib")
        try FileManager.default.copyItem(at: src, to: dir.appendingPathComponent("stdlib"))
        try write("return { summary = 'patched', run = function() print('from disk') end }",
                  to: dir.appendingPathComponent("stdlib/commands/version.lua"))
        let r = MDLuaBinary.run(["version"], env: ["MDLUA_STDLIB": dir.appendingPathComponent("stdlib").path])
        XCTAssertEqual(r.stdout, "from disk\n", r.stderr)
    }
}
