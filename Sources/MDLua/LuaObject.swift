import CLua
import CLuaGlue

/// A Swift object handed to Lua as userdata. Lua holds a strong reference, released by the
/// userdata's `__gc`; methods are called as `obj:name(...)`.
public protocol LuaObject: AnyObject {
    /// The metatable name, also what `__name` (and so error messages) report.
    static var luaTypeName: String { get }
    /// Methods by name. The object itself is argument 1.
    static var luaMethods: [String: (Self, LuaArguments) throws -> [LuaValue]] { get }
    /// What `tostring(obj)` prints.
    var luaDescription: String { get }
}

extension LuaObject {
    public static var luaMethods: [String: (Self, LuaArguments) throws -> [LuaValue]] { [:] }
}

extension LuaVM {
    func pushObject(_ o: any LuaObject, on L: OpaquePointer) {
        pushTypedObject(o, on: L)
    }

    private func pushTypedObject<T: LuaObject>(_ o: T, on L: OpaquePointer) {
        let typeName = T.luaTypeName
        if !preparedTypes.contains(typeName) {
            preparedTypes.insert(typeName)
            prepareMetatable(for: T.self, on: L)
        }
        let owner = Unmanaged.passRetained(o as AnyObject).toOpaque()
        mdl_pushobject(L, owner, typeName)
    }

    private func prepareMetatable<T: LuaObject>(for type: T.Type, on L: OpaquePointer) {
        _ = lua_checkstack(L, 4)
        mdl_pushmetatable(L, T.luaTypeName)
        var methods: [LuaValue: LuaValue] = [:]
        for (name, body) in T.luaMethods {
            methods[.str(name)] = function("\(T.luaTypeName):\(name)") { args in
                try body(try args.object(1, as: T.self), args)
            }
        }
        let fields: [String: LuaValue] = [
            "__index": .table(methods),
            "__tostring": function("\(T.luaTypeName).__tostring") { args in
                [.str(try args.object(1, as: T.self).luaDescription)]
            },
        ]
        for (k, v) in fields {
            pushString(L, k)
            push(v, on: L)
            lua_rawset(L, -3)
        }
        mdl_pop(L, 1)
    }

    /// The Swift object behind the userdata at idx, whatever its registered type.
    func objectAt(_ idx: Int32, on L: OpaquePointer) -> (any LuaObject)? {
        for name in preparedTypes {
            if let p = mdl_toobject(L, idx, name) {
                return Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as? any LuaObject
            }
        }
        return nil
    }
}
