import MDCore

/// `md._registry`: pull, push, login and logout, for stdlib/mdlua/registry.lua, which
/// builds `md.pull`, `md.push`, `md.login` and `md.logout`. Each runs the registry helper
/// program (RegistryHelper). `pull` and `push` return the running request: Lua reads its
/// progress events with `next` (a table, Docker's fields: status, id, current, total; nil
/// at the end), then its result with `finish`, or stops it with `cancel`. Lua draws the
/// progress (stdlib/mdlua/pull_progress.lua) or hands the events to the user's function;
/// the engine never calls into Lua. Every function takes the state root first: the
/// embedded helper's copy is kept there (HelperCache).
enum RegistryBinding {
    /// A running pull or push, and how its answer becomes Lua values.
    final class Request: LuaObject {
        static let luaTypeName = "md.registry.request"
        let call: RegistryHelper.Call
        let answer: (JSON) throws -> [LuaValue]
        init(_ call: RegistryHelper.Call, answer: @escaping (JSON) throws -> [LuaValue]) { (self.call, self.answer) = (call, answer) }
        var luaDescription: String { "md.registry.request" }
    }

    static func event(_ e: JSON) -> LuaValue {
        var t: [LuaValue: LuaValue] = [:]
        for (k, v) in e.object ?? [:] {
            switch v {
            case .string(let s): t[.str(k)] = .str(s)
            case .int(let i): t[.str(k)] = .integer(i)
            default: break
            }
        }
        return .table(t)
    }

    static func module(_ vm: LuaVM) -> LuaValue {
        func tls(_ args: LuaArguments, _ i: Int) -> JSON { .bool(args.isNil(i) || args.boolean(i)) }
        func opt(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        return .record([
            // pull(root, ref, platform, tls_verify) -> request; its finish: image record, reference, digest, platform
            "pull": vm.function("md.pull") { args in
                let root = try args.string(1)
                let call = try RegistryHelper.start(.object([
                    "verb": .string("pull"), "root": .string(root), "ref": .string(try args.string(2)),
                    "platform": opt(try args.optionalString(3)), "tls_verify": tls(args, 4), "events": .bool(true)]))
                return [.object(Request(call) { r in
                    let id = try Digest(parsing: r["image"]?.string ?? "")
                    guard let image = try Store(root: root).images.load()[id] else { throw EngineError("no such image: \(id)") }
                    return [ImageBinding.lua(image), .str(r["reference"]?.string ?? ""), .str(r["digest"]?.string ?? ""),
                            .str(r["platform"]?.string ?? "")]
                })]
            },
            // push(root, image, destination, tls_verify) -> request; its finish: reference, digest, size
            "push": vm.function("md.push") { args in
                let call = try RegistryHelper.start(.object([
                    "verb": .string("push"), "root": .string(try args.string(1)), "image": .string(try args.string(2)),
                    "destination": opt(try args.optionalString(3)), "tls_verify": tls(args, 4), "events": .bool(true)]))
                return [.object(Request(call) { r in
                    [.str(r["reference"]?.string ?? ""), .str(r["digest"]?.string ?? ""), .integer(r["size"]?.int ?? 0)]
                })]
            },
            // next(request) -> the next progress event, or nil
            "next": vm.function("md.pull") { args in
                [try args.object(1, as: Request.self).call.nextEvent().map(event) ?? .null]
            },
            // finish(request) -> what the request's verb returns (finish_push: the same, its
            // errors md.push's)
            "finish": vm.function("md.pull") { args in
                let req = try args.object(1, as: Request.self)
                return try req.answer(try req.call.finish())
            },
            "finish_push": vm.function("md.push") { args in
                let req = try args.object(1, as: Request.self)
                return try req.answer(try req.call.finish())
            },
            // cancel(request): the helper is stopped
            "cancel": vm.function("md.pull") { args in
                try args.object(1, as: Request.self).call.cancel()
                return []
            },
            // tags(root, ref, tls_verify) -> {tag...}
            "tags": vm.function("md.pull") { args in
                let r = try RegistryHelper.call(.object(["verb": .string("tags"), "root": .string(try args.string(1)),
                                                         "ref": .string(try args.string(2)), "tls_verify": tls(args, 3)]))
                return [.array((r["tags"]?.stringArray ?? []).map { .str($0) })]
            },
            // login(root, registry, username, password, tls_verify) -> where the credentials went
            "login": vm.function("md.login") { args in
                let r = try RegistryHelper.call(.object([
                    "verb": .string("login"), "root": .string(try args.string(1)), "registry": opt(try args.optionalString(2)),
                    "username": .string(try args.string(3)), "password": .string(try args.string(4)),
                    "tls_verify": tls(args, 5)]))
                return [.str(r["stored"]?.string ?? "")]
            },
            // logout(root, registry) -> whether there was something to forget
            "logout": vm.function("md.logout") { args in
                let r = try RegistryHelper.call(.object(["verb": .string("logout"), "root": .string(try args.string(1)),
                                                         "registry": opt(try args.optionalString(2))]))
                return [.boolean(r["removed"] == .bool(true))]
            },
            // user(root, registry): the stored credentials' username, or nil.
            "user": vm.function("md.login") { args in
                let r = try RegistryHelper.call(.object(["verb": .string("user"), "root": .string(try args.string(1)),
                                                         "registry": opt(try args.optionalString(2))]))
                return [r["username"]?.string.map { .str($0) } ?? .null]
            },
        ])
    }
}
