import CLua
import CLuaGlue

// Conversion between the Lua stack and `LuaValue`, with raw access only: no metamethod
// can run, so nothing here can raise (the allocator aborts instead).

func pushString(_ L: OpaquePointer, _ s: String) {
    var s = s
    s.withUTF8 { buf in
        buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
    }
}

func popString(_ L: OpaquePointer) -> String {
    defer { mdl_pop(L, 1) }
    return stringAt(L, -1) ?? "(not a string)"
}

func stringAt(_ L: OpaquePointer, _ idx: Int32) -> String? {
    guard let bytes = bytesAt(L, idx) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

func bytesAt(_ L: OpaquePointer, _ idx: Int32) -> UnsafeRawBufferPointer? {
    let t = lua_type(L, idx)
    guard t == LUA_TSTRING || t == LUA_TNUMBER else { return nil }
    var len = 0
    guard let p = mdl_tostring_raw(L, idx, &len) else { return nil }
    return UnsafeRawBufferPointer(start: p, count: len)
}

extension LuaVM {
    func popReference(_ L: OpaquePointer) -> LuaReference {
        let t = String(cString: lua_typename(L, lua_type(L, -1)))
        return LuaReference(vm: self, ref: mdl_ref(L), typeName: t)
    }

    func push(_ v: LuaValue, on L: OpaquePointer) {
        switch v {
        case .null: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, lua_Integer(i))
        case .number(let d): lua_pushnumber(L, d)
        case .string(let bytes):
            bytes.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        case .table(let t):
            _ = lua_checkstack(L, 3)
            lua_createtable(L, 0, Int32(t.count))
            for (k, val) in t {
                if k.isNil { continue }
                push(k, on: L)
                push(val, on: L)
                lua_rawset(L, -3)
            }
        case .reference(let r):
            mdl_getref(L, r.ref)
        case .object(let o):
            pushObject(o, on: L)
        }
    }

    func value(at idx: Int32, on L: OpaquePointer, depth: Int = 0) throws -> LuaValue {
        let idx = lua_absindex(L, idx)
        switch lua_type(L, idx) {
        case LUA_TNIL, LUA_TNONE: return .null
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, idx) != 0 { return .integer(Int64(mdl_tointeger(L, idx, nil))) }
            return .number(mdl_tonumber(L, idx, nil))
        case LUA_TSTRING:
            return .string(Array(bytesAt(L, idx)!))
        case LUA_TTABLE:
            guard depth < 64 else {
                throw LuaError.conversion("table nested more than 64 levels deep (a cycle?)")
            }
            _ = lua_checkstack(L, 3)
            var t: [LuaValue: LuaValue] = [:]
            lua_pushnil(L)
            while lua_next(L, idx) != 0 {
                let k = try value(at: -2, on: L, depth: depth + 1)
                t[k] = try value(at: -1, on: L, depth: depth + 1)
                mdl_pop(L, 1)
            }
            return .table(t)
        case LUA_TUSERDATA:
            if let o = objectAt(idx, on: L) { return .object(o) }
            lua_pushvalue(L, idx)
            return .reference(popReference(L))
        default:
            lua_pushvalue(L, idx)
            return .reference(popReference(L))
        }
    }
}
