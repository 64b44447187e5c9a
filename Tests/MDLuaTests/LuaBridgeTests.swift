import Foundation
import XCTest
@testable import MDLua
import MDStdlib

final class Tracked: LuaObject {
    static let luaTypeName = "test.tracked"
    static var luaMethods: [String: (Tracked, LuaArguments) throws -> [LuaValue]] {
        ["name": { obj, _ in [.str(obj.name)] },
         "add": { obj, args in [.integer(try args.integer(2) + Int64(obj.name.count))] }]
    }
    let name: String
    init(_ name: String) { self.name = name }
    var luaDescription: String { "tracked(\(name))" }
}

final class Other: LuaObject {
    static let luaTypeName = "test.other"
    var luaDescription: String { "other" }
}

struct Boom: Error, CustomStringConvertible {
    var description: String { "the disk is on fire" }
}

final class LuaBridgeTests: XCTestCase {
    var vm: LuaVM!

    override func setUp() {
        vm = try! LuaVM()
    }

    override func tearDown() {
        vm.close()
        vm = nil
    }

    func roundTrip(_ v: LuaValue) throws -> LuaValue {
        let id = try vm.load("return ...", chunkName: "=id")
        let out = try vm.call(id, [v])
        XCTAssertEqual(out.count, 1)
        return out[0]
    }

    func testScalarsRoundTrip() throws {
        for v: LuaValue in [.null, .boolean(true), .boolean(false), .integer(0), .integer(Int64.max),
                            .integer(Int64.min), .number(3.25), .number(-0.5), .str(""),
                            .str("héllo"), .string([0, 1, 255, 0, 65])] {
            XCTAssertEqual(try roundTrip(v), v, "\(v)")
        }
        // Lua keeps integer and float apart.
        XCTAssertEqual(try vm.call(try vm.load("return math.type(...)", chunkName: "=t"), [.integer(3)]),
                       [.str("integer")])
        XCTAssertEqual(try vm.call(try vm.load("return math.type(...)", chunkName: "=t"), [.number(3)]),
                       [.str("float")])
    }

    func testTablesRoundTrip() throws {
        let nested: LuaValue = .record([
            "list": .array([.integer(1), .str("two"), .number(3.5)]),
            "inner": .record(["deep": .record(["x": .boolean(true)])]),
        ])
        XCTAssertEqual(try roundTrip(nested), nested)
        let lua = try vm.call(try vm.load("local t = ... return t.inner.deep.x, #t.list, t.list[2]", chunkName: "=t"), [nested])
        XCTAssertEqual(lua, [.boolean(true), .integer(3), .str("two")])
    }

    func testCyclicTableIsAConversionError() throws {
        let f = try vm.load("local t = {} t.self = t return t", chunkName: "=c")
        XCTAssertThrowsError(try vm.call(f)) { error in
            guard case LuaError.conversion = error else { return XCTFail("\(error)") }
        }
    }

    func testFunctionsUserdataAndThreadsRoundTripAsReferences() throws {
        let make = try vm.load("""
            local f = function(x) return x * 2 end
            local co = coroutine.create(function() end)
            local u = io.stdout
            return f, co, u
            """, chunkName: "=refs")
        let values = try vm.call(make)
        XCTAssertEqual(values.map(\.typeName), ["function", "thread", "userdata"])
        XCTAssertEqual(try vm.call(values[0], [.integer(21)]), [.integer(42)])
        let check = try vm.load("local f, co, u = ... return type(f), type(co), io.type(u)", chunkName: "=chk")
        XCTAssertEqual(try vm.call(check, values), [.str("function"), .str("thread"), .str("file")])
        // The same reference comes back as the same Lua value.
        let same = try vm.load("local a, b = ... return rawequal(a, b)", chunkName: "=eq")
        XCTAssertEqual(try vm.call(same, [values[0], values[0]]), [.boolean(true)])
    }

    func testSwiftObjectsRoundTripWithMethodsAndTostring() throws {
        let obj = Tracked("web")
        XCTAssertEqual(try roundTrip(.object(obj)), .object(obj))
        let use = try vm.load("local o = ... return o:name(), o:add(2), tostring(o)", chunkName: "=use")
        XCTAssertEqual(try vm.call(use, [.object(obj)]), [.str("web"), .integer(5), .str("tracked(web)")])
    }

    func testSwiftFunctionCalledFromLua() throws {
        vm.setGlobal("greet", vm.function("greet") { args in [.str("hello " + (try args.string(1)))] })
        XCTAssertEqual(try vm.call(try vm.load("return greet('lua')", chunkName: "=g")), [.str("hello lua")])
    }

    func testThrownSwiftErrorIsCatchableWithPcall() throws {
        vm.setGlobal("explode", vm.function("md.explode") { _ in throw Boom() })
        let f = try vm.load("return pcall(explode)", chunkName: "=p")
        let out = try vm.call(f)
        XCTAssertEqual(out[0], .boolean(false))
        XCTAssertEqual(out[1].stringValue, "md.explode: the disk is on fire")
    }

    func testBadArgumentNamesFunctionAndPosition() throws {
        vm.setGlobal("want", vm.function("md.want") { args in [.str(try args.string(2))] })
        let out = try vm.call(try vm.load("return pcall(want, 1)", chunkName: "=p"))
        XCTAssertEqual(out[1].stringValue, "bad argument #2 to 'md.want' (string expected, got no value)")
        let out2 = try vm.call(try vm.load("return pcall(want, 1, {})", chunkName: "=p"))
        XCTAssertEqual(out2[1].stringValue, "bad argument #2 to 'md.want' (string expected, got table)")
    }

    func testMethodOnWrongObjectIsAnError() throws {
        let f = try vm.load("local a, b = ... return pcall(a.name, b)", chunkName: "=w")
        let out = try vm.call(f, [.object(Tracked("x")), .object(Other())])
        XCTAssertEqual(out[0], .boolean(false))
        XCTAssertEqual(out[1].stringValue,
                       "bad argument #1 to 'test.tracked:name' (test.tracked expected, got userdata)")
    }

    func testLuaErrorInCallbackComesBackAsSwiftError() throws {
        let f = try vm.load("return function(x) error('bad value ' .. x) end", chunkName: "=cb")
        let callback = try vm.call(f)[0]
        XCTAssertThrowsError(try vm.call(callback, [.integer(7)])) { error in
            guard case LuaError.runtime(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.hasPrefix("cb:1: bad value 7"), m)
            XCTAssertTrue(m.contains("stack traceback"), m)
        }
        // A non-string error value is reported by its type.
        let g = try vm.call(try vm.load("return function() error({}) end", chunkName: "=cb2"))[0]
        XCTAssertThrowsError(try vm.call(g)) { error in
            XCTAssertEqual(error as? LuaError, .runtime("(error object is a table value)"))
        }
    }

    /// The stdlib's chunks are base64 text decoded as Lua reads them, in 4 KiB pieces.
    func testPrecompiledChunkFromBase64() throws {
        let dump = try vm.load("""
            local t = {}
            for i = 1, 3000 do t[i] = ("f%d"):format(i) end
            return string.dump(load("local x = 0 " .. table.concat(t, " = 1 ") .. " = 1 return 'done', ..."))
            """, chunkName: "=dump")
        guard case .string(let bytes)? = try vm.call(dump).first else { return XCTFail("no dump") }
        XCTAssertGreaterThan(bytes.count, 3 * 4096, "decoded across several reads")
        var text = Array(Data(bytes).base64EncodedString().utf8)
        let f = try text.withUnsafeBytes { try vm.loadBase64($0, chunkName: "=b64") }
        XCTAssertEqual(try vm.call(f, [.integer(7)]), [.str("done"), .integer(7)])
        // A cut or damaged header is an error (Lua checks no more than that of bytecode:
        // only the binary's own chunks are ever loaded this way).
        let cut = Array(text.prefix(text.count / 2))
        XCTAssertThrowsError(try cut.withUnsafeBytes { try vm.loadBase64($0, chunkName: "=b64") }) { e in
            XCTAssertTrue("\(e)".contains("truncated"), "\(e)")
        }
        text.replaceSubrange(4..<8, with: Array("AAAA".utf8))
        XCTAssertThrowsError(try text.withUnsafeBytes { try vm.loadBase64($0, chunkName: "=b64") })
        XCTAssertThrowsError(try Array("bm90IGx1YQ==".utf8).withUnsafeBytes { try vm.loadBase64($0, chunkName: "=b64") })
    }

    /// Everything but the binary's own stdlib is loaded as text: bytecode is refused.
    func testBytecodeIsRefusedAsSource() throws {
        let dump = try vm.load("return string.dump(function() return 1 end)", chunkName: "=dump")
        guard case .string(let bytes)? = try vm.call(dump).first else { return XCTFail("no dump") }
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try vm.load($0, chunkName: "=bin") }) { e in
            XCTAssertTrue("\(e)".contains("binary chunk"), "\(e)")
        }
    }

    func testSyntaxErrorIsThrown() {
        XCTAssertThrowsError(try vm.load("return +", chunkName: "=bad")) { error in
            guard case LuaError.syntax(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("bad:1:"), m)
        }
    }

    func testGarbageCollectedObjectReleasesItsSwiftOwner() throws {
        weak var weakObj: Tracked?
        try {
            let obj = Tracked("gone")
            weakObj = obj
            vm.setGlobal("held", .object(obj))
        }()
        XCTAssertNotNil(weakObj, "Lua holds the object while it is reachable")
        vm.collectGarbage()
        XCTAssertNotNil(weakObj)
        vm.setGlobal("held", .null)
        vm.collectGarbage()
        XCTAssertNil(weakObj, "__gc released the Swift owner")
    }

    func testClosingTheVMReleasesObjects() throws {
        weak var weakObj: Tracked?
        try {
            let obj = Tracked("closing")
            weakObj = obj
            vm.setGlobal("held", .object(obj))
        }()
        vm.close()
        XCTAssertNil(weakObj)
    }

    func testErrorRoundTripsKeepMemoryFlat() throws {
        vm.setGlobal("explode", vm.function("md.explode") { args in
            throw LuaError.runtime("failure \(try args.integer(1))")
        })
        let loop = try vm.load("""
            local n = ...
            local caught = 0
            for i = 1, n do
              local ok, err = pcall(explode, i)
              if not ok and err == "md.explode: failure " .. i then caught = caught + 1 end
            end
            collectgarbage()
            return caught
            """, chunkName: "=loop")
        XCTAssertEqual(try vm.call(loop, [.integer(20_000)]), [.integer(20_000)])   // warm up
        let before = residentBytes()
        XCTAssertEqual(try vm.call(loop, [.integer(100_000)]), [.integer(100_000)])
        let growth = residentBytes() - before
        // A longjmp over a Swift frame leaked ~1 KiB per error (100 MB here).
        XCTAssertLessThan(growth, 8 << 20, "RSS grew by \(growth) bytes over 1e5 errors")
    }

    func testCoroutinesCanCallSwift() throws {
        vm.setGlobal("twice", vm.function("twice") { args in [.integer(try args.integer(1) * 2)] })
        let f = try vm.load("""
            local co = coroutine.wrap(function(a) local b = coroutine.yield(twice(a)) return twice(b) end)
            return co(2), co(5)
            """, chunkName: "=co")
        XCTAssertEqual(try vm.call(f), [.integer(4), .integer(10)])
    }
}

func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = Int(s.split(separator: " ")[1]) ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The C JSON encoder against the Lua one it replaces for compact output.
final class NativeJSONTests: XCTestCase {
    func testSameOutputAsTheLuaEncoderAndTheSameErrors() throws {
        let runtime = try Runtime(scripts: EmbeddedScripts(chunk: EmbeddedStdlib.chunk, names: { EmbeddedStdlib.names }))
        let check = try runtime.vm.load("""
            package.preload["mdlua.json"] = md._stdlib.load("mdlua.json")
            local j = require "mdlua.json"
            local values = {
              {a = {"x", "y\\n\\1\\127\\u{e9}\\"\\\\"}, b = j.array({}), c = {1, "z", 2.5, 1e20, -0.0, 3.0, 0.1, -7},
               d = {}, e = j.null, f = true, g = false, ["k\\"q"] = {[1] = 1, [2] = 2}, h = {{}, {j.null}}},
              "plain", 42, j.null, j.array({1, {b = 2, a = 1}}), {z = 1, a = 2, m = {y = 1, x = 2}},
            }
            for i, v in ipairs(values) do
              local native = md._json.encode(v, getmetatable(j.array()), j.null)
              if j.encode(v) ~= native then error("json.encode does not use the native encoder") end
              local lua = j.encode(v, {indent = ""}):gsub("\\n", ""):gsub('":%s', '":')
              if native ~= lua then error(("value %d: %s ~= %s"):format(i, native, lua)) end
            end
            local errors = {}
            for _, bad in ipairs({ {0/0}, {[true] = 1}, {f = print}, 1/0 }) do
              local ok, e = pcall(j.encode, bad)
              errors[#errors + 1] = (not ok) and e:gsub("^.-:%d+: ", "") or "encoded"
            end
            local deep = {} local t = deep for _ = 1, 300 do t.x = {} t = t.x end
            local ok = pcall(j.encode, deep)
            return table.concat(errors, "|") .. "|" .. tostring(ok)
            """, chunkName: "=test")
        let r = try runtime.vm.call(check)
        XCTAssertEqual(r.first?.stringValue, "cannot encode -nan as JSON|cannot encode a table with a boolean key as a JSON object|"
                       + "cannot encode a function as JSON|cannot encode inf as JSON|false")
    }
}
