#if canImport(Glibc)
import Glibc
#endif
import MDCore
import NIOHTTP1

/// A download sink that can be resumed: the bytes so far are in a file, and a request
/// with `Range: bytes=OFFSET-` continues it.
protocol ResumableSink: BodySink {
    var offset: Int64 { get }
}

/// One blob downloading into `ROOT/partial/<hex>`, hashed and counted as it is written:
/// more bytes than the descriptor's size stop it at once; at the end, the digest and
/// size must be the descriptor's, or the file is deleted and the blob refused. The file
/// is kept across an interrupted pull (Ctrl-C, `kill -9`, a dropped connection), and
/// the next attempt, in this process or a later one, re-hashes what is there and asks
/// only for the rest. A registry that answers a range request with the whole blob
/// (200) restarts it.
final class BlobDownload: ResumableSink {
    let descriptor: Descriptor
    let path: String
    let source: String
    let fd: Int32
    private(set) var offset: Int64 = 0
    private var hash = SHA256()
    /// Where the write-back started so far reaches: every MiB that arrives is sent on its
    /// way to disk at once (FileSystem.startWriteback), so that the pull's one sync before
    /// publishing (Store.syncStaged) finds little left to write.
    private var writebackFrom: Int64 = 0
    static let writebackStep: Int64 = 1 << 20
    /// Called with the bytes written so far, from the client's thread.
    var progress: ((Int64) -> Void)?
    /// The lock that keeps a second pull of the same blob from writing the same file.
    let lock: FileLock
    /// A pipe that gets every byte too, in order, from the first (an unpacking of the
    /// download as it arrives, ImagePuller), or -1. A resumed download keeps it; one that
    /// starts over, or a failed write to it, closes it and clears `teeWhole`.
    private var tee: Int32 = -1
    private(set) var teeWhole = false

    init(_ descriptor: Descriptor, directory: String, source: String) throws {
        self.descriptor = descriptor
        self.source = source
        try FileSystem.makeDirectories(directory, mode: 0o700)
        var path = directory + "/" + descriptor.digest.hex
        if FileLock.attempt(path: path + ".lock") == nil && FileSystem.exists(path + ".lock") {
            // Another pull has it: download a private copy rather than wait.
            path += "-\(getpid())"
        }
        self.path = path
        lock = try FileLock(path: path + ".lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError.system("create \(path)") }
        // What an earlier attempt left: hashed again, kept only while it can be a prefix.
        var st = stat()
        fstat(fd, &st)
        if Int64(st.st_size) > descriptor.size {
            ftruncate(fd, 0)
        } else if st.st_size > 0 {
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            var at: Int64 = 0
            while at < Int64(st.st_size) {
                let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(at)) }
                if n <= 0 { break }
                buf.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                at += Int64(n)
            }
            offset = at
            ftruncate(fd, off_t(at))
        }
    }

    deinit {
        close(fd)
        if tee >= 0 { close(tee) }
    }

    /// Copies every byte to `fd` (which this download closes) from now on; only from the
    /// first byte.
    func teeing(to fd: Int32) {
        precondition(offset == 0)
        tee = fd
        teeWhole = true
    }

    /// Closes the tee: the reader sees its end. Whole or not, it says no more.
    func endTee(whole: Bool) {
        if tee >= 0 { close(tee); tee = -1 }
        if !whole { teeWhole = false }
    }

    var complete: Bool { offset == descriptor.size }

    func begin(status: Int, headers: HTTPHeaders) throws -> Bool {
        switch status {
        case 206:
            // The range must start where we are.
            let range = headers.first(name: "Content-Range") ?? ""
            if !range.hasPrefix("bytes \(offset)-") { restart() }
            return true
        case 200:
            if offset > 0 { restart() }
            return true
        default:
            return false
        }
    }

    func restart() {
        if offset > 0 { endTee(whole: false) }
        ftruncate(fd, 0)
        offset = 0
        writebackFrom = 0
        hash = SHA256()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard offset + Int64(bytes.count) <= descriptor.size else {
            throw EngineError("\(source): blob \(descriptor.digest) is larger than its descriptor's \(descriptor.size) bytes")
        }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 { if errno == EINTR { continue }; throw EngineError.system("write \(path)") }
            done += n
        }
        hash.update(bytes)
        if tee >= 0 {
            var sent = 0
            while sent < bytes.count {
                let n = Glibc.write(tee, bytes.baseAddress! + sent, bytes.count - sent)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { endTee(whole: false); break }   // the unpacking stopped: the file is read after
                sent += n
            }
        }
        offset += Int64(bytes.count)
        if offset - writebackFrom >= BlobDownload.writebackStep || offset == descriptor.size {
            FileSystem.startWriteback(fd, offset: writebackFrom, length: offset - writebackFrom)
            writebackFrom = offset
        }
        progress?(offset)
    }

    /// The whole blob is here and is what the descriptor says; otherwise the file goes.
    func verify() throws {
        guard offset == descriptor.size else {
            throw EngineError("\(source): blob \(descriptor.digest) ended after \(offset) of \(descriptor.size) bytes")
        }
        let actual = hash.finish()
        guard actual == descriptor.digest else {
            discard()
            throw EngineError("\(source): blob \(descriptor.digest) does not match its digest (content is \(actual))")
        }
    }

    func discard() {
        unlink(path)
        unlink(path + ".lock")
    }
}
