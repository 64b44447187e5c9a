import Foundation
import XCTest

/// The Lua unit tests of the stdlib (Tests/lua/*_spec.lua, docs/testing.md): runs
/// Tests/lua/run.lua with the built binary on the stdlib in the tree, and fails with the
/// runner's report when a spec fails. `make test-lua` runs the same without XCTest.
final class LuaUnitTests: XCTestCase {
    func testLuaSpecs() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let r = MDLuaBinary.run([repo.appendingPathComponent("Tests/lua/run.lua").path],
                                env: ["MDLUA_STDLIB": repo.appendingPathComponent("stdlib").path],
                                cwd: repo.path)
        XCTAssertEqual(r.status, 0, "Lua unit tests failed:\n\(r.stdout)\(r.stderr)")
        XCTAssertTrue(r.stdout.contains(" passed, 0 failed"), r.stdout + r.stderr)
    }
}
