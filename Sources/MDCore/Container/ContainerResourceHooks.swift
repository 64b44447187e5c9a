/// The container's cgroup, with its limits written, in every hierarchy. Its teardown notes an
/// OOM kill in the record and removes the cgroup; after a crash, whatever still runs in it
/// was killed by the reaper first, and the directories are found on disk (by the container's
/// ID when the spec is unreadable).
struct CgroupHook: ContainerHook {
    var name: String { "cgroup" }

    func setUp(_ c: inout ContainerHookContext) throws {
        guard let spec = c.spec else { throw EngineError("a cgroup needs the container's spec") }
        let cg = c.store.cgroup(c.record, spec)
        Trace.mark("cgroup to create")
        c.cgroup = cg
        do { try cg.create(spec.resources) } catch { throw CgroupLimitError.explain(error, spec.resources) }
        Trace.mark("cgroup created")
    }

    func tearDown(_ c: inout ContainerHookContext) {
        if c.afterCrash {
            // The common case (a container whose cgroups its monitor removed) costs one stat
            // per hierarchy.
            let dirs = ContainerReaper.cgroupDirectories(id: c.record.id, parent: c.spec?.cgroupParent)
            guard !dirs.isEmpty else { return }
            if let spec = c.spec {
                c.record.oomKilled = c.record.oomKilled || c.store.cgroup(c.record, spec).oomKills() > 0
            }
            c.cgroupsLeft = ContainerReaper.removeCgroups(dirs)
            return
        }
        guard let spec = c.spec else { return }
        Trace.mark("cgroup release")
        c.store.releaseCgroup(&c.record, spec)
        Trace.mark("cgroup removed")
    }
}

/// The container's root: the overlay of the image's layers, the shared mount-point layer and
/// its writable layer on `rootfs/` (Rootfs/OverlayRootfs.swift, WritableLayer.swift). Torn
/// down by unmounting everything stacked there; not mounted is fine. A size-limited
/// writable layer's file system lasts until the container is removed.
struct RootfsHook: ContainerHook {
    var name: String { "rootfs" }

    func setUp(_ c: inout ContainerHookContext) throws {
        c.rootfs = try c.store.mountRootfs(c.record, ephemeral: c.record.config.remove)
        Trace.mark("rootfs mounted")
    }

    func tearDown(_ c: inout ContainerHookContext) {
        try? c.store.unmountRootfs(c.record)
        if c.removing { try? WritableLayer(c.store, c.record).release() }
    }
}

/// The container's named volumes (ContainerConfig.mounts): each one made ready (its own
/// file system mounted, for a volume with one) and, when it is empty and the image has
/// content where it goes, that content copied in (VolumeCopyIn). The spec's bind mounts of
/// their `_data` are the process's. Nothing to tear down: a volume outlives its containers,
/// and its one teardown is its removal (VolumeStore.remove; `rm -v` for anonymous ones).
struct VolumesHook: ContainerHook {
    var name: String { "volumes" }

    func setUp(_ c: inout ContainerHookContext) throws {
        let uses = ContainerMount.volumes(c.record.config)
        guard !uses.isEmpty, let rootfs = c.rootfs else { return }
        let volumes = VolumeStore(store: c.store.store)
        for use in uses {
            let v: Volume
            do { v = try volumes.get(use.source) } catch {
                throw EngineError("container \(c.record.name): its volume \(use.source) (on \(use.destination)) is gone")
            }
            try volumes.prepare(v)
            if !use.nocopy { try VolumeCopyIn.populate(volumes, use.source, rootfs: rootfs, destination: use.destination) }
        }
        Trace.mark("volumes ready")
    }

    func tearDown(_ c: inout ContainerHookContext) {}
}
