-- stdlib/mdlua/errors.lua: the API's errors (tables with code, message, status) and the
-- one check of option names every options table uses.
local errors = require "mdlua.errors"

local function caught(fn, ...)
  local ok, e = pcall(fn, ...)
  assert_true(not ok, "an error")
  return e
end

describe("errors", function()
  it("raises tables with a code, a message and status 125, whose tostring is the message", function()
    local e = caught(errors.raise, "not_found", "md.x: no such thing")
    assert_true(errors.is(e), "an Error")
    assert_eq(e.code, "not_found")
    assert_eq(e.message, "md.x: no such thing")
    assert_eq(tostring(e), "md.x: no such thing")
    assert_eq(errors.status(e), 125)
    assert_eq(errors.message(e), "md.x: no such thing")
  end)

  it("keeps errors.fail's message and exit status", function()
    local e = caught(errors.fail, "bad flag")
    assert_eq(e.code, "failed")
    assert_eq(e.status, 125)
    assert_eq(caught(errors.fail, "usage", 2).status, 2)
    assert_eq(caught(errors.fail, "x", "conflict").code, "conflict")
    assert_eq(errors.status("a string"), nil)
  end)

  it("classifies an engine's messages", function()
    assert_eq(errors.classify("md.container.get: no such container: web"), "not_found")
    assert_eq(errors.classify("md.container.remove: container web is running: stop it first, or use -f"), "conflict")
    assert_eq(errors.classify("md.layer.remove: layer 80601325a691 is used by image x:1"), "conflict")
    assert_eq(errors.classify("md.container.create: the name web is already in use"), "conflict")
    assert_eq(errors.classify("bad argument #2 to 'md.image.get' (string expected)"), "invalid_argument")
    assert_eq(errors.classify("md.image.load: x: not a tar archive"), "engine")
  end)

  it("guards a binding: string errors become tables, renamed; results pass through", function()
    local b = errors.guard({ ok = function(a, b) return a, b, nil, 4 end,
                             bad = function() error("md.layer.remove: no such layer: x", 0) end,
                             worse = function() error({ code = "x" }) end, n = 1 },
                           { bad = "md.layer.rm" })
    assert_same({ b.ok(1, 2) }, { 1, 2, nil, 4 })
    assert_eq(select("#", b.ok(1, 2)), 4)
    assert_eq(b.n, 1)
    local e = caught(b.bad)
    assert_eq(e.code, "not_found")
    assert_eq(e.message, "md.layer.rm: no such layer: x")
    assert_eq(caught(b.worse).code, "x")
  end)

  it("rejects unknown option names, naming the first", function()
    assert_same(errors.check_options(nil, "f", { "a" }), {})
    local o = { a = 1 }
    assert_true(rawequal(errors.check_options(o, "f", { "a", "b" }), o), "returns the table")
    -- Called by pcall (C), as an API function would be: no position in the message.
    local _, e = pcall(errors.check_options, { a = 1, zz = 2, tag = 3 }, "c:commit", { "a" }, 2)
    assert_eq(e.code, "invalid_option")
    assert_eq(e.message, 'c:commit: unknown field "tag"')
    assert_eq(select(2, pcall(errors.check_options, { x = 1 }, "f", { y = true }, 2)).message, 'f: unknown field "x"')
    assert_eq(caught(errors.check_options, "x", "f", {}).code, "invalid_option")
    assert_eq(select(2, pcall(errors.check_options, { 1 }, "f", {}, 2)).message, 'f: unknown field "1"')
  end)

  it("names the line that called the API function, as error(msg, 2) does", function()
    local function api(o) errors.check_options(o, "api", { "a" }) end
    local line = debug.getinfo(1, "l").currentline + 1
    local ok, e = pcall(function() api({ b = 1 }) end)
    assert_eq(e.message, ("%s:%d: api: unknown field \"b\""):format(debug.getinfo(1, "S").short_src, line))
    assert_eq(select(2, pcall(api, { b = 1 })).message, 'api: unknown field "b"')
  end)

  it("is what options.lua raises for a bad field", function()
    local options = require "mdlua.options"
    local e = caught(options.check, { image = "busybox", memroy = "64m" }, "md.run", 2)
    assert_eq(e.code, "invalid_option")
    assert_eq(e.message, 'md.run: unknown field "memroy"')
    assert_eq(caught(options.check_update, { memory = "1g" }, "c:update", 2).code, "invalid_option")
    assert_eq(caught(options.fail, "invalid --memory \"x\"").message, 'invalid resources.memory "x"')
  end)
end)
