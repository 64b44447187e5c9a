#if canImport(Glibc)
import Glibc
#endif

/// Phase timings on stderr when `MDLUA_TRACE` is set: `+3.214 ms cgroup created`. For finding
/// where a command spends its time without strace's overhead.
public enum Trace {
    public static let enabled = getenv("MDLUA_TRACE") != nil
    static let start: Double = now()

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
    }

    /// Milliseconds since this process started (its /proc start time is only in clock ticks,
    /// so the first mark, at the top of main, is the origin).
    public static func mark(_ label: @autoclosure () -> String) {
        guard enabled else { return }
        let line = "+" + String(Int((now() - start) * 1000)) + " us " + label() + "\n"
        fputs(line, stderr)
    }
}
