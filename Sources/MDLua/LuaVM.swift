import CLua
import CLuaGlue

/// A Swift function callable from Lua. Throwing raises a Lua error (catchable with `pcall`)
/// whose message names the function.
public typealias LuaFunction = (LuaArguments) throws -> [LuaValue]

/// One Lua state and the Swift functions it can call.
///
/// Swift enters Lua only through protected calls, and Swift functions return a status to the
/// C trampoline, which raises after the Swift frame has returned (see docs/internals.md): a
/// Lua error never unwinds a Swift frame.
public final class LuaVM {
    private(set) var state: OpaquePointer?
    struct Registered {
        let name: String
        let body: LuaFunction
    }
    var functions: [Registered] = []
    /// Swift objects handed to Lua whose metatables are already filled in.
    var preparedTypes: Set<String> = []

    public init() throws {
        LuaVM.installCallbacks
        guard let L = mdl_newstate() else { throw LuaError.runtime("cannot create a Lua state") }
        state = L
        mdl_setextra(L, Unmanaged.passUnretained(self).toOpaque())
        if mdl_openlibs(L) != LUA_OK {
            let message = popString(L)
            close()
            throw LuaError.runtime("cannot open the Lua libraries: \(message)")
        }
    }

    deinit { close() }

    /// Closes the state, running every pending `__gc`. Safe to call twice.
    public func close() {
        guard let L = state else { return }
        state = nil
        lua_close(L)
    }

    var L: OpaquePointer {
        guard let s = state else { preconditionFailure("LuaVM used after close()") }
        return s
    }

    // MARK: globals and functions

    /// Creates a Lua function value backed by a Swift closure.
    public func function(_ name: String, _ body: @escaping LuaFunction) -> LuaValue {
        functions.append(Registered(name: name, body: body))
        let id = lua_Integer(functions.count - 1)
        mdl_pushswiftfunction(L, id)
        return .reference(popReference(L))
    }

    /// A Lua function written in C, which `push` puts on the stack.
    public func cFunction(_ push: (OpaquePointer?) -> Void) -> LuaValue {
        push(L)
        return .reference(popReference(L))
    }

    /// Moves a value into the VM and returns it as a reference, so that tables keep their
    /// identity when handed to Lua more than once.
    public func reference(to value: LuaValue) -> LuaValue {
        push(value, on: L)
        return .reference(popReference(L))
    }

    public func setGlobal(_ name: String, _ value: LuaValue) {
        mdl_pushglobaltable(L)
        pushString(L, name)
        push(value, on: L)
        lua_rawset(L, -3)
        mdl_pop(L, 1)
    }

    public func global(_ name: String) throws -> LuaValue {
        mdl_pushglobaltable(L)
        pushString(L, name)
        lua_rawget(L, -2)
        defer { mdl_pop(L, 2) }
        return try value(at: -1, on: L)
    }

    /// Sets `package.loaded[name] = value`, so `require(name)` returns it.
    public func preload(_ name: String, _ value: LuaValue) {
        mdl_pushglobaltable(L)
        pushString(L, "package")
        lua_rawget(L, -2)
        pushString(L, "loaded")
        lua_rawget(L, -2)
        pushString(L, name)
        push(value, on: L)
        lua_rawset(L, -3)
        mdl_pop(L, 3)
    }

    // MARK: running code

    /// Compiles a chunk of source text into a function value. Bytecode is loaded only from
    /// the binary's own stdlib (`loadBase64`): from anywhere else it could break the VM's
    /// memory safety.
    public func load(_ source: UnsafeRawBufferPointer, chunkName: String) throws -> LuaValue {
        let status = mdl_loadbuffer(L, source.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    source.count, chunkName)
        if status != LUA_OK { throw LuaError.syntax(popString(L)) }
        return .reference(popReference(L))
    }

    /// Compiles a precompiled chunk given as base64 text: only the binary's own stdlib.
    public func loadBase64(_ text: UnsafeRawBufferPointer, chunkName: String) throws -> LuaValue {
        let status = mdl_load_base64(L, text.baseAddress?.assumingMemoryBound(to: CChar.self), text.count, chunkName)
        if status != LUA_OK { throw LuaError.syntax(popString(L)) }
        return .reference(popReference(L))
    }

    public func load(_ source: String, chunkName: String) throws -> LuaValue {
        var source = source
        return try source.withUTF8 { try load(UnsafeRawBufferPointer($0), chunkName: chunkName) }
    }

    /// Calls a Lua function in protected mode. A Lua error comes back as `LuaError.runtime`
    /// with a traceback; a non-string error value is described by its type.
    @discardableResult
    public func call(_ function: LuaValue, _ args: [LuaValue] = []) throws -> [LuaValue] {
        let L = self.L
        let base = lua_gettop(L)
        guard lua_checkstack(L, Int32(args.count) + 2) != 0 else {
            throw LuaError.runtime("Lua stack overflow")
        }
        push(function, on: L)
        for a in args { push(a, on: L) }
        let status = mdl_pcall_traceback(L, Int32(args.count), LUA_MULTRET)
        if status != LUA_OK {
            let message = lua_type(L, -1) == LUA_TSTRING
                ? popString(L) : { () -> String in
                    let t = String(cString: lua_typename(L, lua_type(L, -1)))
                    mdl_pop(L, 1)
                    return "(error object is a \(t) value)"
                }()
            throw LuaError.runtime(message)
        }
        let top = lua_gettop(L)
        defer { lua_settop(L, base) }
        var results: [LuaValue] = []
        if top > base {
            for i in (base + 1)...top { results.append(try value(at: i, on: L)) }
        }
        return results
    }

    /// Runs a full garbage collection (tests use it to observe `__gc`).
    public func collectGarbage() {
        _ = try? call(try global("collectgarbage"), [.str("collect")])
    }
}

// MARK: the trampoline's Swift side

extension LuaVM {
    static let installCallbacks: Void = {
        mdl_set_callbacks({ L, id in LuaVM.dispatch(L!, Int(id)) },
                          { owner in Unmanaged<AnyObject>.fromOpaque(owner!).release() })
    }()

    static func from(_ L: OpaquePointer) -> LuaVM {
        Unmanaged<LuaVM>.fromOpaque(mdl_getextra(L)!).takeUnretainedValue()
    }

    static func dispatch(_ L: OpaquePointer, _ id: Int) -> Int32 {
        let vm = LuaVM.from(L)
        let entry = vm.functions[id]
        do {
            let results = try entry.body(LuaArguments(L: L, vm: vm, functionName: entry.name))
            guard lua_checkstack(L, Int32(results.count) + 1) != 0 else {
                throw LuaError.runtime("too many results")
            }
            for r in results { vm.push(r, on: L) }
            return Int32(results.count)
        } catch let error as LuaError {
            if case .argument = error { pushString(L, error.description) }
            else { pushString(L, "\(entry.name): \(error.description)") }
            return -1
        } catch {
            pushString(L, "\(entry.name): \(error)")
            return -1
        }
    }
}
