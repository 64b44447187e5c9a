/// The scripts of stdlib/, compiled to Lua bytecode by the EmbedStdlib plugin at build time
/// and kept as base64 text (EmbeddedModules.swift is generated). Module names are paths with
/// dots: `mdlua.cli`, `commands.help`.
public enum EmbeddedStdlib {
    /// The module's precompiled chunk as base64 text, for mdl_load_base64 (binary mode). Only
    /// these chunks, built with the binary, are ever loaded as bytecode: Lua does not verify
    /// bytecode.
    public static func chunk(_ name: String) -> UnsafeRawBufferPointer? {
        for m in embeddedModules where m.name == name {
            return UnsafeRawBufferPointer(start: m.bytecode.utf8Start, count: m.bytecode.utf8CodeUnitCount)
        }
        return nil
    }

    public static var names: [String] { embeddedModules.map(\.name) }
}
