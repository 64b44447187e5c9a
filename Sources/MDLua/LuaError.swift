/// An error crossing the Lua/Swift boundary.
public enum LuaError: Error, CustomStringConvertible, Equatable {
    /// A chunk did not compile.
    case syntax(String)
    /// Lua code raised an error; the message carries the traceback when there is one.
    case runtime(String)
    /// A value could not be converted (a cycle, a type Swift cannot hold).
    case conversion(String)
    /// A Swift function was called with a bad argument.
    case argument(position: Int, function: String, problem: String)

    public var description: String {
        switch self {
        case .syntax(let m), .runtime(let m), .conversion(let m): return m
        case let .argument(position, function, problem):
            return "bad argument #\(position) to '\(function)' (\(problem))"
        }
    }
}
