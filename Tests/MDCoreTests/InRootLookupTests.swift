import Foundation
import XCTest
import CKernel
@testable import MDCore

/// Lookups confined to a root (openat2 with RESOLVE_IN_ROOT), as `cp`, volumes and mounts
/// make them.
final class InRootLookupTests: XCTestCase {
    /// The kernel gives up a confined walk over `..` with EAGAIN when any rename on the host
    /// raced it; mdl_openat2 repeats the lookup, so a busy host does not fail a `cp`.
    func testLookupOverDotDotSurvivesRenamesElsewhere() throws {
        let scratch = try Scratch(for: self)
        try FileManager.default.createDirectory(atPath: scratch.file("root/a/b/c"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.file("busy"), withIntermediateDirectories: true)
        let root = open(scratch.file("root"), MDL_O_PATH | O_DIRECTORY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(root, 0)
        defer { close(root) }

        final class Flag: @unchecked Sendable { var stop = false }
        let flag = Flag()
        let renamer = Thread {
            let a = scratch.file("busy/x"), b = scratch.file("busy/y")
            _ = FileManager.default.createFile(atPath: a, contents: nil)
            while !flag.stop { rename(a, b); rename(b, a) }
        }
        renamer.start()
        defer { flag.stop = true; while !renamer.isFinished { usleep(1000) } }

        var failures: [String] = []
        for _ in 0..<20_000 {
            let fd = mdl_openat2(root, "a/b/c/../../../../a/b/c/../..", MDL_O_PATH | O_CLOEXEC, 0, MDL_RESOLVE_IN_ROOT)
            if fd < 0 { failures.append(String(cString: strerror(errno))); if failures.count > 3 { break } } else { close(fd) }
        }
        XCTAssertEqual(failures, [])
    }
}
