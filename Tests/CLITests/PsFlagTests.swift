import Foundation
import XCTest

/// `ps -l`, `-n N` and `-s`, as Docker's.
final class PsFlagTests: ContainerTestCase {
    @discardableResult
    func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = md(args, file: file, line: line)
        XCTAssertEqual(r.status, 0, "mdlua \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    func testLastAndLatest() {
        for name in ["one", "two", "three"] { ok(["create", "--name", name, "busybox", "true"]) }
        // Created containers are listed by -n and -l without -a: every state, newest first.
        XCTAssertEqual(ok(["ps", "--format", "{{.Names}}"]), "")
        XCTAssertEqual(ok(["ps", "-l", "--format", "{{.Names}}"]), "three\n")
        XCTAssertEqual(ok(["ps", "--latest", "--format", "{{.Names}}"]), "three\n")
        XCTAssertEqual(ok(["ps", "-n", "2", "--format", "{{.Names}}"]), "three\ntwo\n")
        XCTAssertEqual(ok(["ps", "--last", "5", "--format", "{{.Names}}"]), "three\ntwo\none\n")
        XCTAssertEqual(ok(["ps", "-n", "0", "-a", "--format", "{{.Names}}"]), "three\ntwo\none\n", "0: no limit")
        XCTAssertEqual(ok(["ps", "-l", "-n", "2", "--format", "{{.Names}}"]), "three\ntwo\n", "-n wins over -l")
        // The filters come first, then the limit.
        XCTAssertEqual(ok(["ps", "-l", "-f", "name=o", "--format", "{{.Names}}"]), "two\n")
        XCTAssertEqual(ok(["ps", "-lq"]).count, 13)
        let table = ok(["ps", "-l"])
        XCTAssertTrue(table.hasPrefix("CONTAINER ID   IMAGE"), table)
        XCTAssertEqual(table.split(separator: "\n").count, 2, table)
    }

    func testSize() {
        ok(["run", "--name", "w", "busybox", "sh", "-c", "printf 12 > /f"])
        ok(["create", "--name", "c", "busybox", "true"])
        let image = Int(ok(["-e", "io.write(md.image.get('busybox').size)"])) ?? 0
        let virtual = ok(["-e", "io.write(require('mdlua.format').size(\(image + 2)))"])
        let virtualEmpty = ok(["-e", "io.write(require('mdlua.format').size(\(image)))"])
        // Docker's SIZE column: the writable layer, then it with the image.
        let table = ok(["ps", "-a", "-s"])
        let lines = table.split(separator: "\n")
        XCTAssertTrue(lines.first?.hasSuffix("NAMES   SIZE") == true, table)
        XCTAssertTrue(lines.contains { $0.hasSuffix("w       2B (virtual \(virtual))") }, table)
        XCTAssertTrue(lines.contains { $0.hasSuffix("c       0B (virtual \(virtualEmpty))") }, table)
        XCTAssertFalse(ok(["ps", "-a"]).contains("SIZE"))
        XCTAssertEqual(ok(["ps", "-a", "--format", "{{.Names}} {{.Size}}"]),
                       "c 0B (virtual \(virtualEmpty))\nw 2B (virtual \(virtual))\n")
        XCTAssertEqual(ok(["ps", "-a", "-s", "--format", "table {{.Names}}\t{{.Size}}", "-n", "1"]),
                       "NAMES     SIZE\nc         0B (virtual \(virtualEmpty))\n")
    }
}
