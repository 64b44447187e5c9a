/// A per-container resource that the start sets up before the container's process and the
/// exit tears down after it: the cgroup and the root file system
/// (ContainerResourceHooks.swift), the network attachments (Network/NetworkHook.swift);
/// volume mounts are more entries in `ContainerHooks.all`.
///
/// - `setUp` runs in list order (`ContainerLaunch.start`); when one fails, the ones set up
///   before it are torn down in reverse order and the error is thrown.
/// - `tearDown` runs in reverse order after the process is gone (`ContainerLaunch.release`),
///   after a crash from the reaper (`ContainerStore.repaired`), and at `rm`
///   (`ContainerStore.remove`, which also sets `removing`); the last two set `afterCrash`:
///   what the start made may be half there, the spec may be unreadable. It must be
///   idempotent: it runs again after a teardown that was killed, and for a resource that
///   was never set up.
public protocol ContainerHook {
    /// For traces and errors.
    var name: String { get }
    func setUp(_ c: inout ContainerHookContext) throws
    func tearDown(_ c: inout ContainerHookContext)
}

/// What a hook works on, and what hooks hand to the start (the root's path, the cgroup).
public struct ContainerHookContext {
    public let store: ContainerStore
    /// The record; a teardown may note in it what it found (an OOM kill).
    public var record: ContainerRecord
    /// The runtime spec; nil only after a crash, when config.json cannot be read.
    public let spec: RuntimeSpec?
    /// Set after a crash (the reaper) and at `rm`: the teardown cannot count on what the
    /// start made.
    public let afterCrash: Bool
    /// Set at `rm`: what lasts as long as the container (its writable layer's own file
    /// system) goes too.
    public let removing: Bool
    /// The mounted root file system, once the root hook has set it up.
    public var rootfs: String?
    /// The container's cgroup, once the cgroup hook has set it up.
    public var cgroup: CgroupDriver?
    /// Cgroup directories a teardown could not remove (processes that do not die).
    public var cgroupsLeft: [String] = []
    /// The container's network namespace, in the making (ContainerLaunch) until a hook or
    /// the start waits for it (`networkNamespace()`).
    var pendingNetwork: NetworkNamespace.Pending?
    var netns: NetworkNamespace?
    /// The container's endpoints, read once at start (ContainerLaunch), and their veth pairs
    /// in the making on a thread (NetworkAttachment), which waits for the namespace itself.
    var endpoints: [(Network, NetworkEndpoint)]?
    var attachment: NetworkAttachment?
    /// After the attachment's thread: the endpoints whose pair is not made, with why when
    /// it tried (nil: it did not run, NetworkHook attaches every endpoint).
    var attachLeft: [(Network, NetworkEndpoint, Error?)]?

    /// The container's own network namespace (nil: it has none), waited for once.
    mutating func networkNamespace() throws -> NetworkNamespace? {
        if netns == nil, let a = attachment {
            attachment = nil
            let (ns, left) = try a.wait(for: endpoints ?? [])
            netns = ns
            attachLeft = left
        }
        if netns == nil, let p = pendingNetwork {
            pendingNetwork = nil
            netns = try p.wait()
        }
        return netns
    }

    public init(store: ContainerStore, record: ContainerRecord, spec: RuntimeSpec?, afterCrash: Bool = false,
                removing: Bool = false) {
        self.store = store
        self.record = record
        self.spec = spec
        self.afterCrash = afterCrash
        self.removing = removing
    }
}

/// The hooks of every container, in set-up order.
public enum ContainerHooks {
    public static let all: [ContainerHook] = [CgroupHook(), RootfsHook(), VolumesHook(), NetworkHook()]

    /// Sets up every hook in order; on a failure, tears down the ones set up, in reverse.
    static func setUp(_ c: inout ContainerHookContext) throws {
        var done = 0
        do {
            for h in all {
                try h.setUp(&c)
                done += 1
            }
        } catch {
            for h in all[0..<min(done + 1, all.count)].reversed() { h.tearDown(&c) }
            throw error
        }
    }

    /// Tears down every hook, in reverse order.
    static func tearDown(_ c: inout ContainerHookContext) {
        for h in all.reversed() { h.tearDown(&c) }
    }
}
