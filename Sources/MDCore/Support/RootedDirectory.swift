#if canImport(Glibc)
import Glibc
#endif
import CKernel

/// A directory whose contents are untrusted (a layer being unpacked, a container's rootfs):
/// every path inside it is resolved by the kernel with `RESOLVE_IN_ROOT`, so `..` and
/// symlinks, absolute or relative, can never lead outside it (docs/design.md, invariant 2).
public final class RootedDirectory {
    public let path: String
    public let fd: Int32

    static let resolve = UInt64(MDL_RESOLVE_IN_ROOT | MDL_RESOLVE_NO_MAGICLINKS)

    public init(path: String) throws {
        self.path = path
        fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open \(path)") }
    }

    deinit { close(fd) }

    /// Splits a path from an archive or a user into components inside the root. A leading
    /// `/` and `.` components are dropped; `..` is refused rather than interpreted.
    public static func components(_ raw: String, what: String) throws -> [String] {
        var parts: [String] = []
        for p in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if p == "." { continue }
            if p == ".." { throw EngineError("\(what) \"\(raw)\" leaves its root through \"..\"") }
            parts.append(String(p))
        }
        return parts
    }

    /// Opens a path inside the root (flags as openat2), resolved in the root.
    public func open(_ components: [String], flags: Int32, mode: mode_t = 0) -> Int32 {
        let rel = components.isEmpty ? "." : components.joined(separator: "/")
        return mdl_openat2(fd, rel, flags | O_CLOEXEC, mode, RootedDirectory.resolve)
    }

    /// Opens the directory `components`, creating missing ones (mode 0755, root-owned) on
    /// the way. A symlink on the way is followed as the kernel would inside the root (a
    /// missing target directory is created there, inside). Returns an fd the caller closes.
    public func openDirectory(_ components: [String], create: Bool) throws -> Int32 {
        try openDirectory(components, create: create, hops: 0)
    }

    private func openDirectory(_ components: [String], create: Bool, hops: Int) throws -> Int32 {
        let fd = open(components, flags: O_RDONLY | O_DIRECTORY)
        if fd >= 0 || !create || errno != ENOENT {
            guard fd >= 0 else { throw EngineError.system("open \(display(components))") }
            return fd
        }
        guard hops < 40 else { throw EngineError("open \(display(components)): too many levels of symbolic links") }
        var current = dup(self.fd)
        for i in 0..<components.count {
            let prefix = Array(components[0...i])
            var next = open(prefix, flags: O_RDONLY | O_DIRECTORY)
            if next < 0 && errno == ENOENT {
                if mkdirat(current, components[i], 0o755) != 0 {
                    guard errno == EEXIST, let target = readLink(current, components[i]) else {
                        let e = EngineError.system("mkdir \(display(prefix))")
                        close(current)
                        throw e
                    }
                    // A dangling symlink: continue at its target, resolved lexically in the root.
                    close(current)
                    let resolved = RootedDirectory.resolve(target, from: Array(components[0..<i]))
                    return try openDirectory(resolved + components[(i + 1)...], create: true, hops: hops + 1)
                }
                next = open(prefix, flags: O_RDONLY | O_DIRECTORY)
            }
            close(current)
            guard next >= 0 else { throw EngineError.system("open \(display(prefix))") }
            current = next
        }
        return current
    }

    func readLink(_ dirfd: Int32, _ name: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlinkat(dirfd, name, &buf, 4096)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A symlink target as components of the root: absolute from the root, relative from
    /// the link's directory; `..` stops at the root, as RESOLVE_IN_ROOT does.
    static func resolve(_ target: String, from base: [String]) -> [String] {
        var parts = target.hasPrefix("/") ? [] : base
        for p in target.split(separator: "/") {
            if p == "." { continue }
            if p == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(String(p))
        }
        return parts
    }

    func display(_ components: [String]) -> String { "/" + components.joined(separator: "/") }
}
