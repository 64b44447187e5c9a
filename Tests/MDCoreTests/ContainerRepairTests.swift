import XCTest
@testable import MDCore

/// A record whose monitor is gone is repaired on read (ContainerStore.repaired); one that
/// was read before its monitor recorded the exit and ended is not repaired over that exit.
final class ContainerRepairTests: XCTestCase {
    func testAStaleReadDoesNotOverwriteTheExitItsMonitorRecorded() throws {
        let scratch = try Scratch(for: self)
        let containers = ContainerStore(store: Store(root: scratch.file("root")))
        let id = String(repeating: "ab", count: 32)
        try FileSystem.makeDirectories(containers.path(id), mode: 0o700)
        var stale = try ContainerRecord(json: .object(["id": .string(id), "name": .string("shell"),
                                                       "image": .string("sha256:" + String(repeating: "0", count: 64))]))
        stale.status = .running
        stale.pid = Int32.max - 1          // no such process
        stale.pidStart = 1
        stale.monitorPid = Int32.max - 2   // nor such a monitor: it has ended
        stale.monitorStart = 1
        stale.startedAt = Clock.now()
        // What the monitor wrote last, after `stale` was read.
        var recorded = stale
        recorded.status = .exited
        recorded.pid = 0
        recorded.exitCode = 4
        recorded.finishedAt = Clock.now()
        try containers.save(recorded)

        let read = try XCTUnwrap(containers.repaired(stale))
        XCTAssertEqual(read.status, .exited)
        XCTAssertEqual(read.exitCode, 4, read.error)
        XCTAssertFalse(read.exitUnknown)
        XCTAssertEqual(containers.load(id)?.exitCode, 4, "the record on disk keeps the monitor's exit")

        // A monitor that died without recording anything: the exit is unknown (255).
        try containers.save(stale)
        let lost = try XCTUnwrap(containers.repaired(stale))
        XCTAssertEqual(lost.exitCode, 255)
        XCTAssertTrue(lost.exitUnknown)
    }
}
