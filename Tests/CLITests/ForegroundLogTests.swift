import Foundation
import XCTest

/// The log of a foreground `run` (without -d): what the container wrote reaches the terminal
/// and, through the monitor's LogWriter (Sources/MDCore/Container/OutputTee.swift), its log,
/// as Docker records it. `run --rm` keeps none.
final class ForegroundLogTests: ContainerTestCase {
    override func checkNothingLeft() {
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "a container is left behind")
    }

    func lines(_ range: ClosedRange<Int>) -> String { range.map { "line \($0)\n" }.joined() }

    func containerDir(_ name: String) -> String {
        md(["-e", "io.write(md.container.get('\(name)'):dir())"]).stdout
    }

    func testStdoutAndStderrReachTheTerminalAndTheLog() {
        let r = md(["run", "--name", "fg", "busybox", "sh", "-c", "echo out; echo err >&2; printf 'no newline'; exit 3"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(r.stdout, "out\nno newline")
        XCTAssertEqual(r.stderr, "err\n")
        let logs = md(["logs", "fg"])
        XCTAssertEqual(logs.stdout, "out\nno newline")
        XCTAssertEqual(logs.stderr, "err\n")
        // Started again, in the foreground (start -a): appended, as Docker does.
        XCTAssertEqual(md(["start", "-a", "fg"]).status, 3)
        XCTAssertEqual(md(["logs", "fg"]).stdout, "out\nno newlineout\nno newline")
    }

    func testALargeOutputComesThroughWhole() {
        let text = "a line of output that is the same every time"
        let r = md(["run", "--name", "large", "busybox", "sh", "-c", "yes '\(text)' | head -n 100000"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = 100_000 * (text.utf8.count + 1)
        XCTAssertEqual(r.stdout.utf8.count, expected)
        let logs = md(["logs", "large"]).stdout
        XCTAssertEqual(logs.utf8.count, expected)
        XCTAssertTrue(logs.hasPrefix(text + "\n") && logs.hasSuffix(text + "\n"))
    }

    func testRotationFollowsLogOpt() throws {
        // ~75 bytes a record, 13 to a 1 KiB file: 400 lines wrap 5 files.
        let r = md(["run", "--name", "rotated", "--log-opt", "max-size=1k", "--log-opt", "max-file=5", "busybox",
                    "sh", "-c", "i=1; while [ $i -le 400 ]; do echo \"line $i\"; i=$((i+1)); done"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, lines(1...400), "the terminal gets everything")
        let c = containerDir("rotated")
        let names = try FileManager.default.contentsOfDirectory(atPath: c).filter { $0.hasPrefix("container.log") }.sorted()
        XCTAssertEqual(names, ["container.log", "container.log.1", "container.log.2", "container.log.3", "container.log.4"])
        for n in names {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: c + "/" + n)[.size] as? Int)
            XCTAssertLessThanOrEqual(size, 1024, n)
        }
        let out = md(["logs", "rotated"]).stdout
        let first = try XCTUnwrap(Int(out.prefix { $0 != "\n" }.dropFirst("line ".count)))
        XCTAssertGreaterThan(first, 300, "the oldest files were dropped")
        XCTAssertEqual(out, lines(first...400))
    }

    func testRunRmWritesNoLog() throws {
        // The container's directory is gone at the end: it is watched while it runs.
        let r = md(["run", "--rm", "--name", "gone", "busybox", "sh", "-c",
                    "echo hi; ls /proc/1 >/dev/null; sleep 0.5; echo bye"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "hi\nbye\n")
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
        // Caught while it runs: no container.log is opened for a --rm run.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
        p.arguments = ["--root", root, "run", "--rm", "--name", "watched", "busybox", "sleep", "1"]
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MDLUA_") }
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        var seen = false
        let deadline = Date().addingTimeInterval(5)
        while !seen && Date() < deadline {
            let id = md(["ps", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .newlines)
            if !id.isEmpty {
                seen = true
                let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/containers/" + id)) ?? []
                XCTAssertFalse(names.contains { $0.hasPrefix("container.log") }, "\(names)")
            } else {
                usleep(20_000)
            }
        }
        p.waitUntilExit()
        XCTAssertTrue(seen, "the --rm container was never seen running")
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }
}
