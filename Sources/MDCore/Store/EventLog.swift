#if canImport(Glibc)
import Glibc
#endif

/// What happened to containers and images, for `mdlua events`: ROOT/events.log, one JSON
/// object a line in Docker's event shape
/// (`{"Type":"container","Action":"die","Actor":{"ID":..,"Attributes":{..}},"time":..,"timeNano":..}`).
/// Appended with O_APPEND (one write per event, so writers never interleave); at 1 MiB the
/// file moves to events.log.1, so it never grows without bound.
public struct EventLog {
    public let path: String
    static let maxSize = 1 << 20

    public init(root: String) { path = root + "/events.log" }

    public func record(_ type: String, _ action: String, id: String, attributes: [String: String] = [:]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let nanos = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        var attrs: [String: JSON] = [:]
        for (k, v) in attributes { attrs[k] = .string(v) }
        let event = JSON.object(["Type": .string(type), "Action": .string(action),
                                 "Actor": .object(["ID": .string(id), "Attributes": .object(attrs)]),
                                 "scope": .string("local"), "time": .int(Int64(ts.tv_sec)), "timeNano": .int(nanos)])
        let line = Array((event.serialized() + "\n").utf8)
        func openLog() -> Int32 { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }
        var fd = openLog()
        guard fd >= 0 else { return }   // an event is not worth failing the operation for
        var st = stat()
        if fstat(fd, &st) == 0 && Int(st.st_size) >= EventLog.maxSize, let lock = try? FileLock(path: path + ".lock") {
            // Under the lock, the first writer to see it full moves it; the others find the
            // new file.
            if stat(path, &st) == 0 && Int(st.st_size) >= EventLog.maxSize { rename(path, path + ".1") }
            close(fd)
            fd = openLog()
            withExtendedLifetime(lock) {}
            guard fd >= 0 else { return }
        }
        defer { close(fd) }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
