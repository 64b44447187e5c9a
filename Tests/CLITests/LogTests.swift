import Foundation
import XCTest

/// `mdlua logs`: reading what the monitor's LogWriter wrote, across its rotated files.
final class LogTests: ContainerTestCase {
    /// Runs a detached container to its end; its directory.
    func ran(_ name: String, _ logOptions: [String], _ script: String,
             file: StaticString = #filePath, line: UInt = #line) -> String {
        let options = logOptions.flatMap { ["--log-opt", $0] }
        let r = md(["run", "-d", "--name", name] + options + ["busybox", "sh", "-c", script], file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        XCTAssertEqual(md(["wait", name], file: file, line: line).stdout, "0\n", file: file, line: line)
        return root + "/containers/" + r.stdout.trimmingCharacters(in: .newlines)
    }

    func lines(_ range: ClosedRange<Int>) -> String { range.map { "line \($0)\n" }.joined() }

    /// The log's files on disk, oldest first, as the writer numbers them.
    func logFiles(_ containerDir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: containerDir)) ?? []
        let rotated = names.compactMap { n -> Int? in
            n.hasPrefix("container.log.") ? Int(n.dropFirst("container.log.".count)) : nil
        }
        return rotated.sorted(by: >).map { "\(containerDir)/container.log.\($0)" } + [containerDir + "/container.log"]
    }

    func testMoreThanTenRotatedFilesAllComeBackInOrder() throws {
        // ~75 bytes a record, 13 to a 1 KiB file: 180 lines fill 14 of the 15 files.
        let c = ran("fifteen", ["max-size=1k", "max-file=15"],
                    "i=1; while [ $i -le 180 ]; do echo \"line $i\"; i=$((i+1)); done")
        let files = logFiles(c)
        XCTAssertGreaterThan(files.count, 11, "rotated past .9: \(files)")
        XCTAssertEqual(md(["logs", "fifteen"]).stdout, lines(1...180))
        // The reader's list of files is the writer's.
        let listed = md(["-e", "for _, f in ipairs(md.container.log_files(md.container.get('fifteen'):dir())) do print(f) end"])
        XCTAssertEqual(listed.stdout, files.map { $0 + "\n" }.joined(), listed.stderr)
    }

    func testRotationKeepsMaxFileFilesAndTheNewestLines() throws {
        let c = ran("wrapped", ["max-size=1k", "max-file=15"],
                    "i=1; while [ $i -le 400 ]; do echo \"line $i\"; i=$((i+1)); done")
        let files = logFiles(c)
        XCTAssertEqual(files.count, 15, "\(files)")
        let out = md(["logs", "wrapped"]).stdout
        let first = try XCTUnwrap(Int(out.prefix { $0 != "\n" }.dropFirst("line ".count)))
        XCTAssertGreaterThan(first, 150, "the oldest files were dropped")
        XCTAssertEqual(out, lines(first...400), "what is kept comes back whole and in order")
        // The first line shown is the oldest file's first record.
        let oldest = try String(contentsOfFile: files[0], encoding: .utf8)
        XCTAssertTrue(oldest.hasPrefix("{\"log\":\"line \(first)\\n\""), oldest)
    }

    func testTailAcrossRotatedFiles() {
        _ = ran("tail", ["max-size=1k", "max-file=15"],
                "i=1; while [ $i -le 150 ]; do echo \"line $i\"; i=$((i+1)); done")
        XCTAssertEqual(md(["logs", "--tail", "40", "tail"]).stdout, lines(111...150), "40 lines span 4 files")
        XCTAssertEqual(md(["logs", "-n", "1", "tail"]).stdout, lines(150...150))
        XCTAssertEqual(md(["logs", "--tail", "0", "tail"]).stdout, "")
        XCTAssertEqual(md(["logs", "--tail", "1000", "tail"]).stdout, lines(1...150))
        XCTAssertEqual(md(["logs", "--tail", "all", "tail"]).stdout, lines(1...150))
        let stamped = md(["logs", "-t", "--tail", "2", "tail"]).stdout.split(separator: "\n")
        XCTAssertEqual(stamped.count, 2)
        XCTAssertTrue(stamped.allSatisfy { $0.hasPrefix("20") && $0.contains("Z line 1") }, "\(stamped)")
    }

    func testStderrAndEscapesComeBackAsWritten() {
        _ = ran("mixed", [], "echo out; echo err >&2; printf 'tab\\there \"q\" back\\\\slash <&> \\033[1m\\n'; printf 'no newline'")
        let r = md(["logs", "mixed"])
        XCTAssertEqual(r.stdout, "out\ntab\there \"q\" back\\slash <&> \u{1b}[1m\nno newline")
        XCTAssertEqual(r.stderr, "err\n")
    }

    func testFollowAcrossRotation() {
        let r = md(["run", "-d", "--name", "follow", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox",
                    "sh", "-c", "sleep 0.3; i=1; while [ $i -le 200 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.005; done"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(md(["logs", "-f", "follow"]).stdout, lines(1...200))
    }

    /// A log of ~43 MB (300,000 records in 6 files): shown whole in little memory, and its
    /// tail without reading it all.
    func testLargeLogStreams() throws {
        let text = "a line of the log that is the same every time, padded to be long enough"
        _ = ran("large", ["max-size=8m", "max-file=8"], "yes '\(text)' | head -n 300000")
        // Peak RSS of `logs` (GNU time's %M, in KiB): the whole log read into memory took
        // 4-5 times its size.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/time") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
            p.arguments = ["-f", "%M", MDLuaBinary.path, "--root", root, "logs", "large"]
            p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MDLUA_") }
            let err = Pipe()
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            p.standardError = err
            try p.run()
            let report = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let kib = Int(report.split(separator: "\n").last ?? "") ?? 0
            XCTAssertGreaterThan(kib, 0, report)
            XCTAssertLessThan(kib, 40 << 10, "peak RSS \(kib) KiB for a 43 MB log")
        }
        let whole = md(["logs", "large"])
        XCTAssertEqual(whole.stdout.utf8.count, 300_000 * (text.utf8.count + 1))
        XCTAssertTrue(whole.stdout.hasPrefix(text + "\n"))
        let started = Date()
        XCTAssertEqual(md(["logs", "--tail", "2", "large"]).stdout, String(repeating: text + "\n", count: 2))
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "--tail reads from the end")
    }
}
