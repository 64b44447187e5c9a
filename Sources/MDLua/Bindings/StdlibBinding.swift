/// `md._stdlib`: the embedded scripts, for the module searcher and `mdlua help`.
enum StdlibBinding {
    static func module(_ vm: LuaVM, _ scripts: EmbeddedScripts) -> LuaValue {
        .record([
            // The module's precompiled chunk, loaded (boot.lua's searcher); nil if there is none.
            "load": vm.function("md._stdlib.load") { args in
                guard let chunk = scripts.chunk(try args.string(1)) else { return [.null] }
                return [try vm.loadBase64(chunk, chunkName: "=stdlib")]
            },
            "has": vm.function("md._stdlib.has") { args in [.boolean(scripts.chunk(try args.string(1)) != nil)] },
            "names": vm.function("md._stdlib.names") { _ in
                [.array(scripts.names().map { .str($0) })]
            },
        ])
    }
}
