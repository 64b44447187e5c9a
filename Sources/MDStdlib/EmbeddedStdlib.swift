/// The scripts of stdlib/, compiled to Lua bytecode by the EmbedStdlib plugin at build time
/// (EmbeddedModules.swift is generated). Module names are paths with dots: `mdlua.cli`,
/// `commands.help`.
public enum EmbeddedStdlib {
    /// The module's precompiled chunk, for lua_load in binary mode. Only these chunks, built
    /// with the binary, are ever loaded as bytecode: Lua does not verify bytecode.
    public static func bytecode(_ name: String) -> [UInt8]? {
        for m in embeddedModules where m.name == name {
            return Base64.decode(UnsafeRawBufferPointer(start: m.bytecode.utf8Start, count: m.bytecode.utf8CodeUnitCount))
        }
        return nil
    }

    public static var names: [String] { embeddedModules.map(\.name) }
}

/// Standard base64 (RFC 4648, with padding), as the build tool writes it.
enum Base64 {
    static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    static func decode(_ text: UnsafeRawBufferPointer) -> [UInt8] {
        values.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: text.count / 4 * 3) { out, count in
                var acc: UInt32 = 0, bits: UInt32 = 0, n = 0
                for c in text {
                    let v = table[Int(c)]
                    if v == 0xff { continue }   // padding
                    acc = acc << 6 | UInt32(v)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        out[n] = UInt8(truncatingIfNeeded: acc >> bits)
                        n += 1
                    }
                }
                count = n
            }
        }
    }
}
