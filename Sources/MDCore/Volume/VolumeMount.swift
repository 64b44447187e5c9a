#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// The `local` driver's options, as Docker's: `type` (a file system type: tmpfs, ext4, ...),
/// `device` (what to mount; a host path for a block device or a bind) and `o` (mount
/// options, comma-separated), and mdlua's `size` (a limit: an ext4 image of that size,
/// loop-mounted, see LoopDevice). A volume with any of them has its own file system,
/// mounted on its `_data` on the host when a container first needs it and unmounted when
/// the volume is removed.
enum VolumeMount {
    static let known: Set<String> = ["type", "device", "o", "size"]

    static func hasFileSystem(_ o: [String: String]) -> Bool { o["type"] != nil || o["size"] != nil }

    /// Refuses what cannot be mounted, at `volume create` (not at the first use).
    static func check(_ o: [String: String]) throws {
        for k in o.keys where !known.contains(k) {
            throw EngineError("invalid volume option \"\(k)\": expected type, device, o or size")
        }
        if o["size"] != nil {
            if o["type"] != nil || o["device"] != nil {
                throw EngineError("invalid volume options: size makes the volume's own file system; it cannot go with type or device")
            }
            _ = try LoopDevice.parseSize(o["size"]!)
        }
        if o["device"] != nil || o["o"] != nil, o["type"] == nil {
            throw EngineError("invalid volume options: device and o need type (tmpfs, ext4, none with o=bind, ...)")
        }
        if let t = o["type"], t != "tmpfs", t != "none", !(o["o"] ?? "").split(separator: ",").contains("bind"), o["device"] == nil {
            throw EngineError("invalid volume options: type=\(t) needs device")
        }
    }

    /// Mount flags Docker's local driver takes from `o`; the rest is the file system's data.
    static let flagNames: [String: UInt] = ["ro": UInt(MS_RDONLY), "nosuid": UInt(MS_NOSUID), "nodev": UInt(MS_NODEV),
                                           "noexec": UInt(MS_NOEXEC), "noatime": UInt(MS_NOATIME), "sync": UInt(MS_SYNCHRONOUS),
                                           "bind": UInt(MS_BIND), "rbind": UInt(MS_BIND | MS_REC)]

    /// Whether `path` is a mount point (its own entry in mountinfo).
    static func isMounted(_ path: String) -> Bool {
        guard let text = try? FileSystem.readFile("/proc/self/mountinfo") else { return false }
        let escaped = path.replacingSpaces()
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5)
            if fields.count > 4 && fields[4] == escaped { return true }
        }
        return false
    }

    /// Mounts the volume's file system on `target` unless it is mounted already.
    static func mount(_ v: Volume, at target: String, image: String) throws {
        if v.options["size"] != nil {
            try LoopDevice.mountIfNeeded(image: image, at: target)
            return
        }
        guard !isMounted(target) else { return }
        var flags: UInt = 0
        var data: [String] = []
        for opt in (v.options["o"] ?? "").split(separator: ",").map(String.init) where !opt.isEmpty {
            if let f = flagNames[opt] { flags |= f } else { data.append(opt) }
        }
        let type = v.options["type"] ?? "none"
        let source = v.options["device"] ?? type
        let rc = data.joined(separator: ",").withCString { d in
            Glibc.mount(source, target, type == "none" ? nil : type, flags, (flags & UInt(MS_BIND)) != 0 ? nil : d)
        }
        guard rc == 0 else { throw EngineError.system("mount volume \(v.name) (type=\(type), device=\(source))") }
    }

    /// Unmounts everything on `target` (a volume's `_data`); none is fine. A loop device
    /// goes with its last mount (LO_FLAGS_AUTOCLEAR).
    static func unmount(_ target: String) throws { try LoopDevice.unmountAll(target) }

    static func makeImage(_ path: String, size: String) throws {
        try LoopDevice.makeImage(path, bytes: try LoopDevice.parseSize(size))
    }
}

extension String {
    /// A path as mountinfo writes it (space, tab, newline and backslash as \ooo).
    func replacingSpaces() -> String {
        var out = ""
        for c in self.unicodeScalars {
            switch c {
            case " ": out += "\\040"
            case "\t": out += "\\011"
            case "\n": out += "\\012"
            case "\\": out += "\\134"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
