#if canImport(Glibc)
import Glibc
#endif
import MDCore
import NIOConcurrencyHelpers

/// What a pull shows, as Docker shows it: one line per layer (its short digest and what
/// is happening to it, with bytes and a bar while it downloads). On a terminal the lines
/// are rewritten in place; otherwise a line is printed when a layer's state changes.
/// Quiet prints nothing. Called from several threads.
public final class PullProgress {
    public enum Mode { case quiet, plain, terminal }

    let mode: Mode
    let fd: Int32
    private let lock = NIOLock()
    private var ids: [String] = []
    private var lines: [String: String] = [:]
    private var drawn = 0
    private var lastDraw: UInt64 = 0

    public init(mode: Mode, fd: Int32 = 1) { self.mode = mode; self.fd = fd }

    /// A line of its own (the header, the digest, the status).
    public func say(_ text: String) {
        guard mode != .quiet else { return }
        lock.withLock {
            emit(text + "\n")
            if mode == .terminal { drawn = 0; ids = [] ; lines = [:] }
        }
    }

    /// A layer's state ("Waiting", "Pull complete", ...).
    public func layer(_ id: String, _ state: String) { update(id, state, force: true) }

    /// A layer's bytes so far.
    public func downloading(_ id: String, _ done: Int64, of total: Int64) {
        guard mode == .terminal else { return }
        let width = 50
        let filled = total > 0 ? Int(Int64(width) * done / total) : 0
        let bar = "[" + String(repeating: "=", count: max(0, filled - 1)) + (filled > 0 ? ">" : "")
            + String(repeating: " ", count: width - max(filled, 0)) + "]"
        update(id, "Downloading " + bar + " " + PullProgress.size(done) + "/" + PullProgress.size(total), force: false)
    }

    func update(_ id: String, _ state: String, force: Bool) {
        guard mode != .quiet else { return }
        lock.withLock {
            switch mode {
            case .plain:
                if lines[id] != state { emit(id + ": " + state + "\n") }
                lines[id] = state
            case .terminal:
                if lines[id] == nil { ids.append(id) }
                lines[id] = state
                // At most 20 redraws a second.
                let now = PullProgress.millis()
                if force || now - lastDraw >= 50 { redraw(); lastDraw = now }
            case .quiet:
                break
            }
        }
    }

    private func redraw() {
        var out = drawn > 0 ? "\u{1b}[\(drawn)A" : ""
        for id in ids { out += "\r\u{1b}[2K" + id + ": " + (lines[id] ?? "") + "\n" }
        drawn = ids.count
        emit(out)
    }

    private func emit(_ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
            off += n
        }
    }

    static func millis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    /// Docker's sizes: 1.2MB, 512kB, 10B (decimal units).
    public static func size(_ n: Int64) -> String {
        let d = Double(n)
        if d >= 1e9 { return fmt(d / 1e9) + "GB" }
        if d >= 1e6 { return fmt(d / 1e6) + "MB" }
        if d >= 1e3 { return fmt(d / 1e3) + "kB" }
        return "\(n)B"
    }

    static func fmt(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
