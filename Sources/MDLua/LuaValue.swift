import CLuaGlue

/// A Lua value on the Swift side. Functions, userdata and threads stay in the VM and are
/// held through a `LuaReference`; Swift objects exposed to Lua travel as `.object`.
public enum LuaValue: Hashable, CustomStringConvertible {
    case null
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string([UInt8])
    case table([LuaValue: LuaValue])
    case reference(LuaReference)
    case object(any LuaObject)

    public static func str(_ s: String) -> LuaValue { .string(Array(s.utf8)) }

    public static func array(_ items: [LuaValue]) -> LuaValue {
        var t: [LuaValue: LuaValue] = [:]
        for (i, v) in items.enumerated() { t[.integer(Int64(i + 1))] = v }
        return .table(t)
    }

    public static func record(_ fields: [String: LuaValue]) -> LuaValue {
        var t: [LuaValue: LuaValue] = [:]
        for (k, v) in fields { t[.str(k)] = v }
        return .table(t)
    }

    public var stringValue: String? {
        if case .string(let b) = self { return String(decoding: b, as: UTF8.self) }
        return nil
    }

    public var isNil: Bool { if case .null = self { return true } else { return false } }

    /// The Lua type name, as `type()` would say it.
    public var typeName: String {
        switch self {
        case .null: return "nil"
        case .boolean: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .reference(let r): return r.typeName
        case .object: return "userdata"
        }
    }

    public var description: String {
        switch self {
        case .null: return "nil"
        case .boolean(let b): return String(b)
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .string: return stringValue!
        case .table(let t): return "table(\(t.count) entries)"
        case .reference(let r): return r.typeName
        case .object(let o): return o.luaDescription
        }
    }

    public static func == (a: LuaValue, b: LuaValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.boolean(x), .boolean(y)): return x == y
        case let (.integer(x), .integer(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.table(x), .table(y)): return x == y
        case let (.reference(x), .reference(y)): return x === y
        case let (.object(x), .object(y)): return x === y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0)
        case .boolean(let b): h.combine(b)
        case .integer(let i): h.combine(i)
        case .number(let d): h.combine(d)
        case .string(let s): h.combine(s)
        case .table(let t): h.combine(t.count)
        case .reference(let r): h.combine(ObjectIdentifier(r))
        case .object(let o): h.combine(ObjectIdentifier(o))
        }
    }
}

/// A function, userdata or thread kept alive in the Lua registry while Swift holds it.
public final class LuaReference {
    weak var vm: LuaVM?
    let ref: Int32
    public let typeName: String

    init(vm: LuaVM, ref: Int32, typeName: String) {
        self.vm = vm
        self.ref = ref
        self.typeName = typeName
    }

    deinit {
        if let vm, let L = vm.state { mdl_unref(L, ref) }
    }
}

extension LuaValue {
    /// The index of a list's entry (an integer key).
    var integerKey: Int64? { if case .integer(let i) = self { return i }; return nil }
}
