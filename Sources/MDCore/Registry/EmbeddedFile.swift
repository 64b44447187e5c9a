#if canImport(Glibc)
import Glibc
#endif

/// A file carried inside an ELF binary as a section that is not loaded (`objcopy
/// --add-section NAME=FILE --set-section-flags NAME=noload,readonly`): it costs the
/// process nothing until it is read. Finds the section by name in the section headers.
enum EmbeddedFile {
    /// The offset and size of each of the sections `names` in the ELF file open at `fd`
    /// that it has.
    static func find(_ names: [String], in fd: Int32) -> [String: (offset: Int, size: Int)] {
        func read(_ count: Int, at offset: Int) -> [UInt8]? {
            var buf = [UInt8](repeating: 0, count: count)
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? buf : nil
        }
        func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        func u32(_ b: [UInt8], _ at: Int) -> Int { u16(b, at) | u16(b, at + 2) << 16 }
        func u64(_ b: [UInt8], _ at: Int) -> Int { u32(b, at) | u32(b, at + 4) << 32 }
        // ELF64, little endian only: what mdlua is built as.
        guard let h = read(64, at: 0), h[0] == 0x7f, h[1] == 0x45, h[2] == 0x4c, h[3] == 0x46, h[4] == 2, h[5] == 1 else {
            return [:]
        }
        let shoff = u64(h, 0x28), shentsize = u16(h, 0x3a), shnum = u16(h, 0x3c), shstrndx = u16(h, 0x3e)
        guard shentsize >= 64, shnum > 0, shnum < 1 << 15, shstrndx < shnum,
              let table = read(shentsize * shnum, at: shoff) else { return [:] }
        func section(_ i: Int) -> (name: Int, offset: Int, size: Int) {
            let b = Array(table[(i * shentsize)..<(i * shentsize + 64)])
            return (u32(b, 0), u64(b, 0x18), u64(b, 0x20))
        }
        let strtab = section(shstrndx)
        guard strtab.size < 1 << 24, let strings = read(strtab.size, at: strtab.offset) else { return [:] }
        var found: [String: (offset: Int, size: Int)] = [:]
        for i in 0..<shnum {
            let s = section(i)
            for name in names {
                let wanted = Array(name.utf8)
                guard s.name + wanted.count < strings.count else { continue }
                if Array(strings[s.name..<(s.name + wanted.count)]) == wanted && strings[s.name + wanted.count] == 0 {
                    found[name] = (s.offset, s.size)
                }
            }
        }
        return found
    }
}
