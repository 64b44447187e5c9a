import Foundation
import XCTest
import CKernel
import CStream
@testable import MDCore

/// The layer blob writer (mdl_layer_writer.h): tar bytes cut into chunks of MDL_LAYER_CHUNK,
/// each compressed into its own gzip member (or zstd frame) on worker threads, written in
/// order. Every blob is read back by mdlua's own reader and by the real tools.
final class LayerWriterTests: XCTestCase {
    var scratch: Scratch!
    let chunk = Int(MDL_LAYER_CHUNK)

    override func setUpWithError() throws {
        scratch = try Scratch(for: self)
    }

    /// Bytes that do not compress much and are the same in every run.
    func noise(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x >> 24)
        }
    }

    struct Written { let path: String; let blob: Digest; let diffID: Digest; let blobSize: UInt64; let tarSize: UInt64 }

    /// Writes `data` through a writer in pieces of `piece` bytes.
    func write(_ data: [UInt8], kind: Int32 = Int32(MDL_KIND_GZIP), level: Int32 = 1, piece: Int,
               name: String) throws -> Written {
        let path = scratch.file(name)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let w = try XCTUnwrap(mdl_layer_writer_new(fd, kind, level))
        defer { mdl_layer_writer_free(w) }
        try data.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = min(piece, buf.count - off)
                guard mdl_layer_writer_write(w, buf.baseAddress! + off, n) == 0 else {
                    throw EngineError(String(cString: mdl_layer_writer_error(w)))
                }
                off += n
            }
        }
        var blobHex = [CChar](repeating: 0, count: 65), diffHex = [CChar](repeating: 0, count: 65)
        var blobSize: UInt64 = 0, tarSize: UInt64 = 0
        guard mdl_layer_writer_finish(w, &blobHex, &diffHex, &blobSize, &tarSize) == 0 else {
            throw EngineError(String(cString: mdl_layer_writer_error(w)))
        }
        return Written(path: path, blob: Digest(hex: String(cString: blobHex)), diffID: Digest(hex: String(cString: diffHex)),
                       blobSize: blobSize, tarSize: tarSize)
    }

    /// What mdlua's own reader (mdl_stream: load, pull, save, import) makes of a blob.
    func readBack(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let s = try XCTUnwrap(mdl_stream_from_fd(fd))
        defer { mdl_stream_free(s) }
        var out: [UInt8] = []
        while true {
            var buf: UnsafeRawPointer?
            let n = mdl_stream_read_plain(s, &buf)
            if n < 0 { throw EngineError(String(cString: mdl_stream_error(s))) }
            if n == 0 { break }
            out += UnsafeRawBufferPointer(start: buf, count: n)
        }
        return out
    }

    /// Runs a shell command; its standard output.
    func run(_ command: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, command)
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Python's zlib, member by member: how many gzip members the file holds and the
    /// SHA-256 of all they decompress to.
    func gzipMembers(_ path: String) throws -> (count: Int, digest: String) {
        let script = """
        import hashlib, sys, zlib
        data = open(sys.argv[1], "rb").read()
        h, n = hashlib.sha256(), 0
        while data:
            d = zlib.decompressobj(31)
            h.update(d.decompress(data))
            assert d.eof, "truncated member"
            data, n = d.unused_data, n + 1
        print(n, h.hexdigest())
        """
        let out = try run("python3 -c '\(script)' '\(path)'").split(separator: " ")
        guard out.count == 2 else { XCTFail("python: \(out)"); return (-1, "") }
        return (Int(out[0]) ?? -1, String(out[1]))
    }

    /// The blob is one member per chunk (the last one partial), and GNU gzip, Python's zlib
    /// and mdlua's reader all give back the same tar bytes.
    func assertReadable(_ w: Written, _ data: [UInt8], members: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(w.diffID, Digest.of(data), "diff ID", file: file, line: line)
        XCTAssertEqual(w.tarSize, UInt64(data.count), file: file, line: line)
        let blob = try FileSystem.readFile(w.path)
        XCTAssertEqual(w.blob, Digest.of(blob), "blob digest", file: file, line: line)
        XCTAssertEqual(w.blobSize, UInt64(blob.count), file: file, line: line)
        XCTAssertEqual(try readBack(w.path), data, "mdl_stream reads every member", file: file, line: line)
        XCTAssertEqual(try run("gzip -dc '\(w.path)' | sha256sum | cut -d' ' -f1"), w.diffID.hex, "gzip -dc", file: file, line: line)
        let py = try gzipMembers(w.path)
        XCTAssertEqual(py.count, members, "members", file: file, line: line)
        XCTAssertEqual(py.digest, w.diffID.hex, "python zlib", file: file, line: line)
    }

    func testStreamOfSeveralChunksAndAPartialOne() throws {
        let data = noise(3 * chunk + 12_345)
        let w = try write(data, piece: 100_003, name: "b.gz")
        try assertReadable(w, data, members: 4)
        XCTAssertLessThan(w.blobSize, UInt64(data.count) + 4096, "stored, not grown")
    }

    func testExactMultipleOfTheChunkHasNoEmptyTrailingMember() throws {
        let data = Array(String(repeating: "layer bytes ", count: 2 * chunk / 12 + 1).utf8.prefix(2 * chunk))
        XCTAssertEqual(data.count, 2 * chunk)
        let w = try write(data, piece: chunk, name: "b.gz")
        try assertReadable(w, data, members: 2)
        XCTAssertLessThan(w.blobSize, 100_000, "text compresses")
    }

    func testEmptyStreamIsOneEmptyMember() throws {
        let w = try write([], piece: 1, name: "b.gz")
        try assertReadable(w, [], members: 1)
        XCTAssertEqual(w.diffID, Digest.of([UInt8]()))
    }

    /// The cut falls at fixed offsets of the tar, however the bytes arrive and whichever
    /// worker compresses which chunk.
    func testSameBytesSameBlobWhateverTheWrites() throws {
        let data = noise(5 * chunk / 2, seed: 7) + [UInt8](repeating: 0, count: chunk)
        let a = try write(data, piece: 7919, name: "a.gz")
        let b = try write(data, piece: data.count, name: "b.gz")
        let c = try write(data, piece: chunk, name: "c.gz")
        XCTAssertEqual(a.blob, b.blob)
        XCTAssertEqual(a.blob, c.blob)
        XCTAssertEqual(try FileSystem.readFile(a.path), try FileSystem.readFile(b.path))
        try assertReadable(a, data, members: 4)
    }

    func testZstdIsOneFramePerChunk() throws {
        let data = noise(2 * chunk + 1, seed: 3)
        let w = try write(data, kind: Int32(MDL_KIND_ZSTD), level: 3, piece: 65_536, name: "b.zst")
        XCTAssertEqual(w.diffID, Digest.of(data))
        XCTAssertEqual(try readBack(w.path), data)
        XCTAssertEqual(try run("zstd -qdc '\(w.path)' | sha256sum | cut -d' ' -f1"), w.diffID.hex)
    }

    func testInvalidLevelIsRefused() {
        XCTAssertNil(mdl_layer_writer_new(-1, Int32(MDL_KIND_GZIP), 13))
        XCTAssertNil(mdl_layer_writer_new(-1, Int32(MDL_KIND_TAR), 1))
    }

    func testWriteErrorIsReported() throws {
        let fd = open("/dev/full", O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let w = try XCTUnwrap(mdl_layer_writer_new(fd, Int32(MDL_KIND_GZIP), 1))
        defer { mdl_layer_writer_free(w) }
        let data = noise(4 * chunk)
        var failed = false
        data.withUnsafeBytes { buf in
            for off in stride(from: 0, to: buf.count, by: chunk) where !failed {
                failed = mdl_layer_writer_write(w, buf.baseAddress! + off, chunk) != 0
            }
        }
        var blobHex = [CChar](repeating: 0, count: 65), diffHex = [CChar](repeating: 0, count: 65)
        var blobSize: UInt64 = 0, tarSize: UInt64 = 0
        if !failed { failed = mdl_layer_writer_finish(w, &blobHex, &diffHex, &blobSize, &tarSize) != 0 }
        XCTAssertTrue(failed)
        XCTAssertTrue(String(cString: mdl_layer_writer_error(w)).contains("writing the blob"),
                      String(cString: mdl_layer_writer_error(w)))
    }

    /// A gzip file that another tool made of two members (two halves of one tar, gzipped
    /// apart and concatenated) is read to its end: every entry of the second half is there.
    func testForeignMultiMemberLayerIsUnpackedWhole() throws {
        var entries: [Entry] = []
        for i in 0..<40 { entries.append(.file("f\(i)", String(repeating: "\(i)", count: 3000))) }
        let tar = try scratch.tar(entries, name: "two.tar")
        let bytes = try FileSystem.readFile(tar)
        let half = bytes.count / 2
        try FileSystem.writeNewFile(scratch.file("p1"), Array(bytes[..<half]))
        try FileSystem.writeNewFile(scratch.file("p2"), Array(bytes[half...]))
        _ = try run("cd '\(scratch.path)' && gzip -n p1 p2 && cat p1.gz p2.gz > two.tar.gz")
        let staged = try XCTUnwrap(try unpack(scratch.file("two.tar.gz"), into: scratch.file("staged")))
        XCTAssertEqual(staged.diffID, Digest.of(bytes))
        XCTAssertEqual(staged.kind, Int32(MDL_KIND_GZIP))
        XCTAssertEqual(FileSystem.list(staged.diffDir).count, 40)
        XCTAssertEqual(try String(contentsOfFile: staged.diffDir + "/f39", encoding: .utf8), String(repeating: "39", count: 3000))
    }

    // Layers made from directories (LayerCreator): what `layer create`, `commit` and every
    // build step write.

    func makeTree(_ name: String, files: [(String, [UInt8])]) throws -> String {
        let tree = scratch.file(name)
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        for (path, data) in files {
            let p = tree + "/" + path
            try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileSystem.writeNewFile(p, data)
            var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]
            utimensat(AT_FDCWD, p, &times, 0)
        }
        return tree
    }

    /// The created layer read back: mdlua's unpacker and GNU tar give the tree `diff/` holds.
    func assertLayerReadsBack(_ layer: Layer, in store: Store, members: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let blob = store.blobs.dir + "/" + layer.blob.hex
        let diff = store.layers.diffPath(layer.diffID)
        XCTAssertEqual(try run("gzip -t '\(blob)' && echo ok"), "ok", file: file, line: line)
        XCTAssertEqual(try gzipMembers(blob).count, members, "members", file: file, line: line)
        let staged = try XCTUnwrap(try unpack(blob, into: scratch.file("unpacked-\(layer.diffID.short)")), file: file, line: line)
        XCTAssertEqual(staged.diffID, layer.diffID, file: file, line: line)
        XCTAssertEqual(staged.blob, layer.blob, file: file, line: line)
        XCTAssertEqual(scratch.listing(staged.diffDir), scratch.listing(diff), "mdlua's unpacker", file: file, line: line)
        let byTar = scratch.file("tar-\(layer.diffID.short)")
        _ = try run("mkdir '\(byTar)' && tar -xzf '\(blob)' -C '\(byTar)' --numeric-owner")
        XCTAssertEqual(scratch.listing(byTar), scratch.listing(diff), "GNU tar", file: file, line: line)
    }

    func testEmptyTree() throws {
        let store = Store(root: scratch.file("root"))
        let tree = try makeTree("empty", files: [])
        let layer = try LayerCreator.create(in: store, from: tree, comment: "")
        XCTAssertEqual(layer.tarSize, 1024, "the end-of-archive blocks")
        XCTAssertEqual(try run("tar -tzf '\(store.blobs.dir)/\(layer.blob.hex)' | wc -l"), "0")
        try assertLayerReadsBack(layer, in: store, members: 1)
    }

    func testFileLargerThanAChunk() throws {
        let store = Store(root: scratch.file("root"))
        let tree = try makeTree("big", files: [("a/small", Array("small".utf8)), ("a/big", noise(3 * chunk + 100)),
                                               ("z", Array("after the big one".utf8))])
        let layer = try LayerCreator.create(in: store, from: tree, comment: "")
        XCTAssertGreaterThan(layer.tarSize, UInt64(3 * chunk))
        try assertLayerReadsBack(layer, in: store, members: 4)
        XCTAssertEqual(scratch.listing(store.layers.diffPath(layer.diffID)), scratch.listing(tree))
    }

    /// One file of 2 MiB - 1536 bytes: its header, its data and the two end blocks make a
    /// tar of exactly two chunks.
    func testTarOfExactlyTwoChunks() throws {
        let store = Store(root: scratch.file("root"))
        let tree = try makeTree("exact", files: [("f", noise(2 * chunk - 1536))])
        let layer = try LayerCreator.create(in: store, from: tree, comment: "")
        XCTAssertEqual(layer.tarSize, UInt64(2 * chunk))
        try assertLayerReadsBack(layer, in: store, members: 2)
    }

    /// The same tree in two stores: the same blob, byte for byte (reproducible builds).
    func testSameTreeSameDigests() throws {
        let tree = try makeTree("same", files: (0..<50).map { ("d\($0 % 5)/f\($0)", noise(40_000, seed: UInt64($0))) })
        let a = Store(root: scratch.file("a")), b = Store(root: scratch.file("b"))
        let la = try LayerCreator.create(in: a, from: tree, comment: "")
        let lb = try LayerCreator.create(in: b, from: tree, comment: "")
        XCTAssertEqual(la.blob, lb.blob)
        XCTAssertEqual(la.diffID, lb.diffID)
        XCTAssertEqual(try FileSystem.readFile(a.blobs.dir + "/" + la.blob.hex), try FileSystem.readFile(b.blobs.dir + "/" + lb.blob.hex))
        try assertLayerReadsBack(la, in: a, members: Int((la.tarSize + UInt64(chunk) - 1) / UInt64(chunk)))
    }
}
