#if canImport(Glibc)
import Glibc
#endif

/// Phase timings on stderr when `MDLUA_TRACE` is set: `+3.214 ms cgroup created`. For finding
/// where a command spends its time without strace's overhead.
public enum Trace {
    public static let enabled = getenv("MDLUA_TRACE") != nil
    /// A program mdlua starts (the registry helper) counts from mdlua's own origin, which
    /// it finds in MDLUA_TRACE_ORIGIN (milliseconds of CLOCK_MONOTONIC): one time line.
    static let start: Double = getenv("MDLUA_TRACE_ORIGIN").flatMap { Double(String(cString: $0)) } ?? now()

    /// Hands this process's origin to the programs it starts next (only when tracing).
    public static func exportOrigin() {
        guard enabled else { return }
        setenv("MDLUA_TRACE_ORIGIN", String(start), 1)
    }

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
