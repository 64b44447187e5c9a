import MDCore

/// `md._registry`: pull, push, login and logout, for stdlib/mdlua/registry.lua, which
/// builds `md.pull`, `md.push`, `md.login` and `md.logout`. The engine draws progress
/// itself (on fd 1): "terminal" (lines rewritten in place), "plain" or "quiet".
enum RegistryBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func progress(_ mode: String?) throws -> PullProgress {
            switch mode ?? "quiet" {
            case "terminal": return PullProgress(mode: .terminal)
            case "plain": return PullProgress(mode: .plain)
            case "quiet": return PullProgress(mode: .quiet)
            case let m: throw EngineError("invalid progress \"\(m)\": expected terminal, plain or quiet")
            }
        }
        return .record([
            // pull(root, ref, platform, tls_verify, progress) -> image record, reference, digest, platform
            "pull": vm.function("md.pull") { args in
                var o = ImagePuller.Options()
                if let p = try args.optionalString(3) { o.platform = try Descriptor.Platform(parsing: p) }
                o.tlsVerify = args.isNil(4) || args.boolean(4)
                o.progress = try progress(try args.optionalString(5))
                let r = try ImagePuller.pull(try args.string(2), into: Store(root: try args.string(1)), options: o)
                return [StoreBinding.lua(r.image), .str(r.reference.description), .str(r.digest.description),
                        .str(r.platform.description)]
            },
            // tags(ref, tls_verify) -> {tag...}
            "tags": vm.function("md.pull") { args in
                [.array(try ImagePuller.tags(try args.string(1), tlsVerify: args.isNil(2) || args.boolean(2)).map { .str($0) })]
            },
            // push(root, image, destination, tls_verify, progress) -> reference, digest, size
            "push": vm.function("md.push") { args in
                let r = try ImagePusher.push(try args.string(2), as: try args.optionalString(3),
                                             from: Store(root: try args.string(1)),
                                             tlsVerify: args.isNil(4) || args.boolean(4),
                                             progress: try progress(try args.optionalString(5)))
                return [.str(r.reference.description), .str(r.digest.description), .integer(Int64(r.size))]
            },
            // login(registry, username, password, tls_verify) -> where the credentials went
            "login": vm.function("md.login") { args in
                let at = try RegistryClient.login(try args.optionalString(1) ?? "",
                                                  Credentials(username: try args.string(2), password: try args.string(3)),
                                                  tlsVerify: args.isNil(4) || args.boolean(4))
                return [.str(at)]
            },
            // logout(registry) -> whether there was something to forget
            "logout": vm.function("md.logout") { args in
                [.boolean(try RegistryClient.logout(try args.optionalString(1) ?? ""))]
            },
            // The stored credentials of a registry: username, or nil.
            "user": vm.function("md.login") { args in
                [try CredentialStore().lookup(try args.optionalString(1) ?? Reference.defaultDomain).map { .str($0.username) } ?? .null]
            },
        ])
    }
}
