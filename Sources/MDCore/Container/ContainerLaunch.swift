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
        // Made meanwhile, on a thread of its own (or made ahead already); or another
        // container's (--network container:ID).
        // (A foreground run's pair is in the making since its lease, in the namespace made ahead.)
        let attachedAhead = NetworkAttachment.takeAhead(record.id)
        let ahead = NetworkNamespace.takeAhead()
        let joined = try JoinedNetwork.target(record.config).map { try JoinedNetwork.namespace(store, $0) }
        let ownNamespace = spec.namespaces.contains("network") && joined == nil
        if !ownNamespace, let a = attachedAhead { _ = try? a.wait(for: []) }
        let network = ownNamespace && attachedAhead == nil ? try ahead ?? NetworkNamespace.Pending() : nil
        // The per-container resources, in order (ContainerHook.swift): the cgroup, the root,
        // the network attachments (which wait for the namespace).
        var hooks = ContainerHookContext(store: store, record: record, spec: spec)
        hooks.pendingNetwork = network
        hooks.netns = joined
        if ownNamespace {
            let endpoints = NetworkStore(root: store.store.root).endpoints(of: record.id)
            hooks.endpoints = endpoints
            if let a = attachedAhead {
                hooks.attachment = a
            } else if !endpoints.isEmpty, let pending = network, let a = NetworkAttachment.start(endpoints, pending) {
                // The veth pairs made meanwhile too, on a thread of their own.
                hooks.pendingNetwork = nil
                hooks.attachment = a
            }
        }
        try ContainerHooks.setUp(&hooks)
        do {
            guard let rootfs = hooks.rootfs, let cg = hooks.cgroup else {
                throw EngineError("the container's root or cgroup was not set up")
            }
            let netns = try hooks.networkNamespace()
            Trace.mark("network ready")
            var r = record
            let process = try ContainerProcess.start(spec, rootfs: rootfs, io: io, cgroup: try cg.join(),
                                                     network: netns) { pid in
                Trace.mark("cloned")
                r = try store.modify(r.id) { rec in
                    rec.status = .running
                    rec.pid = pid
                    rec.pidStart = ProcessInfoReader.startTime(pid)
                    rec.supervised()   // the monitor, or the CLI in the foreground
                    rec.startedAt = Clock.now()
                    rec.error = ""
                }
                store.event("start", r)
                Trace.mark("running recorded")
            }
            record = r
            return process
        } catch {
            ContainerHooks.tearDown(&hooks)
            throw error
        }
    }

    /// After the process is gone: the hooks torn down in reverse (the root unmounted; an OOM
    /// kill recorded and the cgroup removed).
    public static func release(_ store: ContainerStore, _ record: inout ContainerRecord, spec: RuntimeSpec) {
        var hooks = ContainerHookContext(store: store, record: record, spec: spec)
        ContainerHooks.tearDown(&hooks)
        record = hooks.record
    }
}

/// A limit the kernel refused, in the words of the flag that asked for it
/// ("--cpuset-cpus 99: this machine has CPUs 0-1") rather than a cgroup file's write error.
enum CgroupLimitError {
    static func explain(_ error: Error, _ r: CgroupResources) -> Error {
        let text = "\(error)"
        func has(_ s: String) -> Bool { text.contains(s) }
        func online(_ what: String) -> String {
            let v = (try? FileSystem.readFile("/sys/devices/system/\(what)/online")).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return v.split(separator: "\n").first.map(String.init) ?? "?"
        }
        let kernel = " (the kernel said: \(text))"
        if has("cpuset.cpus"), let c = r.cpusetCpus {
            return EngineError("--cpuset-cpus \(c): this machine has CPUs \(online("cpu"))")
        }
        if has("cpuset.mems"), let m = r.cpusetMems {
            return EngineError("--cpuset-mems \(m): this machine has memory nodes \(online("node"))")
        }
        if has("memsw.limit_in_bytes") || has("swap.max"), let s = r.memorySwap {
            return EngineError("--memory-swap \(s): refused; it must be at least --memory" + kernel)
        }
        if has("memory.limit_in_bytes") || has("memory.max"), let m = r.memoryLimit {
            return EngineError("--memory \(m): refused (too small for what the cgroup already uses, or below the swap limit)" + kernel)
        }
        if has("soft_limit_in_bytes") || has("memory.low"), let m = r.memoryReservation {
            return EngineError("--memory-reservation \(m): refused" + kernel)
        }
        if has("cfs_quota_us") || has("cfs_period_us") || has("cpu.max") {
            return EngineError("--cpus / --cpu-quota / --cpu-period: refused (the period must be 1000-1000000 µs, the quota at least 1000 µs)" + kernel)
        }
        if has("cpu.shares") || has("cpu.weight") { return EngineError("--cpu-shares: refused" + kernel) }
        if has("pids.max"), let p = r.pidsLimit { return EngineError("--pids-limit \(p): refused" + kernel) }
        if has("blkio") || has("io.weight"), let w = r.blkioWeight {
            return EngineError("--blkio-weight \(w): refused (10-1000, and the host's I/O scheduler must support weights)" + kernel)
        }
        return error
    }
}
