import Foundation
import XCTest
@testable import MDCore

/// The overlay rootfs of an image, mounted for real (as root).
final class OverlayRootfsTests: XCTestCase {
    var scratch: Scratch!
    var store: Store!
    var mounted: [String] = []

    override func setUpWithError() throws {
        scratch = try Scratch(for: self)
        store = Store(root: scratch.file("root"))
        // Registered after the scratch dir's removal, so it runs before it (last in, first out).
        addTeardownBlock { [unowned self] in
            for m in self.mounted { try? OverlayRootfs.unmount(m) }
            XCTAssertFalse(self.mountTable().contains(self.scratch.path), "no mount left behind")
        }
    }

    func mountTable() -> String { (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "" }

    func layer(_ entries: [Entry]) throws -> Layer {
        let t = try scratch.tar(entries, name: "l-\(UUID().uuidString.prefix(6)).tar")
        let fd = open(t, O_RDONLY)
        defer { close(fd) }
        return try LayerCreator.import(in: store, fd: fd, what: t)
    }

    func mount(_ image: ImageRecord) throws -> String {
        let dir = scratch.file("c-\(UUID().uuidString.prefix(6))")
        for d in ["upper", "work", "merged"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
        }
        try OverlayRootfs.mount(lowers: try OverlayRootfs.lowerDirs(image, in: store),
                                upper: dir + "/upper", work: dir + "/work", target: dir + "/merged")
        mounted.append(dir + "/merged")
        return dir
    }

    func testWhiteoutsHideFilesOfLowerLayers() throws {
        let base = try layer([.file("etc/passwd", "root"), .file("etc/keep", "k"), .dir("opt/"), .file("opt/a", "a")])
        let top = try layer([.file("etc/.wh.passwd"), .dir("opt/"), .file("opt/.wh..wh..opq"), .file("opt/b", "b")])
        let image = try store.locked {
            try ImageAssembler.create(in: store, layers: [base, top], config: .object([:]), names: [])
        }
        let dir = try mount(image)
        let merged = dir + "/merged"
        XCTAssertFalse(FileSystem.exists(merged + "/etc/passwd"), "deleted in layer 2")
        XCTAssertEqual(try String(contentsOfFile: merged + "/etc/keep", encoding: .utf8), "k")
        XCTAssertEqual(FileSystem.list(merged + "/opt"), ["b"], "opaque dir hides layer 1's content")
        // Writes go to the container's upper dir, never to the shared layers.
        try "new".write(toFile: merged + "/etc/keep", atomically: false, encoding: .utf8)
        XCTAssertEqual(try String(contentsOfFile: store.layers.diffPath(base.diffID) + "/etc/keep", encoding: .utf8), "k")
        XCTAssertEqual(try String(contentsOfFile: dir + "/upper/etc/keep", encoding: .utf8), "new")
    }

    func testTwoHundredLayers() throws {
        var layers: [Layer] = []
        for i in 0..<200 {
            layers.append(try layer([.file("layer\(i)", "\(i)"), .file("shared", "from \(i)")]))
        }
        let image = try store.locked {
            try ImageAssembler.create(in: store, layers: layers, config: .object([:]), names: ["docker.io/library/tall:1"])
        }
        let merged = try mount(image) + "/merged"
        XCTAssertEqual(try String(contentsOfFile: merged + "/layer0", encoding: .utf8), "0")
        XCTAssertEqual(try String(contentsOfFile: merged + "/layer199", encoding: .utf8), "199")
        XCTAssertEqual(try String(contentsOfFile: merged + "/shared", encoding: .utf8), "from 199", "the top layer wins")
        XCTAssertEqual(FileSystem.list(merged).count, 201)
    }

    func testTooManyLayersIsAClearError() throws {
        let digests = (0..<501).map { Digest.of("layer \($0)") }
        let image = ImageRecord(id: Digest.of("x"), manifest: Digest.of("m"), layers: digests, names: [],
                                created: "", size: 0, added: "")
        // Missing layers are found first; with all present, the count is refused.
        XCTAssertThrowsError(try OverlayRootfs.lowerDirs(image, in: store))
        for d in digests {
            try FileManager.default.createDirectory(atPath: store.layers.path(d) + "/diff", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: store.layers.path(d) + "/layer.json", contents: Data("{}".utf8))
        }
        XCTAssertThrowsError(try OverlayRootfs.lowerDirs(image, in: store)) { e in
            XCTAssertTrue("\(e)".contains("at most 500"), "\(e)")
        }
        // A container's overlay has the mount-point layer on top: one less for the image.
        let fits = ImageRecord(id: Digest.of("y"), manifest: Digest.of("m"), layers: Array(digests.prefix(500)), names: [],
                               created: "", size: 0, added: "")
        XCTAssertEqual(try OverlayRootfs.lowerDirs(fits, in: store).count, 500)
        XCTAssertThrowsError(try OverlayRootfs.lowerDirs(fits, in: store, reserving: 1)) { e in
            XCTAssertTrue("\(e)".contains("at most 499"), "\(e)")
        }
    }

    func testRepeatedLayerIsMountedOnce() throws {
        let a = try layer([.file("a", "1")])
        let b = try layer([.file("b", "2")])
        let image = try store.locked {
            try ImageAssembler.create(in: store, layers: [a, b, a], config: .object([:]), names: [])
        }
        XCTAssertEqual(try OverlayRootfs.lowerDirs(image, in: store).count, 2)
        let merged = try mount(image) + "/merged"
        XCTAssertEqual(FileSystem.list(merged), ["a", "b"])
    }
}
