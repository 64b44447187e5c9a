-- docs/lua-api.md's table of run options and stdlib/meta/md.lua's md.RunOptions classes are
-- generated from stdlib/mdlua/options.lua by scripts/lua-api-tables.lua: both must be what
-- it prints now (regenerate: MDLUA_STDLIB=stdlib .build/debug/mdlua scripts/lua-api-tables.lua update).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local top = here .. "/../.."
local gen = dofile(top .. "/scripts/lua-api-tables.lua")

local function read(rel)
  local f = assert(io.open(top .. "/" .. rel, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

local function check(kind)
  local got, why = gen.extract(read(gen.files[kind]), kind)
  assert_true(got, why)
  if got ~= gen[kind]() then
    error(("%s: the generated part is out of date; run: MDLUA_STDLIB=stdlib .build/debug/mdlua "
      .. "scripts/lua-api-tables.lua update"):format(gen.files[kind]), 0)
  end
end

describe("lua api docs", function()
  it("docs/lua-api.md has the options table of options.lua", function() check("markdown") end)
  it("stdlib/meta/md.lua has the md.RunOptions classes of options.lua", function() check("meta") end)

  it("lists every option in both", function()
    local md_text, meta_text = gen.markdown(), gen.meta()
    for _, e in ipairs(require("mdlua.options").entries) do
      assert_true(md_text:find("| `" .. e.path .. "`", 1, true), e.path .. " in the markdown table")
      assert_true(meta_text:find("---@field " .. e.field, 1, true), e.path .. " in the meta classes")
    end
  end)

  it("notices a table that differs", function()
    local text = read(gen.files.markdown):gsub("| `cgroupns` |", "| `cgroupns2` |")
    assert_true(gen.extract(text, "markdown") ~= gen.markdown(), "an edited table differs")
  end)

  it("keeps the meta file free of effects when loaded", function()
    local saved = md
    local chunk = assert(loadfile(top .. "/stdlib/meta/md.lua"))
    chunk()
    assert_true(rawequal(md, saved), "the global md is untouched")
    assert_true(type(md.run) == "function", "md.run is the real one")
  end)
end)
