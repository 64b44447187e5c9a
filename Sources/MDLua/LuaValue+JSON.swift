import MDCore

/// JSON documents of the engine as Lua values and back, for bindings that hand a structured
/// record across without a JSON text in between.
extension LuaValue {
    /// A JSON value as Lua: null is nil, arrays are sequences from 1, objects string-keyed
    /// tables (an empty array and an empty object are both an empty table).
    public init(json: JSON) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .boolean(b)
        case .int(let i): self = .integer(i)
        case .double(let d): self = .number(d)
        case .string(let s): self = .str(s)
        case .array(let a): self = .array(a.map(LuaValue.init(json:)))
        case .object(let o):
            var t: [LuaValue: LuaValue] = [:]
            for (k, v) in o where v != .null { t[.str(k)] = LuaValue(json: v) }
            self = .table(t)
        }
    }

    /// A Lua value as JSON: a table whose keys are 1...n is an array, one with string keys an
    /// object, an empty one an empty object. Functions, userdata and mixed or non-string keys
    /// are errors naming `what`.
    public func json(_ what: String) throws -> JSON {
        switch self {
        case .null: return .null
        case .boolean(let b): return .bool(b)
        case .integer(let i): return .int(i)
        case .number(let d): return .double(d)
        case .string: return .string(stringValue!)
        case .table(let t):
            if t.isEmpty { return .object([:]) }
            if t.keys.allSatisfy({ $0.integerKey != nil }) {
                let n = t.count
                var a: [JSON] = []
                a.reserveCapacity(n)
                for i in 1...n {
                    guard let v = t[.integer(Int64(i))] else { throw LuaError.conversion("\(what): a list with holes") }
                    a.append(try v.json(what))
                }
                return .array(a)
            }
            var o: [String: JSON] = [:]
            for (k, v) in t {
                guard let key = k.stringValue else { throw LuaError.conversion("\(what): a table with keys of mixed types") }
                o[key] = try v.json("\(what).\(key)")
            }
            return .object(o)
        case .reference, .object: throw LuaError.conversion("\(what): a \(typeName) cannot be stored")
        }
    }
}
