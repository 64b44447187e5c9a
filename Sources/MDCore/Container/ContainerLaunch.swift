#if canImport(Glibc)
import Glibc
#endif

/// The start of a container's process from its record, as the foreground `start` and the
/// monitor both do it: cgroup, network namespace, root file system, the process, and the
/// record that says it runs; `release` gives back what the container held once its process
/// is gone.
public enum ContainerLaunch {
    /// Returns the started process (it has called execve). `record` says "running" with its
    /// pid, saved before the process could run its command. On failure, whatever was made is
    /// undone and the error thrown (a StartError when the process failed to start).
    public static func start(_ store: ContainerStore, _ record: inout ContainerRecord, spec: RuntimeSpec,
                             io: ProcessIO) throws -> ContainerProcess.Started {
        // Made meanwhile, on a thread of its own (or made ahead already).
        let ahead = NetworkNamespace.takeAhead()
        let network = spec.namespaces.contains("network") ? try ahead ?? NetworkNamespace.Pending() : nil
        let cg = store.cgroup(record, spec)
        Trace.mark("cgroup to create")
        do {
            try cg.create(spec.resources)
            Trace.mark("cgroup created")
            let rootfs = try store.mountRootfs(record, ephemeral: spec.ephemeral)
            Trace.mark("rootfs mounted")
            let netns = try network?.wait()
            Trace.mark("network ready")
            var r = record
            let process = try ContainerProcess.start(spec, rootfs: rootfs, io: io, cgroup: try cg.join(),
                                                     network: netns) { pid in
                Trace.mark("cloned")
                r = try store.modify(r.id) { rec in
                    rec.status = "running"
                    rec.pid = pid
                    rec.pidStart = ProcessInfoReader.startTime(pid)
                    rec.monitorPid = getpid()   // the monitor, or the CLI in the foreground
                    rec.startedAt = Clock.now()
                    rec.error = ""
                }
                store.event("start", r)
                Trace.mark("running recorded")
            }
            record = r
            return process
        } catch {
            try? store.unmountRootfs(record)
            cg.remove()
            throw error
        }
    }

    /// After the process is gone: unmounts its root, records an OOM kill, removes the cgroup.
    public static func release(_ store: ContainerStore, _ record: inout ContainerRecord, spec: RuntimeSpec) {
        try? store.unmountRootfs(record)
        Trace.mark("cgroup release")
        store.releaseCgroup(&record, spec)
        Trace.mark("cgroup removed")
    }
}
