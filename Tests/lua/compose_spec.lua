-- stdlib/mdlua/stack/compose.lua and the YAML reader under it (md._yaml, mdl_yaml.c).
local compose = require "mdlua.stack.compose"

local function message(fn, ...)
  local ok, e = pcall(fn, ...)
  assert_true(not ok, "expected an error")
  return type(e) == "table" and e.message or tostring(e)
end

describe("yaml", function()
  local null = {}
  it("types plain scalars as YAML 1.2's core schema, quoted ones stay strings", function()
    local v = md._yaml.decode('a: 1\nb: "1"\nc: true\nd: ~\ne: 1.5\nf: 0x10\ng: yes\nh: 0o17\ni: 12abc\nj:\n', null)
    assert_same({ v.a, v.b, v.c, v.e, v.f, v.g, v.h, v.i }, { 1, "1", true, 1.5, 16, "yes", 15, "12abc" })
    assert_true(v.d == null and v.j == null, "nulls")
    assert_eq(math.type(v.a), "integer")
  end)
  it("resolves anchors and merge keys, explicit keys winning", function()
    local v = md._yaml.decode("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: [*b, *b]\n", null)
    assert_same(v.c, { x = 1, y = 3 })
    assert_same(v.d, { { x = 1, y = 2 }, { x = 1, y = 2 } })
  end)
  it("refuses bad YAML with its position, and alias bombs", function()
    assert_true(message(md._yaml.decode, "a: [1, 2", null):find("line 2", 1, true) ~= nil, "position")
    local bomb = { "a: &a [x,x,x,x,x,x,x,x,x,x]" }
    for i, n in ipairs { "b", "c", "d", "e", "f", "g" } do
      local prev = ({ "a", "b", "c", "d", "e", "f" })[i]
      bomb[#bomb + 1] = ("%s: &%s [%s]"):format(n, n, ("*" .. prev .. ","):rep(9) .. "*" .. prev)
    end
    assert_true(message(md._yaml.decode, table.concat(bomb, "\n"), null):find("too many values", 1, true) ~= nil, "bomb")
    assert_eq(md._yaml.decode("", null), nil)
  end)
end)

describe("compose", function()
  it("interpolates as Compose does", function()
    local vars = { A = "1", E = "" }
    local function lookup(n) return vars[n] end
    assert_eq(compose.interpolate("${A}-${B:-b}-${E:-e}-${E-x}-$A", lookup, "t"), "1-b-e--1")
    assert_eq(message(compose.interpolate, "${B:?B is needed}", lookup, "t"), "t: B is needed")
    assert_eq(message(compose.interpolate, "${B?}", lookup, "t"), "t: variable B is not set")
    assert_eq(message(compose.interpolate, "${A B}", lookup, "t"), "t: invalid interpolation ${A B}")
  end)
  it("reads .env files", function()
    assert_same(compose.dotenv('# c\nA=1\nexport B="two words"\nC=x # note\nD=\'$lit\'\n'),
                { A = "1", B = "two words", C = "x", D = "$lit" })
    assert_same(compose.dotenv('Q="quoted" # note\nS=\'it\\\'s\' # note\nE="a\\tb\\"c\\\\"\nH=a#b\n'),
                { Q = "quoted", S = "it's", E = 'a\tb"c\\', H = "a#b" })
    assert_true(message(compose.dotenv, "not a line"):find("NAME=VALUE", 1, true) ~= nil, "bad line")
    assert_eq(message(compose.dotenv, 'A=1\nB="open'), ".env, line 2: unterminated or trailing text after the quoted value of B")
  end)
  it("turns long forms into short ones and keeps unknown keys for the model to name", function()
    local t = compose.stack { services = { web = {
      ports = { { target = 80, published = 8080 }, { target = 53, protocol = "udp" }, 9000 },
      volumes = { { type = "bind", source = "./s", target = "/s", read_only = true }, { type = "volume", source = "d", target = "/d" } },
      image = "busybox", bogus = 1 } }, ["x-any"] = {} }
    assert_same(t.services.web.ports, { "8080:80", "53/udp", "9000" })
    assert_same(t.services.web.volumes, { "./s:/s:ro", "d:/d" })
    assert_true(t["x-any"] == nil, "extension fields dropped")
    assert_eq(message(require("mdlua.stack.model").normalise, t), 'services.web: unknown key "bogus"')
    assert_eq(message(compose.stack, { services = {}, configs = {} }),
              'unknown top-level key "configs" (services, networks, volumes, name)')
  end)
  it("gives a variable with no value the environment's, or leaves it out", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("services:\n  web:\n    image: busybox\n    environment:\n      SET: 1\n      FROM_HOST:\n      UNSET_HERE:\n")
    f:close()
    local t = compose.load(path, { env = { FROM_HOST = "host value" } })
    os.remove(path)
    assert_same(t.services.web.environment, { SET = 1, FROM_HOST = "host value", UNSET_HERE = false })
  end)
  it("writes a stack.lua that loads back to the same stack", function()
    local t = compose.stack { name = "p", services = { web = { image = "busybox", command = { "echo", "end" },
                                                                ["end"] = nil } } }
    local src = compose.lua(t, "x.yaml")
    local back = assert(load(src, "=stack", "t", { md = { stack = function(x) return x end } }))()
    assert_same(back, t)
  end)
end)
