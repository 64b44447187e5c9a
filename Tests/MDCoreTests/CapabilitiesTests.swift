import XCTest
@testable import MDCore

/// The one capability list, numbered as the kernel headers number them.
final class CapabilitiesTests: XCTestCase {
    func testNamesFollowTheKernelsNumbers() {
        XCTAssertEqual(Capabilities.names.first, "CAP_CHOWN")
        XCTAssertEqual(Capabilities.names.firstIndex(of: "CAP_SYS_ADMIN"), 21)
        XCTAssertEqual(Capabilities.names.firstIndex(of: "CAP_NET_RAW"), 13)
        XCTAssertGreaterThanOrEqual(Capabilities.names.count, 41, "headers at least as new as Linux 5.9 (CAP_CHECKPOINT_RESTORE)")
        XCTAssertEqual(Set(Capabilities.names).count, Capabilities.names.count)
    }

    func testMask() throws {
        XCTAssertEqual(try Capabilities.mask(["CAP_CHOWN", "net_raw", "SYS_ADMIN"]), 1 | 1 << 13 | 1 << 21)
        XCTAssertThrowsError(try Capabilities.mask(["CAP_NOPE"])) { e in
            XCTAssertTrue("\(e)".contains("unknown capability \"CAP_NOPE\""), "\(e)")
        }
    }
}
