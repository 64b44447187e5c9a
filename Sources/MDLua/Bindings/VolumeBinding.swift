import MDCore

/// `md._volume`: the volumes of a state root, for stdlib/mdlua/volume.lua, which builds
/// `md.volume` on top. Every function takes the state root first (size_problem: no root).
enum VolumeBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func volumes(_ args: LuaArguments) throws -> VolumeStore { VolumeStore(store: Store(root: try args.string(1))) }
        func containers(_ args: LuaArguments) throws -> ContainerStore { ContainerStore(store: Store(root: try args.string(1))) }
        func map(_ v: LuaValue?) -> [String: String] {
            guard case .table(let t)? = v else { return [:] }
            var out: [String: String] = [:]
            for (k, v) in t { if let k = k.stringValue, let v = v.stringValue { out[k] = v } }
            return out
        }
        return .record([
            // (root, {name=, labels=, options=, anonymous=, owner=}) -> record, created
            "create": vm.function("md.volume.create") { args in
                let vs = try volumes(args)
                let o = try args.table(2)
                guard let name = o[.str("name")]?.stringValue else { throw EngineError("md.volume.create: name is missing") }
                let v = Volume(name: name, created: Clock.now(), labels: map(o[.str("labels")]), options: map(o[.str("options")]),
                               anonymous: o[.str("anonymous")] == .boolean(true), owner: o[.str("owner")]?.stringValue ?? "")
                let (made, created) = try vs.create(v)
                return [lua(made, vs), .boolean(created)]
            },
            "get": vm.function("md.volume.get") { args in
                let vs = try volumes(args)
                return [lua(try vs.get(try args.string(2)), vs)]
            },
            "list": vm.function("md.volume.list") { args in
                let vs = try volumes(args)
                return [.array(vs.list().map { lua($0, vs) })]
            },
            // (root, name): the containers (names) that use it
            "users": vm.function("md.volume.users") { args in
                [.array(try containers(args).containersUsing(volume: try args.string(2)).map { .str($0.name) })]
            },
            // (root, name): refused while a container uses it
            "remove": vm.function("md.volume.rm") { args in
                try containers(args).removeVolume(try args.string(2))
                return []
            },
            // (size) -> nil, or why it is not a size a file system image can have ("1g", "512m")
            "size_problem": vm.function("md.volume.size_problem") { args in
                if case .failure(let p) = LoopDevice.size(try args.string(1)) { return [.str(p.reason)] }
                return [.null]
            },
            "size": vm.function("md.volume.size") { args in
                [.integer(Int64(try volumes(args).size(try args.string(2))))]
            },
        ])
    }

    static func lua(_ v: Volume, _ vs: VolumeStore) -> LuaValue {
        .record(["name": .str(v.name), "driver": .str(v.driver), "created": .str(v.created),
                 "labels": .record(v.labels.mapValues { .str($0) }), "options": .record(v.options.mapValues { .str($0) }),
                 "anonymous": .boolean(v.anonymous), "owner": .str(v.owner), "mountpoint": .str(vs.mountpoint(v.name))])
    }
}
