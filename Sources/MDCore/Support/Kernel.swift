#if canImport(Glibc)
import Glibc
#endif

/// The running kernel, read once per process, and the choices mdlua makes by its version.
/// mdlua's floor is Linux 5.10; interfaces newer than that are used where the kernel has
/// them, with the fallback named here (docs/kernels.md has the table).
public enum Kernel {
    /// `uname -r`, e.g. "6.1.0-27-cloud-amd64".
    public static let release: String = {
        var u = utsname()
        guard uname(&u) == 0 else { return "" }
        return withUnsafeBytes(of: &u.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }()

    /// The first two numbers of the release; (0, 0) when they cannot be read.
    public static let version: (major: Int, minor: Int) = parse(release)

    public static let floor = (major: 5, minor: 10)

    static func parse(_ release: String) -> (major: Int, minor: Int) {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : (0, 0)
    }

    public static func atLeast(_ major: Int, _ minor: Int) -> Bool {
        version.major > major || (version.major == major && version.minor >= minor)
    }

    /// overlayfs takes the lower dirs one `lowerdir+` option each since 6.8; before, all of
    /// them in one `lowerdir=` string, which must fit in a page with the other options.
    /// Set to false when a kernel refuses `lowerdir+` whatever its version says.
    public static var overlayAppendsLowerDirs: Bool = atLeast(6, 8)

    /// A clear refusal on a kernel below the floor, before anything is half made. An unknown
    /// version (an unusual release string) is given the benefit of the doubt.
    public static func checkFloor() throws {
        if version == (0, 0) || atLeast(floor.major, floor.minor) { return }
        throw EngineError("this kernel is Linux \(release); mdlua needs \(floor.major).\(floor.minor) or newer "
                          + "(openat2, pidfd and the new mount API; docs/kernels.md)")
    }
}
