#if canImport(Glibc)
import Glibc
#endif

/// Facts about a process from /proc.
public enum ProcessInfoReader {
    /// Whether the process exists and is not a zombie (a dead child nobody reaped yet).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, let bytes = try? FileSystem.readFile("/proc/\(pid)/stat") else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        let state = text[text.index(after: close)...].split(separator: " ").first ?? "X"
        return state != "Z" && state != "X"
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or 0 for a
    /// process that is gone or a zombie.
    public static func startTime(_ pid: Int32) -> UInt64 {
        guard let bytes = try? FileSystem.readFile("/proc/\(pid)/stat") else { return 0 }
        let text = String(decoding: bytes, as: UTF8.self)
        // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return 0 }
        return UInt64(fields[19]) ?? 0
    }
}
