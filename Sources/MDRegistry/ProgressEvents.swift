#if canImport(Glibc)
import Glibc
#endif
import MDCore
import NIOConcurrencyHelpers

/// What a pull or push is doing, as events, one JSON object a line on a file descriptor
/// (fd 4 of the helper, read by mdlua: Sources/MDCore/Registry/RegistryHelper.swift):
/// `{"status": "Digest: sha256:..."}` for a line of its own, `{"id": SHORT, "status":
/// "Pull complete"}` for a layer's state, and while it downloads `{"id": SHORT, "status":
/// "Downloading", "current": BYTES, "total": BYTES}`, at most 10 a second per layer and
/// always at the end (`"Pushing"` with bytes after each chunk of a chunked upload). The fields are Docker's JSON progress stream's. The drawing (Docker's
/// lines on a terminal, plain lines, nothing) is stdlib/mdlua/pull_progress.lua's, from the
/// same events a Lua `progress` function gets. Called from several threads.
public final class ProgressEvents {
    let fd: Int32
    private let lock = NIOLock()
    private var lastBytes: [String: UInt64] = [:]

    /// Events to `fd`, or none when it is -1.
    public init(fd: Int32 = -1) { self.fd = fd }

    /// A line of its own (the header, the digest, the status).
    public func say(_ text: String) { emit(["status": .string(text)]) }

    /// A layer's state ("Waiting", "Pull complete", ...).
    public func layer(_ id: String, _ state: String) {
        emit(["id": .string(id), "status": .string(state)])
    }

    /// A layer's bytes so far, downloading: at most 10 events a second, and the last.
    public func downloading(_ id: String, _ done: Int64, of total: Int64) {
        guard fd >= 0 else { return }
        let now = ProgressEvents.millis()
        let due: Bool = lock.withLock {
            if done < total, let last = lastBytes[id], now - last < 100 { return false }
            lastBytes[id] = now
            return true
        }
        if due { transferred(id, "Downloading", done, of: total) }
    }

    /// A layer's bytes so far, going in `direction` ("Downloading", "Pushing"), each time.
    public func transferred(_ id: String, _ direction: String, _ done: Int64, of total: Int64) {
        emit(["id": .string(id), "status": .string(direction), "current": .int(done), "total": .int(total)])
    }

    private func emit(_ event: [String: JSON]) {
        guard fd >= 0 else { return }
        // One write per line: a pipe keeps lines under PIPE_BUF whole between threads.
        let bytes = Array((JSON.object(event).serialized() + "\n").utf8)
        lock.withLock {
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                off += n
            }
        }
    }

    static func millis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}
