#if canImport(Glibc)
import Glibc
#endif

/// An engine failure with a message for a person: what was wrong, and what was expected.
public struct EngineError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ message: String) { description = message }

    /// A failed system call: "what: strerror(errno)".
    public static func system(_ what: String, _ code: Int32 = errno) -> EngineError {
        EngineError("\(what): \(String(cString: strerror(code)))")
    }
}
