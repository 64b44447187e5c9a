import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// A container's network namespace, made by the engine before the container's process,
/// which enters it (mdl_netns.h says why). Open until the object goes; the namespace lives
/// on as long as a process is in it.
public final class NetworkNamespace {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// Starts making one for the next container this process starts (a foreground `run`
    /// knows it will start one a few milliseconds later: the namespace is made meanwhile).
    public static func prepareAhead() throws {
        if ahead == nil { ahead = try Pending() }
    }

    /// The one made ahead, if any: ContainerLaunch takes it.
    static func takeAhead() -> Pending? {
        defer { ahead = nil }
        return ahead
    }

    static var ahead: Pending?

    /// One in the making, on a thread of its own.
    public final class Pending {
        private var handle: OpaquePointer?

        public init() throws {
            handle = mdl_netns_start()
            guard handle != nil else { throw EngineError.system("start a thread for the network namespace") }
        }

        /// Waits until it is made.
        public func wait() throws -> NetworkNamespace {
            guard let h = handle else { throw EngineError("the network namespace was taken already") }
            handle = nil
            var err = [CChar](repeating: 0, count: 256)
            let fd = mdl_netns_finish(h, &err, err.count)
            guard fd >= 0 else { throw EngineError(String(cString: err)) }
            return NetworkNamespace(fd: fd)
        }

        deinit { if handle != nil { _ = try? wait() } }
    }
}
