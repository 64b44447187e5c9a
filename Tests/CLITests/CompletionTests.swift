import Foundation
import XCTest

/// `mdlua completion bash|zsh|fish`: the scripts parse, and bash completes for real.
final class CompletionTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
    }

    @discardableResult
    func md(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, file: file, line: line)
    }

    /// Runs a shell with `script` on stdin (or `-c`), mdlua's directory first on PATH.
    func shell(_ path: String, _ args: [String], stdin: String = "", env: [String: String] = [:]) throws
        -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MDLUA_") }
        let bin = URL(fileURLWithPath: MDLuaBinary.path).deletingLastPathComponent().path
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["HOME"] = dir.path
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(stdin.data(using: .utf8)!)
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testScriptsAreValidShell() throws {
        for (name, check) in [("bash", ["-n"]), ("zsh", ["-n"]), ("fish", ["-n"])] {
            let r = md(["completion", name])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("mdlua"), r.stdout)
            let script = dir.appendingPathComponent("completion.\(name)")
            try write(r.stdout, to: script)
            let path = "/usr/bin/\(name)"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                print("\(name) is not installed: its script's syntax is not checked")
                continue
            }
            let c = try shell(path, check + [script.path])
            XCTAssertEqual(c.status, 0, "\(name): \(c.err)")
        }
        let bad = md(["completion", "tcsh"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.stderr.contains("bash, zsh, fish"), bad.stderr)
    }

    func testBashCompletesCommandsFlagsContainerAndImageNames() throws {
        XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0)
        XCTAssertEqual(md(["create", "--name", "web", "busybox", "true"]).status, 0)
        XCTAssertEqual(md(["create", "--name", "worker", "busybox", "true"]).status, 0)
        // A user command on MDLUA_PATH completes as the built-in ones do.
        let commands = dir.appendingPathComponent("commands")
        try FileManager.default.createDirectory(at: commands, withIntermediateDirectories: true)
        try write("""
            return { summary = "Say hello", usage = "mdlua hello [--loud] CONTAINER",
                     flags = { { name = "loud", short = "l", type = "bool", help = "Shout" } },
                     run = function() return 0 end }
            """, to: commands.appendingPathComponent("hello.lua"))

        // Completes the line as a Tab at its end would; prints the candidates.
        let driver = """
            source <(mdlua completion bash)
            complete -p mdlua
            t() {
                COMP_LINE=$1; COMP_POINT=${#1}
                COMP_WORDS=($1); [[ $1 == *' ' ]] && COMP_WORDS+=('')
                COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
                COMPREPLY=()
                _mdlua mdlua "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                echo "$1=>$(printf '%s,' "${COMPREPLY[@]}")"
            }
            R=\(root)
            t "mdlua lo"
            t "mdlua --root $R logs --fo"
            t "mdlua --root $R logs -"
            t "mdlua --root $R logs w"
            t "mdlua --root $R rm web "
            t "mdlua --root $R run -d busy"
            t "mdlua --root $R image l"
            t "mdlua --root $R hel"
            t "mdlua --root $R hello --l"
            t "mdlua --root $R hello wo"
            t "mdlua --root $R run busybox "
            t "mdlua completion "
            """
        let r = try shell("/bin/bash", ["-s"], stdin: driver, env: ["MDLUA_PATH": commands.path])
        XCTAssertEqual(r.status, 0, r.err)
        var got: [String: String] = [:]
        for line in r.out.split(separator: "\n") where line.contains("=>") {
            let parts = line.components(separatedBy: "=>")
            got[parts[0].replacingOccurrences(of: root, with: "R")] = parts[1]
        }
        XCTAssertTrue(r.out.hasPrefix("complete -F _mdlua mdlua"), r.out)
        XCTAssertEqual(got["mdlua lo"], "load,login,logout,logs,")
        XCTAssertEqual(got["mdlua --root R logs --fo"], "--follow,")
        XCTAssertEqual(got["mdlua --root R logs -"], "--follow,-f,--tail,-n,--since,--timestamps,-t,--help,-h,")
        XCTAssertEqual(got["mdlua --root R logs w"].map { Set($0.split(separator: ",")) }, ["web", "worker"])
        XCTAssertEqual(got["mdlua --root R rm web "].map { Set($0.split(separator: ",")) }, ["web", "worker"],
                       "rm takes several containers")
        XCTAssertEqual(got["mdlua --root R run -d busy"], "busybox:latest,busybox,")
        XCTAssertEqual(got["mdlua --root R image l"], "list,load,ls,")
        XCTAssertEqual(got["mdlua --root R hel"], "hello,help,")
        XCTAssertEqual(got["mdlua --root R hello --l"], "--loud,")
        XCTAssertEqual(got["mdlua --root R hello wo"], "worker,")
        XCTAssertEqual(got["mdlua completion "], "bash,zsh,fish,")
        XCTAssertNotNil(got["mdlua --root R run busybox "], "the container's command: file names")

        // A Tab neither starts nor changes anything.
        XCTAssertEqual(md(["ps", "-a", "--format", "{{.Names}} {{.State}}"]).stdout.split(separator: "\n").sorted(),
                       ["web created", "worker created"])
    }

    func testFishCompletesWithDescriptions() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/fish") else { throw XCTSkip("fish is not installed") }
        XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0)
        XCTAssertEqual(md(["create", "--name", "web", "busybox", "true"]).status, 0)
        let r = try shell("/usr/bin/fish", ["-c", """
            mdlua completion fish | source
            complete -C 'mdlua logs --ti'
            complete -C 'mdlua --root \(root) stop w'
            """])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "--timestamps\tShow timestamps\nweb\n")
    }
}
