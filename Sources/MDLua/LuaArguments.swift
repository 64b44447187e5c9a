import CLua
import CLuaGlue

/// The arguments of one call from Lua into Swift, read lazily from the Lua stack.
/// Errors name the argument and the function, as `luaL_check*` would, but are thrown.
public struct LuaArguments {
    let L: OpaquePointer
    let vm: LuaVM
    public let functionName: String

    public var count: Int { Int(lua_gettop(L)) }
    public var luaVM: LuaVM { vm }

    func typeName(_ i: Int) -> String { String(cString: lua_typename(L, lua_type(L, Int32(i)))) }

    func bad(_ i: Int, _ expected: String) -> LuaError {
        .argument(position: i, function: functionName,
                  problem: "\(expected) expected, got \(lua_type(L, Int32(i)) == LUA_TNONE ? "no value" : typeName(i))")
    }

    public func isNil(_ i: Int) -> Bool { mdl_isnoneornil(L, Int32(i)) != 0 }

    public func value(_ i: Int) throws -> LuaValue { try vm.value(at: Int32(i), on: L) }

    public func string(_ i: Int) throws -> String {
        guard let s = stringAt(L, Int32(i)) else { throw bad(i, "string") }
        return s
    }

    public func bytes(_ i: Int) throws -> [UInt8] {
        guard let b = bytesAt(L, Int32(i)) else { throw bad(i, "string") }
        return Array(b)
    }

    public func optionalString(_ i: Int) throws -> String? {
        isNil(i) ? nil : try string(i)
    }

    public func integer(_ i: Int) throws -> Int64 {
        var ok: Int32 = 0
        let v = mdl_tointeger(L, Int32(i), &ok)
        guard ok != 0 else {
            if lua_type(L, Int32(i)) == LUA_TNUMBER {
                throw LuaError.argument(position: i, function: functionName,
                                        problem: "number has no integer representation")
            }
            throw bad(i, "number")
        }
        return Int64(v)
    }

    public func optionalInteger(_ i: Int) throws -> Int64? {
        isNil(i) ? nil : try integer(i)
    }

    public func number(_ i: Int) throws -> Double {
        var ok: Int32 = 0
        let v = mdl_tonumber(L, Int32(i), &ok)
        guard ok != 0 else { throw bad(i, "number") }
        return v
    }

    public func boolean(_ i: Int) -> Bool { lua_toboolean(L, Int32(i)) != 0 }

    public func table(_ i: Int) throws -> [LuaValue: LuaValue] {
        guard lua_type(L, Int32(i)) == LUA_TTABLE else { throw bad(i, "table") }
        guard case .table(let t) = try value(i) else { throw bad(i, "table") }
        return t
    }

    public func function(_ i: Int) throws -> LuaValue {
        guard lua_type(L, Int32(i)) == LUA_TFUNCTION else { throw bad(i, "function") }
        return try value(i)
    }

    public func object<T: LuaObject>(_ i: Int, as type: T.Type) throws -> T {
        guard let p = mdl_toobject(L, Int32(i), T.luaTypeName),
              let o = Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as? T
        else { throw bad(i, T.luaTypeName) }
        return o
    }
}
