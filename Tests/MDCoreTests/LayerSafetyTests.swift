import Foundation
import XCTest
import CKernel
@testable import MDCore

/// Hostile layers: nothing they hold may create or change anything outside the layer.
final class LayerSafetyTests: XCTestCase {
    var scratch: Scratch!
    var outside: String { scratch.file("outside") }
    var layer: String { scratch.file("staged") + "/diff" }

    override func setUpWithError() throws {
        scratch = try Scratch(for: self)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "keep".write(toFile: outside + "/victim", atomically: true, encoding: .utf8)
    }

    func assertOutsideUntouched(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try? String(contentsOfFile: outside + "/victim", encoding: .utf8), "keep", file: file, line: line)
        XCTAssertEqual(FileSystem.list(outside), ["victim"], file: file, line: line)
        XCTAssertFalse(FileSystem.exists(scratch.path + "/escaped"), file: file, line: line)
    }

    func testDotDotEntryIsRefused() throws {
        let t = try scratch.tar([.file("../escaped", "x")])
        XCTAssertThrowsError(try unpack(t, into: scratch.file("staged"))) { e in
            XCTAssertTrue("\(e)".contains("\"..\""), "\(e)")
        }
        assertOutsideUntouched()
    }

    func testDotDotInTheMiddleIsRefused() throws {
        let t = try scratch.tar([.dir("a/"), .file("a/../../escaped", "x")])
        XCTAssertThrowsError(try unpack(t, into: scratch.file("staged")))
        assertOutsideUntouched()
    }

    func testAbsolutePathLandsInside() throws {
        let victim = outside + "/victim"
        let t = try scratch.tar([.file(victim, "pwned")])
        _ = try unpack(t, into: scratch.file("staged"))
        XCTAssertEqual(try String(contentsOfFile: layer + victim, encoding: .utf8), "pwned")
        assertOutsideUntouched()
    }

    func testSymlinkOutThenEntryThroughItStaysInside() throws {
        for target in [outside, "../../../../../../" + outside, "/"] {
            try? FileSystem.removeTree(scratch.file("staged"))
            let t = try scratch.tar([.symlink("evil", to: target), .file("evil/victim", "pwned"),
                                     .file("evil/new", "x")])
            _ = try unpack(t, into: scratch.file("staged"))
            assertOutsideUntouched()
            // The link is kept as it was, pointing nowhere on the host that matters.
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: layer + "/evil"), target)
        }
    }

    func testHardlinkToAFileOutsideIsRefused() throws {
        for target in [outside + "/victim", "../outside/victim", "../../outside/victim"] {
            try? FileSystem.removeTree(scratch.file("staged"))
            let t = try scratch.tar([.hardlink("h", to: target)])
            XCTAssertThrowsError(try unpack(t, into: scratch.file("staged")), target)
            assertOutsideUntouched()
            var st = stat()
            XCTAssertEqual(lstat(outside + "/victim", &st), 0)
            XCTAssertEqual(st.st_nlink, 1, "no new link to the host file")
        }
    }

    func testHardlinkThroughASymlinkOutIsRefused() throws {
        let t = try scratch.tar([.symlink("out", to: outside), .hardlink("h", to: "out/victim")])
        XCTAssertThrowsError(try unpack(t, into: scratch.file("staged")))
        var st = stat()
        lstat(outside + "/victim", &st)
        XCTAssertEqual(st.st_nlink, 1)
    }

    func testWhiteoutsThatNameOutsideStayInside() throws {
        let t = try scratch.tar([.symlink("evil", to: outside), .file("evil/.wh.victim"),
                                 .file("evil/.wh..wh..opq")])
        _ = try unpack(t, into: scratch.file("staged"))
        assertOutsideUntouched()
        XCTAssertThrowsError(try unpack(try scratch.tar([.file("../.wh.victim")], name: "b.tar"), into: scratch.file("staged2")))
        assertOutsideUntouched()
    }

    func testWhiteoutsBecomeOverlayWhiteouts() throws {
        let t = try scratch.tar([.dir("etc/"), .file("etc/.wh.passwd"), .dir("opt/"), .file("opt/.wh..wh..opq"),
                                 .file("opt/kept", "k")])
        _ = try unpack(t, into: scratch.file("staged"))
        var st = stat()
        XCTAssertEqual(lstat(layer + "/etc/passwd", &st), 0)
        XCTAssertEqual(UInt32(st.st_mode) & FileType.mask, FileType.character)
        XCTAssertEqual(st.st_rdev, 0)
        XCTAssertFalse(FileSystem.exists(layer + "/etc/.wh.passwd"))
        var value = [UInt8](repeating: 0, count: 4)
        let fd = open(layer + "/opt", O_RDONLY)
        defer { close(fd) }
        XCTAssertEqual(mdl_fgetxattr(fd, "trusted.overlay.opaque", &value, 4), 1)
        XCTAssertEqual(value[0], UInt8(ascii: "y"))
        XCTAssertFalse(FileSystem.exists(layer + "/opt/.wh..wh..opq"))
    }

    func testForgedOverlayXattrsAreDropped() throws {
        var e = Entry.dir("d/")
        e.header.xattrs = [("trusted.overlay.redirect", Array("/etc".utf8)), ("user.kept", Array("v".utf8))]
        _ = try unpack(try scratch.tar([e]), into: scratch.file("staged"))
        let fd = open(layer + "/d", O_RDONLY)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 16)
        XCTAssertLessThan(mdl_fgetxattr(fd, "trusted.overlay.redirect", &buf, 16), 0)
        XCTAssertEqual(mdl_fgetxattr(fd, "user.kept", &buf, 16), 1)
    }

    func testSetuidAndDevicesAreKeptInsideTheLayer() throws {
        var suid = Entry.file("bin/su", "#!", mode: 0o4755)
        suid.header.uid = 0
        let t = try scratch.tar([suid, .device("dev/null", type: FileType.character, major: 1, minor: 3),
                                 .device("fifo", type: FileType.fifo, major: 0, minor: 0)])
        _ = try unpack(t, into: scratch.file("staged"))
        var st = stat()
        lstat(layer + "/bin/su", &st)
        XCTAssertEqual(UInt32(st.st_mode) & 0o7777, 0o4755)
        lstat(layer + "/dev/null", &st)
        XCTAssertEqual(UInt32(st.st_mode) & FileType.mask, FileType.character)
        lstat(layer + "/fifo", &st)
        XCTAssertEqual(UInt32(st.st_mode) & FileType.mask, FileType.fifo)
    }

    func testStoreRootIsPrivate() throws {
        let store = Store(root: scratch.file("root"))
        try store.prepare()
        var st = stat()
        stat(store.root, &st)
        XCTAssertEqual(UInt32(st.st_mode) & 0o777, 0o700, "setuid files in layers must not be reachable by other users")
    }

    func testLaterEntryReplacesEarlierOne() throws {
        let t = try scratch.tar([.dir("a/"), .file("a/x", "1"), .file("a", "now a file"), .symlink("b", to: "x"),
                                 .file("b", "file")])
        _ = try unpack(t, into: scratch.file("staged"))
        XCTAssertEqual(try String(contentsOfFile: layer + "/a", encoding: .utf8), "now a file")
        XCTAssertEqual(try String(contentsOfFile: layer + "/b", encoding: .utf8), "file")
    }

    func testNotATarIsReportedAsData() throws {
        try "{\"json\": true}".write(toFile: scratch.file("j"), atomically: true, encoding: .utf8)
        XCTAssertNil(try unpack(scratch.file("j"), into: scratch.file("staged")))
    }

    func testTruncatedGzipFails() throws {
        let t = try scratch.tar([.file("big", String(repeating: "x", count: 100_000))], gzip: true)
        let bytes = try FileSystem.readFile(t)
        try FileSystem.writeAtomically(t, Array(bytes.prefix(bytes.count / 2)))
        XCTAssertThrowsError(try unpack(t, into: scratch.file("staged"))) { e in
            XCTAssertTrue("\(e)".contains("truncated gzip"), "\(e)")
        }
    }

    /// Zero bytes after the last gzip member are padding (GNU gzip and Docker accept such
    /// blobs); other bytes there are refused, and the blob's digest covers it all.
    func testZeroPaddingAfterTheGzipStream() throws {
        let t = try scratch.tar([.file("big", String(repeating: "x", count: 100_000))], gzip: true)
        let gz = try FileSystem.readFile(t)
        try FileSystem.writeAtomically(t, gz + [UInt8](repeating: 0, count: 70_000))
        let staged = try XCTUnwrap(try unpack(t, into: scratch.file("staged")))
        XCTAssertEqual(staged.blob, Digest.of(gz + [UInt8](repeating: 0, count: 70_000)))
        XCTAssertEqual(try FileSystem.readFile(layer + "/big").count, 100_000)
        for (i, tail) in ([[0, 0, 0, 7], [0x1f]] as [[UInt8]]).enumerated() {
            try FileSystem.writeAtomically(t, gz + [UInt8](repeating: 0, count: 512) + tail)
            XCTAssertThrowsError(try unpack(t, into: scratch.file("refused\(i)"))) { e in
                XCTAssertTrue("\(e)".contains("corrupt gzip stream: data after the zero bytes that end it"), "\(e)")
            }
        }
    }

    func testDigestsOfCompressedLayer() throws {
        let plain = try scratch.tar([.file("a", "hello")], name: "plain.tar")
        let plainDigest = Digest.of(try FileSystem.readFile(plain))
        let gz = try scratch.tar([.file("a", "hello")], name: "gz.tar", gzip: true)
        let gzDigest = Digest.of(try FileSystem.readFile(gz))
        let staged = try XCTUnwrap(try unpack(gz, into: scratch.file("staged")))
        XCTAssertEqual(staged.diffID, plainDigest)
        XCTAssertEqual(staged.blob, gzDigest)
        XCTAssertEqual(staged.mediaType, MediaType.ociLayerGzip)
        XCTAssertEqual(try FileSystem.readFile(staged.blobFile), try FileSystem.readFile(gz), "the blob is kept byte for byte")
    }
}
