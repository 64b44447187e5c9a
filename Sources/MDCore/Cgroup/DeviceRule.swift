import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// A device cgroup rule, as v1's devices.allow reads it: `c 1:3 rwm`, `b *:* m`, `a`.
public struct DeviceRule: Equatable {
    public var type: Character      // "a" (any), "b", "c"
    public var major: Int64?        // nil: any
    public var minor: Int64?
    public var access: String       // some of "rwm"
    public var allow: Bool

    public init(_ text: String, allow: Bool) throws {
        let f = text.split(separator: " ")
        guard let t = f.first, t.count == 1, let c = t.first, "abc".contains(c) else {
            throw EngineError("invalid device rule \"\(text)\": expected TYPE [MAJOR:MINOR [ACCESS]]")
        }
        type = c
        major = nil
        minor = nil
        access = "rwm"
        self.allow = allow
        if f.count >= 2 {
            let mm = f[1].split(separator: ":", omittingEmptySubsequences: false)
            func number(_ s: Substring) throws -> Int64? {
                if s == "*" { return nil }
                guard let v = Int64(s), v >= 0, v <= Int64(UInt32.max) else { throw EngineError("invalid device number in \"\(text)\"") }
                return v
            }
            guard mm.count == 2 else { throw EngineError("invalid device rule \"\(text)\": expected MAJOR:MINOR") }
            major = try number(mm[0])
            minor = try number(mm[1])
        }
        if f.count >= 3 {
            guard !f[2].isEmpty, f[2].allSatisfy({ "rwm".contains($0) }), f.count == 3 else {
                throw EngineError("invalid device access in \"\(text)\": expected some of rwm")
            }
            access = String(f[2])
        }
    }

    /// The rule as v1's devices.allow / devices.deny take it.
    public var text: String {
        if type == "a" && major == nil && minor == nil && access == "rwm" { return "a" }
        return "\(type) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access)"
    }

    /// Docker's default: nothing but the usual character devices, mknod of any, and pts.
    public static let defaults: [DeviceRule] = {
        var rules = [try! DeviceRule("a", allow: false)]
        for r in ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                  "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"] {
            rules.append(try! DeviceRule(r, allow: true))
        }
        return rules
    }()

    /// cgroup v2: attaches a BPF program enforcing `rules` (the last match wins; no match:
    /// denied) to the cgroup directory.
    public static func attachFilter(_ rules: [DeviceRule], to cgroupDir: String) throws {
        let fd = open(cgroupDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open \(cgroupDir)") }
        defer { close(fd) }
        let c = rules.map { r -> mdl_device_rule in
            var access: UInt32 = 0
            if r.access.contains("m") { access |= UInt32(MDL_DEV_MKNOD) }
            if r.access.contains("r") { access |= UInt32(MDL_DEV_READ) }
            if r.access.contains("w") { access |= UInt32(MDL_DEV_WRITE) }
            return mdl_device_rule(type: CChar(r.type.asciiValue!), major: r.major ?? -1, minor: r.minor ?? -1,
                                   access: access, allow: r.allow ? 1 : 0)
        }
        var err = [CChar](repeating: 0, count: 4352)
        let rc = c.withUnsafeBufferPointer { mdl_device_filter_attach(fd, $0.baseAddress, Int32($0.count), 0, &err, err.count) }
        guard rc == 0 else { throw EngineError("\(cgroupDir): \(String(cString: err))") }
    }
}
