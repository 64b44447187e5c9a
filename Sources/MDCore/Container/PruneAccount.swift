/// What `system prune` gives back (its "Total reclaimed space"), with one walk of the state
/// root: before the prune, the trees `system df` measures (StateCheck.usage: layers, blobs,
/// container and volume directories, staging, the seccomp cache, the root's remainder) are
/// noted with their bytes; after it, a tree that is gone freed its bytes, one that is still
/// there (the same inode) is taken as it was, not walked again, and only the cache and the
/// root's remainder (records, logs, directories; the trees that are left are skipped) are
/// measured again.
public struct PruneAccount {
    public let trees: [DiskUsage.Tree]

    /// Notes the state root as it is (the one walk).
    public init(_ cs: ContainerStore) {
        let du = DiskUsage(root: cs.store.root)
        _ = StateCheck.usage(cs, du: du)
        trees = du.trees
    }

    public init(trees: [DiskUsage.Tree]) { self.trees = trees }

    /// The bytes the state root holds less than when it was noted.
    public func reclaimed(_ cs: ContainerStore) -> UInt64 {
        let store = cs.store
        let remeasured: Set<String> = [store.root, store.seccompCache]
        let du = DiskUsage(root: store.root)
        var before: UInt64 = 0, now: UInt64 = 0
        for t in trees {
            before += t.bytes
            guard !remeasured.contains(t.path), DiskUsage.key(t.path) == t.key else { continue }
            du.skip(t.path)
            now += t.bytes
        }
        now += du.measure(store.seccompCache) + du.measure(store.root)
        return before > now ? before - now : 0
    }
}
