-- stdlib/mdlua/detachkeys.lua: --detach-keys in Docker's syntax.
local detachkeys = require "mdlua.detachkeys"

describe("detachkeys.parse", function()
  it("reads Docker's default", function()
    assert_eq(detachkeys.parse("ctrl-p,ctrl-q"), "\x10\x11")
  end)

  it("reads single characters and every ctrl- key Docker knows", function()
    assert_eq(detachkeys.parse("ctrl-x,y"), "\x18y")
    assert_eq(detachkeys.parse("ctrl-a,ctrl-z"), "\x01\x1a")
    assert_eq(detachkeys.parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"), "\0\27\28\29\30\31")
    assert_eq(detachkeys.parse("a,b"), "ab")
  end)

  it("leaves the default to the engine when none is given", function()
    assert_eq(detachkeys.parse(nil), nil)
    assert_eq(detachkeys.parse(""), nil)
  end)

  it("refuses what Docker refuses, naming the key", function()
    for _, bad in ipairs { "ctrl-1", "ctrl-", "ab", "ctrl-p,", "meta-x" } do
      local keys, err = detachkeys.parse(bad)
      assert_eq(keys, nil)
      assert_true(err ~= nil and err:find("unknown key", 1, true) ~= nil, bad)
    end
  end)
end)
