import Foundation
import XCTest

/// User subcommands on MDLUA_PATH and the shared flag parser, through a command that prints
/// what it parsed.
final class SubcommandTests: XCTestCase {
    var path = ""

    override func setUpWithError() throws {
        let dir = try temporaryDirectory(self)
        path = dir.path
        try write("""
            return {
              summary = "Print parsed flags",
              usage = "mdlua probe [OPTIONS] IMAGE [COMMAND...]",
              interspersed = false,
              flags = {
                { name = "detach", short = "d", type = "bool", help = "detach" },
                { name = "interactive", short = "i", type = "bool" },
                { name = "tty", short = "t", type = "bool" },
                { name = "name", type = "string" },
                { name = "env", short = "e", type = "list" },
                { name = "cpus", type = "number" },
                { name = "restart-count", type = "int" },
                { name = "user", short = "u", type = "string" },
              },
              run = function(o, args)
                print(("d=%s i=%s t=%s name=%s env=%s cpus=%s n=%s u=%s args=%s"):format(
                  o.detach, o.interactive, o.tty, o.name, table.concat(o.env, ","),
                  o.cpus, o["restart-count"], o.user, table.concat(args, "|")))
                return 0
              end,
            }
            """, to: dir.appendingPathComponent("probe.lua"))
        try write("""
            return { summary = "Fail from the engine", run = function() return md.sys.isatty("zero") end }
            """, to: dir.appendingPathComponent("enginefail.lua"))
        try write("""
            return { summary = "Exit with a status", run = function(_, args) return tonumber(args[1]) end }
            """, to: dir.appendingPathComponent("status.lua"))
        try write("return 42", to: dir.appendingPathComponent("broken.lua"))
    }

    func probe(_ args: [String]) -> MDLuaBinary.Result {
        MDLuaBinary.run(["probe"] + args, env: ["MDLUA_PATH": "/nonexistent:" + path])
    }

    func testUserCommandShowsInHelp() {
        let r = MDLuaBinary.run(["help"], env: ["MDLUA_PATH": path])
        XCTAssertTrue(r.stdout.contains("probe"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Print parsed flags"), r.stdout)
        XCTAssertTrue(r.stdout.contains("broken"), "a broken command is listed with its problem")
        let h = MDLuaBinary.run(["probe", "--help"], env: ["MDLUA_PATH": path])
        XCTAssertTrue(h.stdout.contains("Usage:  mdlua probe [OPTIONS] IMAGE [COMMAND...]"), h.stdout)
        XCTAssertTrue(h.stdout.contains("-e, --env value"), h.stdout)
    }

    func testCombinedShortFlagsAndStopAtFirstPositional() {
        let r = probe(["-dit", "--name", "web", "img", "sh", "-c", "ls -l"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout,
                       "d=true i=true t=true name=web env= cpus=nil n=nil u=nil args=img|sh|-c|ls -l\n")
    }

    func testValueForms() {
        let r = probe(["--name=x", "-e", "A=1", "-eB=2", "--env=C=3", "-e=D=4", "--cpus", "0.5",
                       "--restart-count=3", "-it", "-u1000:1000", "img"])
        XCTAssertEqual(r.stdout,
                       "d=false i=true t=true name=x env=A=1,B=2,C=3,D=4 cpus=0.5 n=3 u=1000:1000 args=img\n",
                       r.stderr)
        XCTAssertEqual(probe(["-iu", "root", "img"]).stdout,
                       "d=false i=true t=false name=nil env= cpus=nil n=nil u=root args=img\n")
        XCTAssertEqual(probe(["--detach=false", "--name", "a", "--name", "b", "img"]).stdout,
                       "d=false i=false t=false name=b env= cpus=nil n=nil u=nil args=img\n")
    }

    func testDoubleDashEndsFlags() {
        XCTAssertEqual(probe(["-d", "--", "--name", "-x"]).stdout,
                       "d=true i=false t=false name=nil env= cpus=nil n=nil u=nil args=--name|-x\n")
    }

    func testMalformedFlags() {
        let cases: [([String], String)] = [
            (["--name"], "mdlua: flag needs an argument: --name\n"),
            (["-e"], "mdlua: flag needs an argument: 'e' in -e\n"),
            (["-die"], "mdlua: flag needs an argument: 'e' in -die\n"),
            (["--nope", "img"], "mdlua: unknown flag: --nope\n"),
            (["-dx", "img"], "mdlua: unknown shorthand flag: 'x' in -dx\n"),
            (["--cpus", "lots", "img"], "mdlua: invalid argument \"lots\" for \"--cpus\" flag: expected a number\n"),
            (["--restart-count", "1.5", "img"],
             "mdlua: invalid argument \"1.5\" for \"--restart-count\" flag: expected an integer\n"),
            (["--detach=maybe", "img"], "mdlua: invalid argument \"maybe\" for \"--detach\" flag: expected true or false\n"),
        ]
        for (args, message) in cases {
            let r = probe(args)
            XCTAssertEqual(r.status, 125, "\(args)")
            XCTAssertEqual(r.stderr, message, "\(args)")
            XCTAssertEqual(r.stdout, "", "\(args)")
        }
    }

    func testEngineErrorInSubcommandIs125OnOneLine() {
        let r = MDLuaBinary.run(["enginefail"], env: ["MDLUA_PATH": path])
        XCTAssertEqual(r.status, 125)
        XCTAssertEqual(r.stderr, "mdlua: bad argument #1 to 'md.sys.isatty' (number expected, got string)\n")
        let debug = MDLuaBinary.run(["--log-level", "debug", "enginefail"], env: ["MDLUA_PATH": path])
        XCTAssertTrue(debug.stderr.contains("stack traceback"), "debug logging shows where: \(debug.stderr)")
    }

    func testCommandExitStatus() {
        XCTAssertEqual(MDLuaBinary.run(["status", "7"], env: ["MDLUA_PATH": path]).status, 7)
        XCTAssertEqual(MDLuaBinary.run(["status"], env: ["MDLUA_PATH": path]).status, 0)
    }

    func testBrokenUserCommand() {
        let r = MDLuaBinary.run(["broken"], env: ["MDLUA_PATH": path])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("must return a table with a run function"), r.stderr)
        // Two flags with one letter: the parser would keep the last one without a word.
        try? write("""
            return { flags = { { name = "debug", short = "d", type = "bool" }, { name = "detach", short = "d", type = "bool" } },
                     run = function() return 0 end }
            """, to: URL(fileURLWithPath: path).appendingPathComponent("twice.lua"))
        let twice = MDLuaBinary.run(["twice", "-d"], env: ["MDLUA_PATH": path])
        XCTAssertEqual(twice.status, 125)
        XCTAssertEqual(twice.stderr, "mdlua: command twice (\(path)/twice.lua) defines the flag -d twice\n")
    }

    func testUserCommandOverridesBuiltin() throws {
        try write("return { summary = 'mine', run = function() print('user version') end }",
                  to: URL(fileURLWithPath: path).appendingPathComponent("version.lua"))
        XCTAssertEqual(MDLuaBinary.run(["version"], env: ["MDLUA_PATH": path]).stdout, "user version\n")
    }
}
