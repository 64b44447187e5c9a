#if canImport(Glibc)
import Glibc
#endif

/// A container's log: Docker's json-file format, one JSON object a line
/// (`{"log":"hi\n","stream":"stdout","time":"..."}`), stdout and stderr in the order they
/// came, rotated at `maxSize` bytes keeping `maxFiles` files (container.log, .1, .2 ...).
/// The reader is `log_files` and the log reader in stdlib/mdlua/container.lua;
/// Tests/CLITests/LogTests.swift checks that it reads back every file this writes.
public final class LogWriter {
    let path: String
    let maxSize: Int
    let maxFiles: Int
    var fd: Int32
    var size: Int
    var partial: [String: [UInt8]] = ["stdout": [], "stderr": []]

    public init(path: String, maxSize: Int, maxFiles: Int) throws {
        self.path = path
        self.maxSize = max(maxSize, 1024)
        self.maxFiles = max(maxFiles, 1)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw EngineError.system("open \(path)") }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
    }

    deinit { flush(); close(fd) }

    /// Bytes from a stream; complete lines are written at once, a partial line waits (up
    /// to 16 KiB) for its end.
    public func write(_ bytes: UnsafeRawBufferPointer, stream: String) {
        var pending = partial[stream] ?? []
        for b in bytes {
            pending.append(b)
            if b == 0x0a || pending.count >= 16384 {
                emit(pending, stream: stream)
                pending.removeAll(keepingCapacity: true)
            }
        }
        partial[stream] = pending
    }

    public func flush() {
        for (stream, pending) in partial where !pending.isEmpty { emit(pending, stream: stream) }
        partial = ["stdout": [], "stderr": []]
    }

    func emit(_ line: [UInt8], stream: String) {
        var text = ""
        JSON.quote(String(decoding: line, as: UTF8.self), into: &text)
        let record = Array("{\"log\":\(text),\"stream\":\"\(stream)\",\"time\":\"\(Clock.now())\"}\n".utf8)
        if size + record.count > maxSize && size > 0 { rotate() }
        record.withUnsafeBytes { try? FileSystem.writeAll(fd, $0, what: path) }
        size += record.count
    }

    func rotate() {
        close(fd)
        if maxFiles == 1 {
            truncate(path, 0)
        } else {
            unlink(path + ".\(maxFiles - 1)")
            for i in stride(from: maxFiles - 2, through: 1, by: -1) { rename(path + ".\(i)", path + ".\(i + 1)") }
            rename(path, path + ".1")
        }
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        size = 0
    }
}
