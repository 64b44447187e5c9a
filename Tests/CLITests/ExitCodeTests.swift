import Foundation
import XCTest

/// Exit statuses as Docker's for commands that find the container already as asked
/// (issue #18): start of a running one and stop of a stopped one succeed, rm -f of a
/// missing one succeeds (with a word on stderr), pause of a paused one and start of a
/// paused one fail.
final class ExitCodeTests: ContainerTestCase {
    func testAlreadyAsAsked() {
        XCTAssertEqual(md(["run", "-d", "--name", "s", "busybox", "sleep", "60"]).status, 0)
        let pid = md(["inspect", "-f", "{{.State.Pid}}", "s"]).stdout

        let start = md(["start", "s"])
        XCTAssertEqual(start.status, 0, start.stderr)
        XCTAssertEqual(start.stdout, "s\n")
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Pid}}", "s"]).stdout, pid, "the same process, not a second start")

        XCTAssertEqual(md(["pause", "s"]).status, 0)
        let pause = md(["pause", "s"])
        XCTAssertEqual(pause.status, 125)
        XCTAssertEqual(pause.stderr, "mdlua: container s is already paused\n")
        let startPaused = md(["start", "s"])
        XCTAssertEqual(startPaused.status, 125)
        XCTAssertTrue(startPaused.stderr.contains("cannot start a paused container, try unpause instead"), startPaused.stderr)
        XCTAssertEqual(md(["inspect", "-f", "{{.State.Status}}", "s"]).stdout, "paused\n", "still paused, not started again")
        XCTAssertEqual(md(["unpause", "s"]).status, 0)

        XCTAssertEqual(md(["stop", "-t", "1", "s"]).status, 0)
        let stop = md(["stop", "s"])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        XCTAssertEqual(stop.stdout, "s\n")
    }

    func testRemoveForceOfAMissingContainer() {
        XCTAssertEqual(md(["create", "--name", "c", "busybox", "true"]).status, 0)
        let missing = md(["rm", "-f", "nope"])
        XCTAssertEqual(missing.status, 0)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertEqual(missing.stderr, "mdlua: no such container: nope\n")
        let plain = md(["rm", "nope"])
        XCTAssertEqual(plain.status, 125, "without --force it is an error")
        XCTAssertEqual(plain.stderr, "mdlua: no such container: nope\n")
        let both = md(["rm", "-f", "nope", "c"])
        XCTAssertEqual(both.status, 0, both.stderr)
        XCTAssertEqual(both.stdout, "c\n")
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }
}
