#if canImport(Glibc)
import Glibc
#endif

/// Facts about a process from /proc.
public enum ProcessInfoReader {
    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or 0.
    public static func startTime(_ pid: Int32) -> UInt64 {
        guard let bytes = try? FileSystem.readFile("/proc/\(pid)/stat") else { return 0 }
        let text = String(decoding: bytes, as: UTF8.self)
        // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) ?? 0 : 0
    }
}
