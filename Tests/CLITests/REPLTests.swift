import Foundation
import XCTest

/// The REPL through a pseudo-terminal, as a person would use it.
final class REPLTests: XCTestCase {
    final class Terminal {
        let master: Int32
        let process = Process()
        var screen = ""
        var cursor: String.Index


        /// `controllingTerminal`: the process gets the terminal as its controlling terminal in
        /// a session of its own (setsid --ctty), so that Ctrl-C sent to it interrupts.
        init(arguments: [String] = [], environment: [String: String], rows: UInt16 = 0, columns: UInt16 = 0,
             controllingTerminal: Bool = false) throws {
            cursor = screen.startIndex
            master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
            var unlock: Int32 = 0
            var number: UInt32 = 0
            guard master >= 0, ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0,
                  ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0 else { throw POSIXError(.EIO) }
            var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
            if rows > 0 { _ = ioctl(master, 0x5414 /* TIOCSWINSZ */, &size) }
            let slave = FileHandle(forUpdatingAtPath: "/dev/pts/\(number)")!
            if controllingTerminal {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
                process.arguments = ["--ctty", "--wait", MDLuaBinary.path] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
                process.arguments = arguments
            }
            process.environment = environment
            process.standardInput = slave
            process.standardOutput = slave
            process.standardError = slave
            try process.run()
            try slave.close()
        }

        /// Reads until `text` shows up after the previous match (or 10 s pass); returns the
        /// output up to and including it.
        @discardableResult
        func expect(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
            let deadline = Date().addingTimeInterval(10)
            while screen[cursor...].range(of: text) == nil && Date() < deadline {
                var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 100) > 0 else { continue }
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(master, &buf, buf.count)
                if n <= 0 { break }
                screen += String(decoding: buf[0..<n], as: UTF8.self)
            }
            guard let match = screen[cursor...].range(of: text) else {
                XCTFail("expected \(text.debugDescription) in \(String(screen[cursor...]).debugDescription)",
                        file: file, line: line)
                return ""
            }
            defer { cursor = match.upperBound }
            return String(screen[cursor..<match.upperBound])
        }

        /// Waits up to 10 s for the process to exit, else fails the test and ends the process:
        /// a hung REPL must not hang the suite.
        func waitForExit(file: StaticString = #filePath, line: UInt = #line) {
            let deadline = Date().addingTimeInterval(10)
            // (Foundation learns of the exit on the run loop: waitUntilExit runs it too.)
            while process.isRunning && Date() < deadline { RunLoop.current.run(until: Date().addingTimeInterval(0.02)) }
            if process.isRunning {
                // The hang-up makes the REPL read the end of input and exit 0: fail first.
                XCTFail("the REPL did not exit in 10 s; its terminal showed \(String(screen[cursor...]).debugDescription)",
                        file: file, line: line)
                // A hang-up reaches the REPL behind setsid too (signalling setsid does not).
                hangUp()
                process.terminate()
            }
            process.waitUntilExit()
        }

        private var hungUp = false
        func hangUp() {
            if !hungUp { close(master) }
            hungUp = true
        }

        func send(_ s: String) {
            _ = s.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
        }

        deinit {
            if process.isRunning { process.terminate() }
            hangUp()
        }
    }

    func testMultiLineInputPrettyPrintCompletionAndHistory() throws {
        let home = try temporaryDirectory(self)
        let history = home.appendingPathComponent("history").path
        let term = try Terminal(environment: ["HOME": home.path, "TERM": "xterm", "MDLUA_HISTORY": history])
        term.expect("Ctrl-D exits")
        term.expect("> ")

        term.send("t = {1, 2,\r")
        term.expect(">> ")
        term.send("name = 'web' }\r")
        term.expect("> ")
        term.send("t\r")
        let shown = term.expect("}")
        XCTAssertTrue(shown.contains("  1,\r\n  2,\r\n  name = \"web\",\r\n}"), shown)

        term.send("md.ver\t\r")
        term.expect("\"0.")

        term.send("1 + 1, 'a'\r")
        term.expect("2\t\"a\"")

        term.send("error('oops')\r")
        let err = term.expect("stdin:1: oops")
        term.expect("> ")
        XCTAssertFalse(err.contains("repl.lua"), err)

        term.send("\u{04}")
        term.waitForExit()
        XCTAssertEqual(term.process.terminationStatus, 0)

        let saved = try String(contentsOfFile: history, encoding: .utf8)
        XCTAssertTrue(saved.contains("md.version"), saved)
        XCTAssertTrue(saved.contains("name\\040=\\040'web'"), "multi-line entry kept: \(saved)")

        // The next session starts with that history: Up brings back the last line.
        let again = try Terminal(environment: ["HOME": home.path, "TERM": "xterm", "MDLUA_HISTORY": history])
        again.expect("> ")
        again.send("\u{1b}[A\r")
        again.expect("stdin:1: oops")
        again.expect("> ")
        again.send("\u{04}")
        again.waitForExit()
        XCTAssertEqual(again.process.terminationStatus, 0)
    }

    /// Ctrl-C cancels the line being typed (or the chunk being continued) and gives a new
    /// prompt, as `lua` and `python` do; `help` says where the API is.
    func testCtrlCCancelsTheLineAndHelpShowsTheAPI() throws {
        let home = try temporaryDirectory(self)
        let history = home.appendingPathComponent("history").path
        let term = try Terminal(environment: ["HOME": home.path, "TERM": "xterm", "MDLUA_HISTORY": history],
                                controllingTerminal: true)
        term.expect("help for the API, Ctrl-D exits")
        term.expect("> ")
        term.send("cancelled = 1")
        term.expect("cancelled = 1")
        term.send("\u{03}")
        term.expect("^C")
        term.expect("> ")
        term.send("cancelled\r")
        term.expect("nil")
        term.expect("> ")
        // In a chunk that waits for more: the whole chunk goes.
        term.send("t = {\r")
        term.expect(">> ")
        term.send("1,\u{03}")
        term.expect("^C")
        term.expect("> ")
        term.send("t\r")
        term.expect("nil")
        term.expect("> ")
        // Twice in a row, and at an empty prompt: still there (libedit took a second
        // interrupted read as the end of input).
        term.send("\u{03}")
        term.expect("> ")
        term.send("\u{03}")
        term.expect("> ")
        term.send("1 + 1\r")
        term.expect("2")
        term.expect("> ")
        // A chunk that runs: Ctrl-C stops it, with Lua's message, back at the prompt.
        term.send("n = 0; while true do n = n + 1 end\r")
        usleep(200_000)
        term.send("\u{03}")
        term.expect("interrupted!")
        term.expect("> ")
        term.send("n > 0\r")
        term.expect("true")
        term.expect("> ")
        // Characters past ASCII are read as UTF-8 (they were dropped before).
        term.send("'é' .. #'é'\r")
        term.expect("\"é2\"")
        term.expect("> ")
        term.send("help\r")
        let help = term.expect("Ctrl-D exits.")
        XCTAssertTrue(help.contains("md.container") && help.contains("md.image") && help.contains("md.run"), help)
        XCTAssertTrue(help.contains("mdlua help") && help.contains("docs/"), help)
        term.expect("> ")
        term.send("\u{04}")
        term.waitForExit()
        XCTAssertEqual(term.process.terminationStatus, 0)
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        XCTAssertFalse(saved.contains("cancelled\\040=") || saved.contains("t\\040=\\040{"), "cancelled lines are not kept: \(saved)")
        XCTAssertTrue(saved.contains("1\\040+\\0401"), saved)
    }

    /// md's parts that load on first use (md.run, md.image, ...) complete before any use.
    func testCompletionOffersLazilyLoadedParts() throws {
        let home = try temporaryDirectory(self)
        let term = try Terminal(environment: ["HOME": home.path, "TERM": "xterm",
                                              "MDLUA_HISTORY": home.appendingPathComponent("history").path])
        term.expect("> ")
        // Without the completion each line would be false or an error (md.ru is nil).
        // Each answer, then the prompt after it (a completion redraws the line, prompt and all).
        term.send("md.ru\t == require('mdlua.container').run\r")
        term.expect("true\r\n> ")
        term.send("md.ima\t.ge\t ~= nil\r")
        term.expect("true\r\n> ")
        term.send("md.lay\t ~= nil\r")
        term.expect("true\r\n> ")
        term.send("\u{04}")
        term.waitForExit()
        XCTAssertEqual(term.process.terminationStatus, 0)
    }

    /// What is typed while a chunk runs (the terminal is then in cooked mode) is kept for the
    /// prompts after it, Ctrl-D included: the line discipline takes a Ctrl-D typed then as
    /// the end of a read, which was lost when libedit made the terminal raw (the REPL waited).
    func testInputTypedWhileAChunkRunsIsKept() throws {
        let home = try temporaryDirectory(self)
        let go = home.appendingPathComponent("go").path
        let term = try Terminal(environment: ["HOME": home.path, "TERM": "xterm", "GO": go, "PATH": "/usr/bin:/bin",
                                              "MDLUA_HISTORY": home.appendingPathComponent("history").path])
        term.expect("> ")
        term.send("os.execute('echo \"wait\"ing; until [ -e \"$GO\" ]; do sleep 0.02; done') and 'ran'\r")
        // The chunk runs (it said so); two lines and Ctrl-D typed meanwhile.
        term.expect("waiting\r\n")
        term.send("1 + 1\r20 + 22\r\u{04}")
        // The terminal echoes the typed lines itself: they reached it while the chunk ran.
        term.expect("20 + 22\r\n")
        XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: nil))
        term.expect("\"ran\"\r\n")
        term.expect("\r\n2\r\n")
        term.expect("\r\n42\r\n")
        term.waitForExit()
        XCTAssertEqual(term.process.terminationStatus, 0)
    }
}
