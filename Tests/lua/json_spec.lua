-- stdlib/mdlua/json.lua: JSON that round-trips, with json.null and json.array().
local json = require "mdlua.json"

describe("json.encode", function()
  it("sorts object keys and keeps arrays", function()
    assert_eq(json.encode { b = 1, a = json.array { 1, 2 }, c = { d = true } }, '{"a":[1,2],"b":1,"c":{"d":true}}')
  end)

  it("tells empty objects from empty arrays", function()
    assert_eq(json.encode {}, "{}")
    assert_eq(json.encode(json.array()), "[]")
  end)

  it("writes null, integers and floats", function()
    assert_eq(json.encode { a = json.null }, '{"a":null}')
    assert_eq(json.encode(json.array { 1, 2.5, -3, 2.0, 1e20 }), "[1,2.5,-3,2,1e+20]")
    assert_error("cannot encode", json.encode, 0 / 0)
  end)

  it("escapes strings", function()
    assert_eq(json.encode("a\"b\\c\n\t\1"), [["a\"b\\c\n\t\u0001"]])
  end)

  it("indents on request", function()
    assert_eq(json.encode({ a = json.array { 1 } }, { indent = "  " }), '{\n  "a": [\n    1\n  ]\n}')
  end)
end)

describe("json.decode", function()
  it("reads what encode writes", function()
    local doc = '{"a":[1,2.5,"x",null,true,false],"b":{},"c":[]}'
    local v = json.decode(doc)
    assert_eq(v.a[4], json.null)
    assert_eq(math.type(v.a[1]), "integer")
    assert_true(json.is_array(v.c), "[] is an array")
    assert_eq(json.encode(v), doc)
  end)

  it("reads escapes and surrogate pairs", function()
    assert_eq(json.decode([["\u00e9\ud83d\ude00\n\/"]]), "\u{e9}\u{1F600}\n/")
  end)

  it("names the byte of an error", function()
    assert_error("invalid JSON at byte 8: expected , or }", json.decode, '{"a":1 "b":2}')
    assert_error("unterminated string", json.decode, '"abc')
    assert_error("unexpected data after the value", json.decode, "1 2")
    assert_error("nested too deeply", json.decode, ("["):rep(1000) .. ("]"):rep(1000))
  end)
end)
