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

    func mount(_ image: ImageRecord, style: OverlayRootfs.Style = .detect) throws -> String {
        let dir = scratch.file("c-\(UUID().uuidString.prefix(6))")
        for d in ["upper", "work", "merged"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
        }
        try OverlayRootfs.mount(lowers: try OverlayRootfs.lowerDirs(image, in: store),
                                upper: dir + "/upper", work: dir + "/work", target: dir + "/merged",
                                links: store.layers.links, style: style)
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

    func tallImage(_ count: Int) throws -> ImageRecord {
        var layers: [Layer] = []
        for i in 0..<count {
            layers.append(try layer([.file("layer\(i)", "\(i)"), .file("shared", "from \(i)")]))
        }
        return try store.locked {
            try ImageAssembler.create(in: store, layers: layers, config: .object([:]), names: ["docker.io/library/tall:\(count)"])
        }
    }

    func checkTall(_ merged: String, _ count: Int) throws {
        XCTAssertEqual(try String(contentsOfFile: merged + "/layer0", encoding: .utf8), "0")
        XCTAssertEqual(try String(contentsOfFile: merged + "/layer\(count - 1)", encoding: .utf8), "\(count - 1)")
        XCTAssertEqual(try String(contentsOfFile: merged + "/shared", encoding: .utf8), "from \(count - 1)", "the top layer wins")
        XCTAssertEqual(FileSystem.list(merged).count, count + 1)
    }

    func testTwoHundredLayers() throws {
        let image = try tallImage(200)
        try checkTall(try mount(image) + "/merged", 200)
        // Kernels before 6.8 get one option string of short links: 200 layers fit in it.
        try checkTall(try mount(image, style: .classic) + "/merged", 200)
        XCTAssertEqual(FileSystem.list(store.layers.links).count, 200, "one link per layer")
    }

    func testClassicStyleKeepsWhiteoutsAndEscapesPaths() throws {
        let base = try layer([.file("etc/passwd", "root"), .file("etc/keep", "k")])
        let top = try layer([.file("etc/.wh.passwd"), .file("etc/new", "n")])
        let image = try store.locked { try ImageAssembler.create(in: store, layers: [base, top], config: .object([:]), names: []) }
        // A state root whose path holds the overlay's separators.
        let dir = scratch.file("odd,name:x")
        for d in ["upper", "work", "merged"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
        }
        try OverlayRootfs.mount(lowers: try OverlayRootfs.lowerDirs(image, in: store), upper: dir + "/upper", work: dir + "/work",
                                target: dir + "/merged", volatile: true, links: store.layers.links, style: .classic)
        mounted.append(dir + "/merged")
        XCTAssertFalse(FileSystem.exists(dir + "/merged/etc/passwd"))
        XCTAssertEqual(FileSystem.list(dir + "/merged/etc"), ["keep", "new"])
        try "w".write(toFile: dir + "/merged/etc/keep", atomically: false, encoding: .utf8)
        XCTAssertEqual(try String(contentsOfFile: dir + "/upper/etc/keep", encoding: .utf8), "w")
        // The links go with their layer.
        let link = store.layers.links + "/" + OverlayRootfs.shortName(store.layers.diffPath(base.diffID))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), store.layers.diffPath(base.diffID))
        try OverlayRootfs.unmount(dir + "/merged")
        mounted.removeAll()
        try store.layers.remove(base.diffID)
        XCTAssertFalse(FileSystem.exists(link) || (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) != nil)
    }

    func testClassicStyleRefusesWhatDoesNotFitInAPage() throws {
        let image = try tallImage(300)
        XCTAssertThrowsError(try mount(image, style: .classic)) { e in
            XCTAssertTrue("\(e)".contains("300 layers do not fit in one overlay"), "\(e)")
            XCTAssertTrue("\(e)".contains("at most 2"), "names the limit: \(e)")
        }
        try checkTall(try mount(image, style: .appended) + "/merged", 300)
    }

    func testShortNamesAreStableAndShort() {
        let a = OverlayRootfs.shortName("/var/lib/mdlua/layers/\(String(repeating: "a", count: 64))/diff")
        XCTAssertEqual(a, OverlayRootfs.shortName("/var/lib/mdlua/layers/\(String(repeating: "a", count: 64))/diff"))
        XCTAssertNotEqual(a, OverlayRootfs.shortName("/var/lib/mdlua/layers/\(String(repeating: "b", count: 64))/diff"))
        XCTAssertEqual(a.count, 13)
    }

    func testKernelVersionParsing() {
        XCTAssertTrue(Kernel.parse("6.1.0-27-cloud-amd64") == (6, 1))
        XCTAssertTrue(Kernel.parse("5.10.0-33-amd64") == (5, 10))
        XCTAssertTrue(Kernel.parse("6.18.44-fc-v1147") == (6, 18))
        XCTAssertTrue(Kernel.parse("garbage") == (0, 0))
        XCTAssertNoThrow(try Kernel.checkFloor(), "this host is above the floor")
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
