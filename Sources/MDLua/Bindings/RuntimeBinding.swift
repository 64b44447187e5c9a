#if canImport(Glibc)
import Glibc
#endif
import MDCore
import CKernel

/// `md._runtime`: containers on disk and their processes, for stdlib/mdlua/container.lua,
/// which builds the user-facing `md.run` and `md.container`. Every function takes the
/// state root first.
enum RuntimeBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func containers(_ args: LuaArguments) throws -> ContainerStore {
            let cs = ContainerStore(store: Store(root: try args.string(1)))
            SeccompFilter.cacheDirectory = cs.store.seccompCache
            return cs
        }
        return .record([
            "create": vm.function("md.container.create") { args in
                Trace.mark("create")
                let cs = try containers(args)
                let o = try args.table(2)
                func s(_ k: String) throws -> String {
                    guard let v = o[.str(k)]?.stringValue else { throw EngineError("create: \(k) is missing") }
                    return v
                }
                var files: [String: String] = [:]
                if case .table(let f)? = o[.str("files")] {
                    for (k, v) in f { if let k = k.stringValue, let v = v.stringValue { files[k] = v } }
                }
                let config = try ContainerConfig(json: try (o[.str("config")] ?? .table([:])).json("config"))
                // The spec is written as mdlua.spec made it (its paths are the container's
                // own, from "path"): parsing and serializing it again here cost 0.3 ms a run.
                let r = try ContainerLifecycle(cs).create(id: try s("id"), name: try s("name"), image: try s("image"),
                                      imageName: try s("image_name"),
                                      spec: try s("spec"), command: strings(o[.str("command")]), files: files, config: config,
                                      starting: o[.str("starting")] == .boolean(true))
                Trace.mark("created")
                return [lua(r)]
            },
            "prepare_network": vm.function("md.container.prepare_network") { _ in
                try NetworkNamespace.prepareAhead()
                return []
            },
            "path": vm.function("md.container.path") { args in [.str(try containers(args).path(try args.string(2)))] },
            "get": vm.function("md.container.get") { args in [lua(try containers(args).find(try args.string(2)))] },
            "list": vm.function("md.container.list") { args in [.array(try containers(args).list().map(lua))] },
            "start": vm.function("md.container.start") { args in
                // (root, ref, {tty=, stdin=, capture=}): in the foreground, until it exits.
                let o = args.isNil(3) ? [:] : try args.table(3)
                var io = ContainerLifecycle.ForegroundIO()
                io.tty = o[.str("tty")] == .boolean(true)
                io.stdin = o[.str("stdin")] == .boolean(true)
                io.capture = o[.str("capture")] == .boolean(true)
                let end = try ContainerLifecycle(try containers(args)).runForeground(try args.string(2), io)
                var result: [String: LuaValue] = ["exit_code": .integer(Int64(end.exitCode))]
                if let e = end.error { result["error"] = .str(e) }
                if end.startFailed { result["start_failed"] = .boolean(true) }
                if let b = end.stdout { result["stdout"] = .string(b) }
                if let b = end.stderr { result["stderr"] = .string(b) }
                return [.record(result), lua(end.record)]   // and the record as it is now
            },
            "start_detached": vm.function("md.container.start") { args in
                do {
                    try ContainerLifecycle(try containers(args)).startDetached(try args.string(2))
                    return [.boolean(true)]
                } catch let e as StartError {
                    return [.null, .str(e.description), .integer(Int64(e.status))]
                }
            },
            "signal": vm.function("md.container.kill") { args in
                try ContainerLifecycle(try containers(args)).signal(try args.string(2), Int32(try args.integer(3)))
                return []
            },
            "stop": vm.function("md.container.stop") { args in
                // (root, ref, timeout seconds, signal): the signal, then SIGKILL after the timeout.
                try ContainerLifecycle(try containers(args)).stop(try args.string(2), timeout: try args.number(3),
                                                                  signal: Int32(try args.integer(4)))
                return []
            },
            "exec": vm.function("md.container.exec") { args in
                // (root, ref, {args=, env=, user=, workdir=, tty=, stdin=, capture=, detach=, detach_keys=})
                let cs = try containers(args)
                let ref = try args.string(2)
                let o = try args.table(3)
                func flag(_ k: String) -> Bool { o[.str(k)] == .boolean(true) }
                var e = ContainerLifecycle.ExecOptions()
                (e.args, e.env) = (strings(o[.str("args")]), strings(o[.str("env")]))
                (e.user, e.workdir) = (o[.str("user")]?.stringValue, o[.str("workdir")]?.stringValue)
                (e.tty, e.stdin, e.capture, e.detach) = (flag("tty"), flag("stdin"), flag("capture"), flag("detach"))
                e.detachKeys = detachKeys(o)
                let end = try ContainerLifecycle(cs).exec(ref, e)
                var result: [String: LuaValue] = ["exit_code": .integer(Int64(end.exitCode))]
                if end.detached { result["detached"] = .boolean(true) }
                if let m = end.error { result["error"] = .str(m) }
                if let b = end.stdout { result["stdout"] = .string(b) }
                if let b = end.stderr { result["stderr"] = .string(b) }
                return [.record(result)]
            },
            "attach": vm.function("md.container.attach") { args in
                // (root, ref, {stdin=, detach_keys=}): relays until the container stops or the user detaches.
                let cs = try containers(args)
                let ref = try args.string(2)
                let opts = args.isNil(3) ? [:] : try args.table(3)
                switch try ContainerLifecycle(cs).attach(ref, stdin: opts[.str("stdin")] == .boolean(true), detachKeys: detachKeys(opts)) {
                case .detached: return [.record(["detached": .boolean(true)])]
                case .removed: return [.record(["removed": .boolean(true)])]
                case .exited(let code): return [.record(["exit_code": .integer(Int64(code))])]
                }
            },
            "pause": vm.function("md.container.pause") { args in
                // (root, ref, frozen)
                try ContainerLifecycle(try containers(args)).pause(try args.string(2), frozen: args.boolean(3))
                return []
            },
            "stats": vm.function("md.container.stats") { args in
                let cs = try containers(args)
                let r = try cs.find(try args.string(2))
                let s = cs.cgroup(r, try cs.spec(r)).stats()
                return [.record(["cpu_ns": .integer(Int64(truncatingIfNeeded: s.cpuUsageNanoseconds)),
                                 "memory": .integer(Int64(truncatingIfNeeded: s.memoryUsage)),
                                 "memory_limit": .integer(Int64(truncatingIfNeeded: min(s.memoryLimit, UInt64(Int64.max)))),
                                 "pids": .integer(Int64(s.pids)), "oom_kills": .integer(Int64(s.oomKills)),
                                 "block_read": .integer(Int64(s.blockRead)), "block_write": .integer(Int64(s.blockWrite))])]
            },
            "update": vm.function("md.container.update") { args in
                // (root, ref, resources json, restart policy or nil): live limits, and the spec on disk.
                let cs = try containers(args)
                let (ref, patch) = (try args.string(2), try JSON.parse(try args.string(3)))
                try ContainerLifecycle(cs).update(ref, resources: patch, restart: try args.optionalString(4))
                return []
            },
            "copy": vm.function("md.container.cp") { args in
                // (root, ref, container path, host path or "-" for a tar stream on stdin or
                // stdout, into container?, {archive=, follow_link=})
                let cs = try containers(args)
                let r = try cs.find(try args.string(2))
                let o = args.isNil(6) ? [:] : try args.table(6)
                var options = ContainerCopy.Options()
                options.archive = o[.str("archive")] == .boolean(true)
                options.followLink = o[.str("follow_link")] == .boolean(true)
                // What the spec mounts over the image (the container's /etc files) is part of
                // what the container sees.
                let mounts = ((try? cs.spec(r))?.mounts ?? []).filter { $0.type == "bind" || $0.options.contains("bind") || $0.options.contains("rbind") }
                    .map { ContainerCopy.Mount(destination: $0.destination, source: $0.source) }
                let running = r.status == .running || r.status == .paused
                let rootfs = running ? cs.path(r.id) + "/rootfs" : try cs.mountRootfs(r)
                defer { if !running { try? cs.unmountRootfs(r) } }
                let (path, host) = (try args.string(3), try args.string(4))
                switch (args.boolean(5), host == "-") {
                case (true, true): try ContainerCopy.tarToContainer(from: 0, rootfs: rootfs, mounts: mounts, path: path)
                case (true, false): try ContainerCopy.toContainer(host: host, rootfs: rootfs, mounts: mounts, path: path, options: options)
                case (false, true): try ContainerCopy.tarFromContainer(rootfs: rootfs, mounts: mounts, path: path, to: 1, options: options)
                case (false, false): try ContainerCopy.fromContainer(rootfs: rootfs, mounts: mounts, path: path, to: host, options: options)
                }
                return []
            },
            "rename": vm.function("md.container.rename") { args in
                [lua(try containers(args).rename(try args.string(2), to: try args.string(3)))]
            },
            "diff": vm.function("md.container.diff") { args in
                let cs = try containers(args)
                let changes = try ContainerChanges.list(cs, try cs.find(try args.string(2)))
                return [.array(changes.map { .record(["kind": .str($0.0.rawValue), "path": .str($0.1)]) })]
            },
            "commit": vm.function("md.container.commit") { args in
                // (root, ref, config json, name or nil, comment, clamp time or nil)
                let cs = try containers(args)
                let r = try cs.find(try args.string(2))
                let config = try JSON.parse(try args.string(3))
                let names = try args.optionalString(4).map { [try ImageLookup.normalizedName($0)] } ?? []
                let image = try ContainerChanges.commit(cs, r, config: config, names: names,
                                                        comment: try args.optionalString(5) ?? "",
                                                        clampTime: try args.optionalInteger(6))
                cs.event("commit", r, ["imageID": image.id.description])
                return [.str(image.id.description)]
            },
            "wait": vm.function("md.container.wait") { args in
                [.integer(Int64(try ContainerLifecycle(try containers(args)).wait(try args.string(2))))]
            },
            "remove": vm.function("md.container.remove") { args in
                // (root, ref, force, volumes): volumes removes its anonymous volumes (rm -v)
                [.str(try ContainerLifecycle(try containers(args)).remove(try args.string(2), force: args.boolean(3),
                                                                          volumes: args.boolean(4)))]
            },
            "prune_caches": vm.function("md.system.prune") { args in
                StateCheck.pruneCaches(try containers(args).store)
                return []
            },
            "check": vm.function("md.system.check") { args in
                // (root, repair): what `mdlua system check` reports, and what --repair did.
                let cs = try containers(args)
                let findings = StateCheck.run(cs, repair: args.boolean(2))
                return [.array(findings.map { f in
                    var t: [String: LuaValue] = ["kind": .str(f.kind), "path": .str(f.path), "detail": .str(f.detail),
                                                 "unrepairable": .boolean(f.unrepairable)]
                    if let a = f.action { t["action"] = .str(a) }
                    return .record(t)
                })]
            },
            "df": vm.function("md.system.df") { args in
                [.array(StateCheck.usage(try containers(args)).map { u in
                    .record(["type": .str(u.type), "total": .integer(Int64(u.total)), "active": .integer(Int64(u.active)),
                             "size": .integer(Int64(truncatingIfNeeded: u.size)),
                             "reclaimable": .integer(Int64(truncatingIfNeeded: u.reclaimable))])
                })]
            },
            // (root) -> the state root noted for `reclaimed` (PruneAccount: system prune's one walk)
            "prune_account": vm.function("md.system.prune") { args in
                [.array(PruneAccount(try containers(args)).trees.map { t in
                    .record(["path": .str(t.path), "dev": .integer(Int64(bitPattern: t.key[0])),
                             "ino": .integer(Int64(bitPattern: t.key[1])), "bytes": .integer(Int64(truncatingIfNeeded: t.bytes))])
                })]
            },
            // (root, account) -> the bytes the root holds less than when the account was made
            "reclaimed": vm.function("md.system.prune") { args in
                let trees = try args.table(2).sorted { ($0.key.integerKey ?? 0) < ($1.key.integerKey ?? 0) }.compactMap { e -> DiskUsage.Tree? in
                    guard case .table(let t) = e.value, let path = t[.str("path")]?.stringValue,
                          case .integer(let dev)? = t[.str("dev")], case .integer(let ino)? = t[.str("ino")],
                          case .integer(let bytes)? = t[.str("bytes")] else { return nil }
                    return DiskUsage.Tree(path: path, key: [UInt64(bitPattern: dev), UInt64(bitPattern: ino)], bytes: UInt64(max(0, bytes)))
                }
                return [.integer(Int64(truncatingIfNeeded: PruneAccount(trees: trees).reclaimed(try containers(args))))]
            },
            "export": vm.function("md.container.export") { args in
                let cs = try containers(args)
                let r = try cs.find(try args.string(2))
                let rootfs = try cs.mountRootfs(r)
                defer { if r.status != .running { try? cs.unmountRootfs(r) } }
                try OutputFile.write(to: try args.optionalString(3)) { fd in
                    _ = try LayerPacker.pack(directory: rootfs, to: fd)
                }
                return []
            },
        ])
    }

    /// The detach keys as bytes (stdlib/mdlua/detachkeys.lua parses Docker's syntax), nil for
    /// the default Ctrl-P Ctrl-Q.
    static func detachKeys(_ o: [LuaValue: LuaValue]) -> [UInt8]? {
        if case .string(let b)? = o[.str("detach_keys")] { return b }
        return nil
    }

    /// A Lua list of strings, in order.
    static func strings(_ v: LuaValue?) -> [String] {
        guard case .table(let t)? = v else { return [] }
        return t.sorted { ($0.key.integerKey ?? 0) < ($1.key.integerKey ?? 0) }.compactMap { $0.value.stringValue }
    }

    static func lua(_ r: ContainerRecord) -> LuaValue {
        .record(["exit_unknown": .boolean(r.exitUnknown), "damaged": .boolean(r.damaged),
                 "id": .str(r.id), "name": .str(r.name), "image": .str(r.image.description), "image_name": .str(r.imageName),
                 "created": .str(r.created), "status": .str(r.status.rawValue), "pid": .integer(Int64(r.pid)),
                 "exit_code": .integer(Int64(r.exitCode)), "started_at": .str(r.startedAt),
                 "finished_at": .str(r.finishedAt), "error": .str(r.error), "config": LuaValue(json: r.config.json),
                 "restart_count": .integer(Int64(r.restartCount)), "monitor_pid": .integer(Int64(r.monitorPid)),
                 "oom_killed": .boolean(r.oomKilled), "health": .str(r.health.serialized()),
                 "command": .array(r.command.map { .str($0) })])
    }
}
