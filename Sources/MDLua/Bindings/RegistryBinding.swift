import MDCore

/// `md._registry`: pull, push, login and logout, for stdlib/mdlua/registry.lua, which
/// builds `md.pull`, `md.push`, `md.login` and `md.logout`. Each call runs the registry
/// helper program (RegistryHelper), which draws progress itself on stdout: "terminal"
/// (lines rewritten in place), "plain" or "quiet".
enum RegistryBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func tls(_ args: LuaArguments, _ i: Int) -> JSON { .bool(args.isNil(i) || args.boolean(i)) }
        func opt(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        return .record([
            // pull(root, ref, platform, tls_verify, progress) -> image record, reference, digest, platform
            "pull": vm.function("md.pull") { args in
                let root = try args.string(1)
                let r = try RegistryHelper.call(.object([
                    "verb": .string("pull"), "root": .string(root), "ref": .string(try args.string(2)),
                    "platform": opt(try args.optionalString(3)), "tls_verify": tls(args, 4),
                    "progress": opt(try args.optionalString(5))]))
                let id = try Digest(parsing: r["image"]?.string ?? "")
                guard let image = try Store(root: root).images.load()[id] else { throw EngineError("no such image: \(id)") }
                return [ImageBinding.lua(image), .str(r["reference"]?.string ?? ""), .str(r["digest"]?.string ?? ""),
                        .str(r["platform"]?.string ?? "")]
            },
            // tags(ref, tls_verify) -> {tag...}
            "tags": vm.function("md.pull") { args in
                let r = try RegistryHelper.call(.object(["verb": .string("tags"), "ref": .string(try args.string(1)),
                                                         "tls_verify": tls(args, 2)]))
                return [.array((r["tags"]?.stringArray ?? []).map { .str($0) })]
            },
            // push(root, image, destination, tls_verify, progress) -> reference, digest, size
            "push": vm.function("md.push") { args in
                let r = try RegistryHelper.call(.object([
                    "verb": .string("push"), "root": .string(try args.string(1)), "image": .string(try args.string(2)),
                    "destination": opt(try args.optionalString(3)), "tls_verify": tls(args, 4),
                    "progress": opt(try args.optionalString(5))]))
                return [.str(r["reference"]?.string ?? ""), .str(r["digest"]?.string ?? ""), .integer(r["size"]?.int ?? 0)]
            },
            // login(registry, username, password, tls_verify) -> where the credentials went
            "login": vm.function("md.login") { args in
                let r = try RegistryHelper.call(.object([
                    "verb": .string("login"), "registry": opt(try args.optionalString(1)),
                    "username": .string(try args.string(2)), "password": .string(try args.string(3)),
                    "tls_verify": tls(args, 4)]))
                return [.str(r["stored"]?.string ?? "")]
            },
            // logout(registry) -> whether there was something to forget
            "logout": vm.function("md.logout") { args in
                let r = try RegistryHelper.call(.object(["verb": .string("logout"), "registry": opt(try args.optionalString(1))]))
                return [.boolean(r["removed"] == .bool(true))]
            },
            // The stored credentials of a registry: username, or nil.
            "user": vm.function("md.login") { args in
                let r = try RegistryHelper.call(.object(["verb": .string("user"), "registry": opt(try args.optionalString(1))]))
                return [r["username"]?.string.map { .str($0) } ?? .null]
            },
        ])
    }
}
