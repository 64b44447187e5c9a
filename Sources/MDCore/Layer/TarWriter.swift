#if canImport(Glibc)
import Glibc
#endif
import CStream

/// Writes a POSIX (pax) tar stream to a file descriptor, hashing every byte it writes, so
/// the digest of a layer or an archive is known the moment it is written; or into a layer
/// blob writer (`mdl_layer_writer.h`), which hashes and compresses it on its own thread.
public final class TarWriter {
    public struct Header {
        public var name: String
        public var type: UInt32 = FileType.regular
        public var mode: UInt32 = 0o644
        public var uid: UInt32 = 0
        public var gid: UInt32 = 0
        public var size: UInt64 = 0
        public var mtime: Int64 = 0
        public var linkName: String = ""
        public var devMajor: UInt32 = 0
        public var devMinor: UInt32 = 0
        public var xattrs: [(String, [UInt8])] = []
        public var isHardlink = false

        public init(name: String) { self.name = name }
    }

    let fd: Int32
    let layer: OpaquePointer?
    var buffer: [UInt8] = []
    var hash = SHA256()
    public private(set) var written: UInt64 = 0
    let what: String

    public init(fd: Int32, what: String) {
        self.fd = fd
        self.layer = nil
        self.what = what
        buffer.reserveCapacity(1 << 20)
    }

    /// Into a layer writer, which owns the hashing: `finish` then returns no digest of its own.
    public init(layer: OpaquePointer, what: String) {
        self.fd = -1
        self.layer = layer
        self.what = what
        buffer.reserveCapacity(1 << 20)
    }

    func emit(_ bytes: UnsafeRawBufferPointer) throws {
        if layer == nil { hash.update(bytes) }
        written += UInt64(bytes.count)
        if buffer.count + bytes.count > (1 << 20) { try flush() }
        if bytes.count >= (1 << 20) {
            try output(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func emit(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try emit($0) } }

    func output(_ bytes: UnsafeRawBufferPointer) throws {
        if let layer {
            guard mdl_layer_writer_write(layer, bytes.baseAddress, bytes.count) == 0 else {
                throw EngineError("\(what): \(String(cString: mdl_layer_writer_error(layer)))")
            }
        } else {
            try FileSystem.writeAll(fd, bytes, what: what)
        }
    }

    func flush() throws {
        try buffer.withUnsafeBytes { try output($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    func pad(_ size: UInt64) throws {
        let rem = Int(size % 512)
        if rem != 0 { try emit([UInt8](repeating: 0, count: 512 - rem)) }
    }

    /// Appends an entry; for a regular file (not a hardlink) the data comes from `data`,
    /// which must produce exactly `header.size` bytes.
    public func append(_ header: Header, data: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void = { _ in }) throws {
        var pax: [(String, [UInt8])] = []
        let nameBytes = Array(header.name.utf8)
        let linkBytes = Array(header.linkName.utf8)
        if nameBytes.count > 100 || !header.name.utf8.allSatisfy({ $0 < 0x80 }) { pax.append(("path", nameBytes)) }
        if linkBytes.count > 100 || !header.linkName.utf8.allSatisfy({ $0 < 0x80 }) { pax.append(("linkpath", linkBytes)) }
        if header.size > 0o77777777777 { pax.append(("size", Array(String(header.size).utf8))) }
        if header.uid > 0o7777777 { pax.append(("uid", Array(String(header.uid).utf8))) }
        if header.gid > 0o7777777 { pax.append(("gid", Array(String(header.gid).utf8))) }
        if header.mtime < 0 || header.mtime > 0o77777777777 { pax.append(("mtime", Array(String(header.mtime).utf8))) }
        for (k, v) in header.xattrs { pax.append(("SCHILY.xattr." + k, v)) }
        if !pax.isEmpty {
            var body: [UInt8] = []
            for (k, v) in pax {
                // "LEN KEY=VALUE\n", where LEN counts itself.
                let rest = 1 + k.utf8.count + 1 + v.count + 1
                var len = rest + String(rest).count
                if String(len).count != String(rest).count { len = rest + String(len).count }
                body += Array(String(len).utf8) + [0x20] + Array(k.utf8) + [0x3d] + v + [0x0a]
            }
            var h = Header(name: "PaxHeaders/" + String(header.name.suffix(80)))
            h.size = UInt64(body.count)
            try emitHeader(h, typeflag: UInt8(ascii: "x"))
            try emit(body)
            try pad(UInt64(body.count))
        }
        let typeflag: UInt8
        var size = header.size
        if header.isHardlink { typeflag = UInt8(ascii: "1"); size = 0 }
        else {
            switch header.type {
            case FileType.directory: typeflag = UInt8(ascii: "5"); size = 0
            case FileType.symlink: typeflag = UInt8(ascii: "2"); size = 0
            case FileType.character: typeflag = UInt8(ascii: "3"); size = 0
            case FileType.block: typeflag = UInt8(ascii: "4"); size = 0
            case FileType.fifo: typeflag = UInt8(ascii: "6"); size = 0
            default: typeflag = UInt8(ascii: "0")
            }
        }
        var h = header
        h.size = size
        try emitHeader(h, typeflag: typeflag)
        if size > 0 {
            var produced: UInt64 = 0
            try data { chunk in
                produced += UInt64(chunk.count)
                guard produced <= size else { throw EngineError("\(what): \(header.name) grew while being archived") }
                try emit(chunk)
            }
            guard produced == size else { throw EngineError("\(what): \(header.name) changed size while being archived") }
            try pad(size)
        }
    }

    func emitHeader(_ h: Header, typeflag: UInt8) throws {
        var b = [UInt8](repeating: 0, count: 512)
        func put(_ s: [UInt8], _ off: Int, _ len: Int) {
            for (i, c) in s.prefix(len).enumerated() { b[off + i] = c }
        }
        func octal(_ v: UInt64, _ off: Int, _ len: Int) {
            let capped = min(v, (UInt64(1) << (3 * UInt64(len - 1))) - 1)
            var s = String(capped, radix: 8)
            s = String(repeating: "0", count: max(0, len - 1 - s.count)) + s
            put(Array(s.utf8), off, len - 1)
        }
        put(Array(h.name.utf8), 0, 100)
        octal(UInt64(h.mode & 0o7777), 100, 8)
        octal(UInt64(h.uid), 108, 8)
        octal(UInt64(h.gid), 116, 8)
        octal(h.size, 124, 12)
        octal(UInt64(max(0, h.mtime)), 136, 12)
        b[156] = typeflag
        put(Array(h.linkName.utf8), 157, 100)
        put(Array("ustar\0".utf8), 257, 6)
        put(Array("00".utf8), 263, 2)
        if h.type == FileType.character || h.type == FileType.block {
            octal(UInt64(h.devMajor), 329, 8)
            octal(UInt64(h.devMinor), 337, 8)
        }
        for i in 148..<156 { b[i] = 0x20 }
        let sum = b.reduce(0) { $0 + UInt64($1) }
        var s = String(sum, radix: 8)
        s = String(repeating: "0", count: max(0, 6 - s.count)) + s
        put(Array(s.utf8), 148, 6)
        b[154] = 0
        b[155] = 0x20
        try emit(b)
    }

    /// Writes the end-of-archive marker and flushes. Returns the digest of all bytes written.
    @discardableResult
    public func finish() throws -> Digest {
        try emit([UInt8](repeating: 0, count: 1024))
        try flush()
        return hash.finish()
    }
}
