-- The first script the binary runs. It makes the built-in scripts requirable (from
-- MDLUA_STDLIB when set, so a developer can edit them without rebuilding) and hands the
-- command line to the CLI. Returns the process exit status.
local argv = ...
local md = require "mdlua"

local stdlib_dir = os.getenv("MDLUA_STDLIB")
if stdlib_dir == "" then stdlib_dir = nil end

local function search_stdlib(name)
  local rel = name:gsub("%.", "/") .. ".lua"
  if stdlib_dir then
    local path = stdlib_dir .. "/" .. rel
    local f = io.open(path, "rb")
    if f then
      local src = f:read("a")
      f:close()
      return assert(load(src, "@" .. path, "t")), path
    end
  end
  local chunk = md._stdlib.load(name)
  if chunk then return chunk, "stdlib/" .. rel end
  return "\n\tno built-in script 'stdlib/" .. rel .. "'"
end

-- Before the package.path searcher: a file in the current directory must never shadow
-- a built-in module of the CLI.
table.insert(package.searchers, 2, search_stdlib)

local errors = require "mdlua.errors"
-- What scripts call raises errors.lua's tables, as the rest of md does; the stdlib's own
-- code calls them through these too (a caught error is a table: errors.message gives its line).
md.fs = errors.guard(md.fs)
md.sys = errors.guard(md.sys)

-- md.image, md.layer, md.json load on first use: start-up stays cheap.
local lazy = { image = "mdlua.image", layer = "mdlua.layer", json = "mdlua.json", format = "mdlua.format",
               container = "mdlua.container", network = "mdlua.network",
               volume = "mdlua.volume", stack = "mdlua.stack", build = "mdlua.build" }
local guarded = { json = true, format = true }
-- md.commit is two things: the build's commit (a string until now: "%s" and tostring give
-- it, as md.build_commit does) and md.commit(ref, o), c:commit of a container.
local build_commit = md.commit
md.build_commit = build_commit
md.commit = setmetatable({}, {
  __name = "mdlua.commit",
  __call = function(_, ...) return require("mdlua.container").commit(...) end,
  __tostring = function() return build_commit end,
  __concat = function(a, b) return tostring(a) .. tostring(b) end,
})

setmetatable(md, { __index = function(t, k)
  if k == "run" then return require("mdlua.container").run end
  if k == "containers" then return require("mdlua.container").containers end
  if k == "exec" then return require("mdlua.container").exec end
  if k == "pull" or k == "push" or k == "login" or k == "logout" then return require("mdlua.registry")[k] end
  local module = lazy[k]
  if module then
    local m = require(module)
    if guarded[k] then m = errors.guard(m) end
    rawset(t, k, m)
    return m
  end
end })

md.sys.trace("boot")
return require("mdlua.cli").main(argv)
