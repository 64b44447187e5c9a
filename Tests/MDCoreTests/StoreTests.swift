import Foundation
import XCTest
import CKernel
@testable import MDCore

/// Load, save, verification and the overlay rootfs, against a store in a scratch root.
final class StoreTests: XCTestCase {
    var scratch: Scratch!
    var store: Store!

    override func setUpWithError() throws {
        scratch = try Scratch(for: self)
        store = Store(root: scratch.file("root"))
    }

    /// Nothing half-made: no image, layer, blob or staging dir.
    func assertStoreEmpty(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual((try? store.images.load())?.count ?? 0, 0, "images", file: file, line: line)
        XCTAssertEqual(FileSystem.list(store.layers.dir), [], "layers", file: file, line: line)
        XCTAssertEqual(FileSystem.list(store.blobs.dir), [], "blobs", file: file, line: line)
        XCTAssertEqual(FileSystem.list(store.root + "/tmp"), [], "staging", file: file, line: line)
    }

    /// A docker-save archive with one image made of `layers`; `mutate` may corrupt it.
    func dockerArchive(layers: [[Entry]], name: String = "test:1",
                       mutate: (inout [String: [UInt8]], inout JSON, inout [String]) -> Void = { _, _, _ in }) throws -> String {
        var files: [String: [UInt8]] = [:]
        var diffIDs: [JSON] = []
        var layerNames: [String] = []
        for (i, l) in layers.enumerated() {
            let bytes = try FileSystem.readFile(try scratch.tar(l, name: "l\(i).tar"))
            let d = Digest.of(bytes)
            files["\(d.hex)/layer.tar"] = bytes
            layerNames.append("\(d.hex)/layer.tar")
            diffIDs.append(.string(d.description))
        }
        var config = JSON.object(["architecture": .string("amd64"), "os": .string("linux"),
                                  "config": .object(["Cmd": .array([.string("sh")])]),
                                  "rootfs": .object(["type": .string("layers"), "diff_ids": .array(diffIDs)])])
        mutate(&files, &config, &layerNames)
        let configBytes = Array(config.serialized().utf8)
        files["\(Digest.of(configBytes).hex).json"] = configBytes
        files["manifest.json"] = Array(JSON.array([.object([
            "Config": .string("\(Digest.of(configBytes).hex).json"),
            "RepoTags": .array([.string(name)]),
            "Layers": .array(layerNames.map { .string($0) })])]).serialized().utf8)
        return try scratch.tar(files.keys.sorted().map { k in
            var e = Entry.file(k)
            e.header.size = UInt64(files[k]!.count)
            e.data = files[k]!
            return e
        }, name: "image-\(UUID().uuidString.prefix(6)).tar")
    }

    /// ROOT/mountpoints: made whole on first use (nothing left in staging), then reused as is.
    func testMountPointLayer() throws {
        let path = try store.mountPointLayer()
        XCTAssertEqual(path, store.root + "/mountpoints")
        XCTAssertEqual(FileSystem.list(path).sorted(), ["dev", "etc", "proc", "sys"])
        XCTAssertEqual(FileSystem.list(path + "/etc").sorted(), ["hostname", "hosts", "resolv.conf"])
        for f in ["hostname", "hosts", "resolv.conf"] {
            XCTAssertEqual(try FileSystem.readFile(path + "/etc/" + f), [], f)
        }
        XCTAssertEqual(FileSystem.list(store.root + "/tmp"), [], "staging")
        try FileSystem.writeNewFile(path + "/marker", [])
        XCTAssertEqual(try store.mountPointLayer(), path)
        XCTAssertTrue(FileSystem.exists(path + "/marker"), "an existing layer is used, not made again")
    }

    func testLoadDockerArchive() throws {
        let archive = try dockerArchive(layers: [[.file("etc/hello", "hi"), .file("bin/sh", "x", mode: 0o755)],
                                                 [.file("etc/.wh.hello")]])
        let images = try ArchiveLoader.load(into: store, from: archive)
        XCTAssertEqual(images.count, 1)
        XCTAssertEqual(images[0].names, ["docker.io/library/test:1"])
        XCTAssertEqual(images[0].layers.count, 2)
        for d in images[0].layers { XCTAssertTrue(store.layers.has(d)) }
        XCTAssertEqual(FileSystem.list(store.root + "/tmp"), [], "staging cleaned")
        // Loading again changes nothing.
        XCTAssertEqual(try ArchiveLoader.load(into: store, from: archive).map(\.id), images.map(\.id))
        XCTAssertEqual(store.layers.list().count, 2)
    }

    func testLayerNotMatchingItsDiffIDLeavesNothing() throws {
        let archive = try dockerArchive(layers: [[.file("a", "1")], [.file("b", "2")]]) { files, _, names in
            files[names[1]] = try! FileSystem.readFile(try! self.scratch.tar([.file("b", "tampered")], name: "t.tar"))
        }
        XCTAssertThrowsError(try ArchiveLoader.load(into: store, from: archive)) { e in
            XCTAssertTrue("\(e)".contains("does not match diff ID"), "\(e)")
            XCTAssertTrue("\(e)".contains("/layer.tar"), "names the blob: \(e)")
        }
        assertStoreEmpty()
    }

    func testManifestNamingAMissingBlob() throws {
        let archive = try dockerArchive(layers: [[.file("a", "1")]]) { files, _, names in
            files[names[0]] = nil
        }
        XCTAssertThrowsError(try ArchiveLoader.load(into: store, from: archive)) { e in
            XCTAssertTrue("\(e)".contains("which the archive lacks"), "\(e)")
        }
        assertStoreEmpty()
    }

    func testConfigThatIsNotJSON() throws {
        let t = try scratch.tar([.file("manifest.json", #"[{"Config":"c.json","RepoTags":[],"Layers":[]}]"#),
                                 .file("c.json", "{not json")], name: "bad.tar")
        XCTAssertThrowsError(try ArchiveLoader.load(into: store, from: t)) { e in
            XCTAssertTrue("\(e)".contains("c.json is not valid JSON"), "\(e)")
        }
        assertStoreEmpty()
    }

    func testTruncatedArchive() throws {
        let archive = try dockerArchive(layers: [[.file("big", String(repeating: "z", count: 200_000))]])
        let bytes = try FileSystem.readFile(archive)
        try FileSystem.writeAtomically(archive, Array(bytes.prefix(60_000)))
        XCTAssertThrowsError(try ArchiveLoader.load(into: store, from: archive))
        assertStoreEmpty()
    }

    func testNotAnArchive() throws {
        try "hello".write(toFile: scratch.file("x"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ArchiveLoader.load(into: store, from: scratch.file("x")))
        assertStoreEmpty()
    }

    /// Every kind of file survives load → save → load, in both formats.
    func testFidelityThroughSaveAndLoad() throws {
        let tree = scratch.file("tree")
        try FileManager.default.createDirectory(atPath: tree + "/dir/sub", withIntermediateDirectories: true)
        try "data".write(toFile: tree + "/dir/file", atomically: true, encoding: .utf8)
        chmod(tree + "/dir/file", 0o4751)
        chown(tree + "/dir/file", 1234, 5678)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, tree + "/dir/file", &times, 0)
        link(tree + "/dir/file", tree + "/hardlink")
        symlink("dir/file", tree + "/symlink")
        mkfifo(tree + "/fifo", 0o640)
        let longName = String(repeating: "n", count: 150)
        try "long".write(toFile: tree + "/dir/sub/" + longName, atomically: true, encoding: .utf8)
        let fd = open(tree + "/sparse", O_WRONLY | O_CREAT, 0o644)
        ftruncate(fd, 50 << 20)
        pwrite(fd, "end", 3, (50 << 20) - 3)
        _ = mdl_fsetxattr(fd, "user.note", "v1", 2)
        close(fd)

        let layer = try LayerCreator.create(in: store, from: tree, comment: "fidelity")
        let image = try store.locked {
            try ImageAssembler.create(in: store, layers: [layer], config: .object([:]), names: ["docker.io/library/fid:1"])
        }
        let original = scratch.listing(store.layers.diffPath(layer.diffID))
        XCTAssertEqual(original, scratch.listing(tree))
        XCTAssertTrue(original["sparse"]?.contains("size=52428800") ?? false)
        var st = stat()
        stat(store.layers.diffPath(layer.diffID) + "/sparse", &st)
        XCTAssertLessThan(st.st_blocks * 512, 1 << 20, "the sparse file stays sparse")

        for format in [ArchiveSaver.Format.docker, .oci] {
            let out = scratch.file("saved-\(format).tar")
            let ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try ArchiveSaver.save(from: store, images: [(image, image.names)], format: format, to: ofd)
            close(ofd)
            let other = Store(root: scratch.file("other-\(format)"))
            let loaded = try ArchiveLoader.load(into: other, from: out)
            XCTAssertEqual(loaded.map(\.id), [image.id], "\(format): same config, same ID")
            XCTAssertEqual(loaded[0].names, image.names)
            if format == .oci { XCTAssertEqual(loaded[0].manifest, image.manifest) }
            XCTAssertEqual(scratch.listing(other.layers.diffPath(layer.diffID)), original, "\(format)")
            var xv = [UInt8](repeating: 0, count: 8)
            let xfd = open(other.layers.diffPath(layer.diffID) + "/sparse", O_RDONLY)
            XCTAssertEqual(mdl_fgetxattr(xfd, "user.note", &xv, 8), 2)
            close(xfd)
        }
    }

    func testRemovingImagesCollectsLayersAndBlobs() throws {
        let a = try dockerArchive(layers: [[.file("shared", "s")], [.file("a", "a")]], name: "a:1")
        let b = try dockerArchive(layers: [[.file("shared", "s")], [.file("b", "b")]], name: "b:1")
        _ = try ArchiveLoader.load(into: store, from: a)
        _ = try ArchiveLoader.load(into: store, from: b)
        XCTAssertEqual(store.layers.list().count, 3)
        _ = try ImageRemoval.remove("a:1", from: store, force: false)
        XCTAssertEqual(store.layers.list().count, 2, "the shared layer stays for b")
        _ = try ImageRemoval.remove("b:1", from: store, force: false)
        assertStoreEmpty()
    }

    func testTaggedTwiceNeedsForceById() throws {
        let img = try ArchiveLoader.load(into: store, from: try dockerArchive(layers: [[.file("x", "1")]]))[0]
        _ = try ImageRemoval.tag("test:1", as: "other", in: store)
        XCTAssertThrowsError(try ImageRemoval.remove(img.id.short, from: store, force: false))
        let r = try ImageRemoval.remove("other", from: store, force: false)
        XCTAssertEqual(r.untagged, ["docker.io/library/other:latest"])
        XCTAssertEqual(r.deleted, [])
        XCTAssertEqual(try ImageRemoval.remove(img.id.short, from: store, force: false).deleted, [img.id])
    }

    func testLayerInUseCannotBeRemoved() throws {
        let img = try ArchiveLoader.load(into: store, from: try dockerArchive(layers: [[.file("x", "1")]]))[0]
        XCTAssertThrowsError(try ImageRemoval.removeLayer(img.layers[0].hex, from: store)) { e in
            XCTAssertTrue("\(e)".contains("used by image test:1"), "\(e)")
        }
    }

    func testAbandonedStagingIsRemoved() throws {
        try store.prepare()
        let dead = store.root + "/tmp/load-1-dead"
        try FileManager.default.createDirectory(atPath: dead + "/layer-1", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dead + "/.owner", contents: nil)
        _ = try store.staging("probe")
        XCTAssertFalse(FileSystem.exists(dead), "nobody holds its lock: removed")
    }
}

final class EventLogTests: XCTestCase {
    func testEventsAreJSONLinesAndTheFileIsBounded() throws {
        let scratch = try Scratch(for: self)
        let log = EventLog(root: scratch.path)
        log.record("container", "die", id: "abc", attributes: ["exitCode": "3", "name": "x \"quoted\""])
        let first = try JSON.parse(FileSystem.readFile(log.path))
        XCTAssertEqual(first["Action"]?.string, "die")
        XCTAssertEqual(first["Actor"]?["Attributes"]?["name"]?.string, "x \"quoted\"")
        XCTAssertNotNil(first["timeNano"]?.int)
        for i in 0..<8000 { log.record("container", "start", id: String(repeating: "f", count: 64), attributes: ["n": String(i)]) }
        let size = { (p: String) -> Int in
            var st = stat()
            return stat(p, &st) == 0 ? Int(st.st_size) : -1
        }
        XCTAssertGreaterThan(size(log.path + ".1"), 0, "rotated")
        XCTAssertLessThan(size(log.path), 1 << 20)
        XCTAssertLessThan(size(log.path + ".1"), (1 << 20) + 512, "one file past the bound at most by one event")
        let lines = try FileSystem.readFile(log.path).split(separator: 0x0a)
        XCTAssertTrue(lines.allSatisfy { (try? JSON.parse(Array($0))) != nil }, "whole lines only")
    }
}

final class ReplaceVolatileTests: XCTestCase {
    func testReplacesOrCreatesAndLeavesNoTemporaryFile() throws {
        let scratch = try Scratch(for: self)
        let path = scratch.path + "/record.json"
        try FileSystem.replaceVolatile(path, Array("one".utf8))
        XCTAssertEqual(try FileSystem.readFile(path), Array("one".utf8), "made when missing")
        try FileSystem.replaceVolatile(path, Array("two, longer".utf8))
        XCTAssertEqual(try FileSystem.readFile(path), Array("two, longer".utf8), "swapped in")
        XCTAssertEqual(FileSystem.list(scratch.path), ["record.json"], "the old content is gone")
    }
}
