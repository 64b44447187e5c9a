#if canImport(Glibc)
import Glibc
#endif

public enum Clock {
    /// Now as RFC 3339 in UTC with nanoseconds, as Docker writes `Created`.
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return rfc3339(seconds: ts.tv_sec, nanoseconds: ts.tv_nsec)
    }

    public static func rfc3339(seconds: Int, nanoseconds: Int = 0) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var s = "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))"
        if nanoseconds > 0 {
            let n = String(nanoseconds)
            s += "." + String(repeating: "0", count: 9 - n.count) + n
        }
        return s + "Z"
    }
}
