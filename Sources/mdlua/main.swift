#if canImport(Glibc)
import Glibc
#endif
import MDCore
import MDLua
import MDStdlib

// A detached container's monitor (mdlua --internal-monitor ROOT ID FD): no Lua, just the engine.
if CommandLine.arguments.count == 5 && CommandLine.arguments[1] == "--internal-monitor" {
    let a = CommandLine.arguments
    exit(Monitor.main(root: a[2], id: a[3], readyFd: Int32(a[4]) ?? -1))
}

Trace.mark("main")
// argv → stdlib/mdlua/boot.lua → cli.lua → a subcommand script. Everything a user sees is Lua.
let scripts = EmbeddedScripts(chunk: EmbeddedStdlib.chunk, names: { EmbeddedStdlib.names })
// The Lua state is not closed: the process ends right after, and freeing every object one by
// one (lua_close) cost ~0.1 ms of each command. Lua's open files are C streams, which exit()
// flushes; nothing else of the state needs its __gc.
var runtime: Runtime?
let status: Int32
do {
    runtime = try Runtime(scripts: scripts)
    status = runtime!.runMain(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    fputs("mdlua: \(error)\n", stderr)
    status = 125
}
fflush(nil)
exit(status)
