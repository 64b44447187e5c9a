import CLuaGlue

/// `md.readline`: libedit line editing and history for the REPL (C functions, see mdl_readline.c).
enum ReadlineBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        let L = vm.L
        mdl_push_readline_lib(L)
        return .reference(vm.popReference(L))
    }
}
