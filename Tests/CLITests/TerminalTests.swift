import Foundation
import XCTest

/// run -it, exec -it, attach and start -ai through a pseudo-terminal: the container's process
/// gets a terminal from its own /dev/pts, TERM as Docker sets it, window sizes passed on, and
/// the detach keys leave it running.
final class TerminalTests: ContainerTestCase {
    func terminal(_ args: [String]) throws -> REPLTests.Terminal {
        try REPLTests.Terminal(arguments: ["--root", root] + args, environment: ["TERM": "xterm-256color", "PATH": "/usr/bin:/bin"],
                               rows: 24, columns: 80)
    }

    /// Waits for the terminal's command to end; its exit status.
    func exitStatus(_ term: REPLTests.Terminal, file: StaticString = #filePath, line: UInt = #line) -> Int32 {
        let deadline = Date().addingTimeInterval(15)
        while term.process.isRunning && Date() < deadline {
            term.drain()
            usleep(20_000)
        }
        XCTAssertFalse(term.process.isRunning, "the command ended; the terminal showed \(term.shown())", file: file, line: line)
        return term.process.isRunning ? -1 : term.process.terminationStatus
    }

    func resize(_ term: REPLTests.Terminal, rows: UInt16, columns: UInt16) {
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(term.master, 0x5414 /* TIOCSWINSZ */, &size)
        // The terminal is not mdlua's controlling one (Process makes no session): the
        // signal a terminal sends its foreground group is sent by hand.
        kill(term.process.processIdentifier, SIGWINCH)
    }

    func testRunItGivesATerminalOfTheContainersOwnDevpts() throws {
        let term = try terminal(["run", "--rm", "-it", "--name", "t", "busybox", "sh"])
        term.expect("# ")
        term.send("tty; echo T=$TERM; stty size; ls /dev/pts\r")
        term.expect("/dev/pts/0\r\n")
        term.expect("T=xterm\r\n")
        term.expect("24 80\r\n")
        term.expect("ptmx")
        resize(term, rows: 30, columns: 100)
        usleep(200_000)
        term.send("stty size\r")
        term.expect("30 100\r\n")
        term.send("exit 3\r")
        XCTAssertEqual(exitStatus(term), 3)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "--rm removed it")
    }

    func testTermFromTheUserIsKeptAndExitsAreDockers() throws {
        let term = try terminal(["run", "--rm", "-it", "-e", "TERM=vt100", "busybox", "sh", "-c", "echo T=$TERM; tty"])
        term.expect("T=vt100\r\n")
        term.expect("/dev/pts/0")
        XCTAssertEqual(exitStatus(term), 0)
        // A command that is gone before the terminal attaches still shows its output.
        let quick = try terminal(["run", "--rm", "-it", "busybox", "echo", "quick"])
        quick.expect("quick")
        XCTAssertEqual(exitStatus(quick), 0)
        // The same with --init and a user of its own, whose terminal it is.
        let user = try terminal(["run", "--rm", "-it", "--init", "-u", "1000", "busybox", "sh", "-c", "tty; stat -c %u $(tty)"])
        user.expect("/dev/pts/0\r\n1000\r\n")
        XCTAssertEqual(exitStatus(user), 0)
        let bad = md(["run", "--rm", "-it", "--detach-keys", "ctrl-1", "busybox", "true"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.stderr.contains("ctrl-1"), bad.stderr)
    }

    func testDetachKeysLeaveRunExecAndAttachRunning() throws {
        let run = try terminal(["run", "-it", "--name", "d", "busybox", "sh"])
        run.expect("# ")
        run.send("echo $$ > /pid\r")
        run.expect("# ")
        run.send("\u{10}\u{11}")
        run.expect("detached from d")
        XCTAssertEqual(exitStatus(run), 0, "run -it returns")
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "d"]).stdout, "running\n")

        // exec -it: the process's terminal is the container's too; a custom sequence detaches
        // and the process goes on.
        let exec = try terminal(["exec", "-it", "--detach-keys", "ctrl-x,y", "d", "sh"])
        exec.expect("# ")
        exec.send("tty; echo T=$TERM; echo $$ > /exec.pid\r")
        exec.expect("/dev/pts/1\r\n")
        exec.expect("T=xterm\r\n")
        exec.send("\u{18}y")
        exec.expect("detached from d")
        XCTAssertEqual(exitStatus(exec), 0)
        let pid = md(["exec", "d", "cat", "/exec.pid"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(pid.isEmpty)
        XCTAssertEqual(md(["exec", "d", "kill", "-0", pid]).status, 0, "the exec'd shell still runs")

        // attach with its own keys.
        let attach = try terminal(["attach", "--detach-keys", "ctrl-a,q", "d"])
        usleep(300_000)
        attach.send("echo again\r")
        attach.expect("\nagain\r\n")
        attach.send("\u{01}q")
        attach.expect("detached from d")
        XCTAssertEqual(exitStatus(attach), 0)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "d"]).stdout, "running\n")

        // start -ai of a created terminal container is attached as run -it is.
        XCTAssertEqual(md(["create", "-it", "--name", "s", "busybox", "sh"]).status, 0)
        let start = try terminal(["start", "-ai", "--detach-keys", "ctrl-@", "s"])
        start.expect("# ")
        start.send("tty\r")
        start.expect("/dev/pts/0\r\n")
        start.send("\u{0}")
        start.expect("detached from s")
        XCTAssertEqual(exitStatus(start), 0)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "s"]).stdout, "running\n")

        // --rm: removed when it ends, also after a detach.
        let rm = try terminal(["run", "--rm", "-it", "--name", "r", "busybox", "sh"])
        rm.expect("# ")
        rm.send("\u{10}\u{11}")
        rm.expect("detached from r")
        XCTAssertEqual(exitStatus(rm), 0)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "r"]).stdout, "running\n")
        md(["kill", "r"])
        var left = "r"
        for _ in 0..<100 where !left.isEmpty {
            usleep(50_000)
            left = md(["ps", "-a", "--filter", "name=r", "-q"]).stdout
        }
        XCTAssertEqual(left, "", "removed once it ended")

        // The first one again, and its end: attach returns its status.
        let again = try terminal(["attach", "d"])
        usleep(300_000)
        again.send("exit 7\r")
        XCTAssertEqual(exitStatus(again), 7)
    }
}

extension REPLTests.Terminal {
    /// Reads what the terminal has now, so that a chatty command never blocks on it.
    func drain() {
        var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, 0) > 0 && pfd.revents & Int16(POLLIN) != 0 {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = read(master, &buf, buf.count)
            if n <= 0 { break }
            screen += String(decoding: buf[0..<n], as: UTF8.self)
        }
    }

    /// What the terminal showed after the last match: for a failure's message.
    func shown() -> String {
        drain()
        return String(screen[cursor...]).debugDescription
    }
}
