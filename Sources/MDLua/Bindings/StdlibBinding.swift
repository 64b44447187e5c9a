/// `md._stdlib`: the embedded scripts, for the module searcher and `mdlua help`.
enum StdlibBinding {
    static func module(_ vm: LuaVM, _ scripts: EmbeddedScripts) -> LuaValue {
        .record([
            // The precompiled chunk: boot.lua's searcher loads it in binary mode.
            "bytecode": vm.function("md._stdlib.bytecode") { args in
                let name = try args.string(1)
                guard let chunk = scripts.bytecode(name) else { return [.null] }
                return [.string(chunk)]
            },
            "names": vm.function("md._stdlib.names") { _ in
                [.array(scripts.names().map { .str($0) })]
            },
        ])
    }
}
