import CLuaGlue

/// Where the Lua scripts of `stdlib/` come from when they are not read from disk
/// (`MDLUA_STDLIB`): the copy compiled into the binary, as bytecode.
public struct EmbeddedScripts {
    /// A module's precompiled chunk, as base64 text (EmbeddedStdlib.chunk).
    public var chunk: (String) -> UnsafeRawBufferPointer?
    public var names: () -> [String]

    public init(chunk: @escaping (String) -> UnsafeRawBufferPointer?, names: @escaping () -> [String]) {
        self.chunk = chunk
        self.names = names
    }
}

/// A Lua VM with the `mdlua` module loaded: the global `md` and `require "mdlua"`.
public final class Runtime {
    public let vm: LuaVM
    public let scripts: EmbeddedScripts

    public init(scripts: EmbeddedScripts) throws {
        vm = try LuaVM()
        self.scripts = scripts
        var md: [String: LuaValue] = [
            "version": .str(String(cString: mdl_version())),
            "commit": .str(String(cString: mdl_commit())),
            "lua_release": .str(String(cString: mdl_lua_release())),
        ]
        md["sys"] = SysBinding.module(vm)
        md["readline"] = ReadlineBinding.module(vm)
        md["_stdlib"] = StdlibBinding.module(vm, scripts)
        md["_image"] = ImageBinding.module(vm)
        md["_layer"] = LayerBinding.module(vm)
        md["_runtime"] = RuntimeBinding.module(vm)
        md["_registry"] = RegistryBinding.module(vm)
        md["_network"] = NetworkBinding.module(vm)
        md["_volume"] = VolumeBinding.module(vm)
        md["fs"] = FSBinding.module(vm)
        md["_json"] = .record(["encode": vm.cFunction(mdl_push_json_encode)])
        md["_yaml"] = .record(["decode": vm.cFunction(mdl_push_yaml_decode)])
        let module = vm.reference(to: .record(md))   // one table, two names
        vm.setGlobal("md", module)
        vm.preload("mdlua", module)
    }

    /// Runs `mdlua.boot` (from `MDLUA_STDLIB` when set, else the embedded copy) with the
    /// command line, and returns the exit status it asks for.
    public func runMain(arguments: [String]) -> Int32 {
        do {
            let boot = try loadScript("mdlua.boot")
            let results = try vm.call(boot, [.array(arguments.map { .str($0) })])
            if case .integer(let code)? = results.first { return Int32(truncatingIfNeeded: code) }
            return 0
        } catch {
            writeStderr("mdlua: \(error)\n")
            return 1
        }
    }

    func loadScript(_ name: String) throws -> LuaValue {
        if let dir = getenvString("MDLUA_STDLIB") {
            let path = dir + "/" + name.split(separator: ".").joined(separator: "/") + ".lua"
            if let data = readFile(path) {
                return try data.withUnsafeBytes { try vm.load($0, chunkName: "@" + path) }
            }
        }
        guard let chunk = scripts.chunk(name) else {
            throw LuaError.runtime("the built-in script \(name) is missing")
        }
        return try vm.loadBase64(chunk, chunkName: "=stdlib")
    }
}
