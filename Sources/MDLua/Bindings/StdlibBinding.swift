/// `md._stdlib`: the embedded scripts, for the module searcher and `mdlua help`.
enum StdlibBinding {
    static func module(_ vm: LuaVM, _ scripts: EmbeddedScripts) -> LuaValue {
        .record([
            "source": vm.function("md._stdlib.source") { args in
                let name = try args.string(1)
                guard let buf = scripts.source(name) else { return [.null] }
                return [.string(Array(buf))]
            },
            "names": vm.function("md._stdlib.names") { _ in
                [.array(scripts.names().map { .str($0) })]
            },
        ])
    }
}
