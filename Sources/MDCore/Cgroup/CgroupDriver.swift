#if canImport(Glibc)
import Glibc
#endif

/// A container's cgroup, on whichever hierarchy the host has. Only cgroups the engine made
/// are ever written or removed: `<parent>/<id>` under each hierarchy, `parent` being "mdlua"
/// unless --cgroup-parent says otherwise.
public protocol CgroupDriver {
    /// Creates the cgroup(s) and writes the limits.
    func create(_ r: CgroupResources) throws
    /// What the container's process needs to enter the cgroup(s) by itself.
    func join() throws -> CgroupJoin
    func update(_ r: CgroupResources) throws
    func freeze(_ frozen: Bool) throws
    func stats() -> CgroupStats
    /// How many times the kernel's OOM killer struck in the cgroup (one file read).
    func oomKills() -> UInt64
    /// Removes the container's cgroup(s) (empty by then). The parent stays, as Docker's
    /// `docker` cgroup does: an empty directory costs nothing, and making it anew on every run
    /// would cost more than the container's own cgroup.
    func remove()
}

public struct CgroupStats: Equatable {
    public var cpuUsageNanoseconds: UInt64 = 0
    public var memoryUsage: UInt64 = 0
    public var memoryLimit: UInt64 = 0
    public var pids: UInt64 = 0
    public var oomKills: UInt64 = 0
    public var blockRead: UInt64 = 0
    public var blockWrite: UInt64 = 0
}

public enum Cgroups {
    /// The driver for a container on this host (or on a given layout, for tests).
    public static func driver(parent: String, id: String, layout: CgroupLayout = .current()) -> CgroupDriver {
        switch layout {
        case .v1(let controllers, _): return CgroupV1Driver(controllers: controllers, parent: parent, id: id)
        case .v2(let mount): return CgroupV2Driver(mount: mount, parent: parent, id: id)
        }
    }

    static func write(_ path: String, _ value: String) throws { try write(path, [value]) }

    /// Writes each value with its own write(), through one open file (a cgroup file takes
    /// one value a write).
    static func write(_ path: String, _ values: [String]) throws {
        let (code, value) = attempt(path, values)
        guard code == 0 else {
            throw EngineError.system(value.map { "write \($0) to \(path)" } ?? "open \(path)", code)
        }
    }

    /// The writes of `write`; 0, or the errno of the call that failed and the value it was
    /// writing (nil: the open failed).
    static func attempt(_ path: String, _ values: [String]) -> (Int32, String?) {
        // O_TRUNC is a no-op on cgroupfs, and keeps a plain file (tests) exact.
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { return (errno, nil) }
        defer { close(fd) }
        for value in values {
            let bytes = Array(value.utf8)
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n == bytes.count else { return (n < 0 ? errno : EIO, value) }
        }
        return (0, nil)
    }

    static func read(_ path: String) -> String {
        (try? FileSystem.readFile(path)).map { String(decoding: $0, as: UTF8.self).trimmingWhitespace } ?? ""
    }

    static func keyed(_ path: String) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in read(path).split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, let v = UInt64(f[1]) { out[String(f[0])] = v }
        }
        return out
    }

    /// mkdir; an existing directory is fine.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw EngineError.system("mkdir \(path)") }
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" { s.removeLast() }
        return String(s)
    }
}
