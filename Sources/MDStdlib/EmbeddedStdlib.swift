/// The scripts of stdlib/, compiled in by the EmbedStdlib plugin (EmbeddedModules.swift is
/// generated at build time). Module names are paths with dots: `mdlua.cli`, `commands.help`.
public enum EmbeddedStdlib {
    public static func source(_ name: String) -> UnsafeRawBufferPointer? {
        for m in embeddedModules where m.name == name {
            return UnsafeRawBufferPointer(start: m.source.utf8Start, count: m.source.utf8CodeUnitCount)
        }
        return nil
    }

    public static var names: [String] { embeddedModules.map(\.name) }
}
