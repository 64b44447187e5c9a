/// The `S_IFMT` bits of a mode, as numbers (the Glibc module's S_IF* are ambiguous).
public enum FileType {
    public static let mask: UInt32 = 0o170000
    public static let regular: UInt32 = 0o100000
    public static let directory: UInt32 = 0o040000
    public static let symlink: UInt32 = 0o120000
    public static let character: UInt32 = 0o020000
    public static let block: UInt32 = 0o060000
    public static let fifo: UInt32 = 0o010000
    public static let socket: UInt32 = 0o140000
}
