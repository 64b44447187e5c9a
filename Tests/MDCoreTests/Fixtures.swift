import Foundation
import XCTest
import CKernel
import CStream
@testable import MDCore

/// A tar entry for tests: anything a hostile archive could hold.
struct Entry {
    var header: TarWriter.Header
    var data: [UInt8] = []

    static func file(_ name: String, _ text: String = "", mode: UInt32 = 0o644) -> Entry {
        var h = TarWriter.Header(name: name)
        h.mode = mode
        h.size = UInt64(text.utf8.count)
        return Entry(header: h, data: Array(text.utf8))
    }
    static func dir(_ name: String, mode: UInt32 = 0o755) -> Entry {
        var h = TarWriter.Header(name: name)
        h.type = FileType.directory
        h.mode = mode
        return Entry(header: h)
    }
    static func symlink(_ name: String, to target: String) -> Entry {
        var h = TarWriter.Header(name: name)
        h.type = FileType.symlink
        h.linkName = target
        h.mode = 0o777
        return Entry(header: h)
    }
    static func hardlink(_ name: String, to target: String) -> Entry {
        var h = TarWriter.Header(name: name)
        h.isHardlink = true
        h.linkName = target
        return Entry(header: h)
    }
    static func device(_ name: String, type: UInt32, major: UInt32, minor: UInt32) -> Entry {
        var h = TarWriter.Header(name: name)
        h.type = type
        h.devMajor = major
        h.devMinor = minor
        return Entry(header: h)
    }
}

/// A scratch directory with a sentinel sibling, so a test can prove nothing escaped.
final class Scratch {
    let path: String

    /// Removed when the test ends (XCTest keeps test objects alive until the process exits).
    init(for test: XCTestCase? = nil) throws {
        path = NSTemporaryDirectory() + "mdlua-core-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let p = path
        test?.addTeardownBlock { try? FileSystem.removeTree(p) }
    }

    deinit { try? FileSystem.removeTree(path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// Writes a tar of `entries` to a file and returns its path.
    func tar(_ entries: [Entry], name: String = "layer.tar", gzip: Bool = false) throws -> String {
        let p = file(name)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0)
        let w = TarWriter(fd: fd, what: "fixture")
        for e in entries {
            try w.append(e.header) { sink in try e.data.withUnsafeBytes { try sink($0) } }
        }
        try w.finish()
        close(fd)
        if gzip {
            XCTAssertEqual(system("gzip -n -f \(p)"), 0)
            try FileManager.default.moveItem(atPath: p + ".gz", toPath: p)
        }
        return p
    }

    /// Every path below `dir`, with a short description of what it is.
    func listing(_ dir: String) -> [String: String] {
        var out: [String: String] = [:]
        guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
        while let rel = e.nextObject() as? String {
            var st = stat()
            lstat(dir + "/" + rel, &st)
            let type = UInt32(st.st_mode) & FileType.mask
            var desc = "mode=\(String(UInt32(st.st_mode) & 0o7777, radix: 8)) uid=\(st.st_uid) gid=\(st.st_gid)"
            switch type {
            case FileType.regular:
                let data = (try? FileSystem.readFile(dir + "/" + rel)) ?? []
                desc += " file size=\(st.st_size) mtime=\(st.st_mtim.tv_sec) sha=\(Digest.of(data).short) blocks=\(st.st_blocks > 0)"
                if st.st_nlink > 1 { desc += " nlink=\(st.st_nlink)" }
            case FileType.directory: desc += " dir"
            case FileType.symlink: desc += " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + rel)) ?? "?")
            case FileType.character: desc += " chr \(mdl_major(st.st_rdev)),\(mdl_minor(st.st_rdev))"
            case FileType.fifo: desc += " fifo"
            default: desc += " other"
            }
            out[rel] = desc
        }
        return out
    }
}

func system(_ command: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    try? p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// Unpacks a tar file into a new directory with the layer machinery.
func unpack(_ tarPath: String, into dir: String) throws -> StagedLayer? {
    let fd = open(tarPath, O_RDONLY)
    precondition(fd >= 0)
    defer { close(fd) }
    let s = mdl_stream_from_fd(fd)!
    defer { mdl_stream_free(s) }
    return try StagedLayer.stage(s, into: dir, what: "test layer")
}
