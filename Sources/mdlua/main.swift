#if canImport(Glibc)
import Glibc
#endif
import MDLua
import MDStdlib

// argv → stdlib/mdlua/boot.lua → cli.lua → a subcommand script. Everything a user sees is Lua.
let scripts = EmbeddedScripts(source: EmbeddedStdlib.source, names: { EmbeddedStdlib.names })
let status: Int32
do {
    let runtime = try Runtime(scripts: scripts)
    status = runtime.runMain(arguments: Array(CommandLine.arguments.dropFirst()))
    runtime.vm.close()
} catch {
    fputs("mdlua: \(error)\n", stderr)
    status = 125
}
fflush(nil)
exit(status)
