-- Where subcommands come from: `<name>.lua` in a directory on MDLUA_PATH (first match
-- wins, so a user can replace a built-in command), then the built-in stdlib/commands/.
--
-- A command script returns a table:
--   { summary = "one line for `mdlua help`", usage = "mdlua NAME [OPTIONS] ...",
--     flags = { ...flag specs, see mdlua.flags... }, interspersed = true,
--     run = function(opts, args) ... return exit_status end }
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}

local function path_dirs()
  local dirs = {}
  for dir in (os.getenv("MDLUA_PATH") or ""):gmatch("[^:]+") do dirs[#dirs + 1] = dir end
  return dirs
end

local function check(cmd, name, origin)
  if type(cmd) ~= "table" or type(cmd.run) ~= "function" then
    errors.fail(("command %s (%s) must return a table with a run function"):format(name, origin))
  end
  cmd.name = name
  cmd.origin = origin
  cmd.flags = cmd.flags or {}
  -- Two flags with one spelling: the parser would take the last one silently.
  local seen = {}
  for _, f in ipairs(cmd.flags) do
    for _, spelling in ipairs { f.name and ("--" .. f.name) or false, f.short and ("-" .. f.short) or false } do
      if spelling and seen[spelling] then
        errors.fail(("command %s (%s) defines the flag %s twice"):format(name, origin, spelling))
      end
      if spelling then seen[spelling] = true end
    end
  end
  return cmd
end

-- The command table for name, or nil.
function M.find(name)
  if not name:match("^[%w][%w_%-]*$") then return nil end
  for _, dir in ipairs(path_dirs()) do
    local path = dir .. "/" .. name .. ".lua"
    local f = io.open(path, "rb")
    if f then
      f:close()
      local chunk, err = loadfile(path, "t")
      if not chunk then errors.fail(err) end
      return check(chunk(), name, path)
    end
  end
  if md._stdlib.has("commands." .. name) then
    return check(require("commands." .. name), name, "built-in")
  end
  return nil
end

-- Every command name, sorted, built-in and from MDLUA_PATH.
function M.names()
  local seen, names = {}, {}
  local function add(n)
    if not seen[n] then seen[n] = true; names[#names + 1] = n end
  end
  for _, m in ipairs(md._stdlib.names()) do
    local n = m:match("^commands%.([%w_%-]+)$")
    if n then add(n) end
  end
  for _, dir in ipairs(path_dirs()) do
    for _, file in ipairs(md.sys.listdir(dir) or {}) do
      local n = file:match("^([%w][%w_%-]*)%.lua$")
      if n then add(n) end
    end
  end
  table.sort(names)
  return names
end

local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- The closest command name to a mistyped one, if any is close enough.
function M.suggest(name)
  local best, best_d
  for _, n in ipairs(M.names()) do
    local d = distance(name, n)
    if n:sub(1, #name) == name and #name >= 2 then d = math.min(d, 1) end
    if not best_d or d < best_d then best, best_d = n, d end
  end
  if best_d and best_d <= math.max(2, #name // 3) then return best end
  return nil
end

-- For commands that take several containers or images (rm, stop, kill, ...): runs `fn` on
-- each argument, prints the argument when it succeeded, and fails after trying them all,
-- naming every one that failed. `name` is the command, for "requires" errors.
function M.each(name, args, fn)
  if #args == 0 then errors.fail(name .. ": requires at least 1 argument") end
  local failed = {}
  for _, ref in ipairs(args) do
    local ok, err = pcall(fn, ref)
    if ok then
      if err ~= false then print(ref) end
    else
      failed[#failed + 1] = errors.message(err)
    end
  end
  if #failed > 0 then errors.fail(table.concat(failed, "; ")) end
  return 0
end

-- A subcommand of a group: `subcommands = { ls = "images", ... }` names another
-- command's module (commands.<name>), or holds the table itself.
function M.subcommand(group, name)
  local sub = group.subcommands[name]
  if sub == nil then
    for n, s in pairs(group.subcommands) do
      if type(s) == "table" and s.aliases then
        for _, a in ipairs(s.aliases) do if a == name then sub = s end end
      end
    end
  end
  if type(sub) == "string" then sub = M.find(sub) end
  if type(sub) ~= "table" then return nil end
  sub = check(sub, group.name .. " " .. name, group.origin)
  return sub
end

-- The full help text of a command.
function M.help(cmd)
  local out = { "Usage:  " .. (cmd.usage or ("mdlua " .. cmd.name .. " [OPTIONS]")), "" }
  if cmd.summary then out[#out + 1] = cmd.summary; out[#out + 1] = "" end
  if cmd.description then out[#out + 1] = cmd.description; out[#out + 1] = "" end
  local spec = { table.unpack(cmd.flags) }
  local short_h = true
  for _, f in ipairs(spec) do if f.short == "h" then short_h = false end end
  spec[#spec + 1] = { name = "help", short = short_h and "h" or nil, type = "bool", help = "Print this help" }
  if cmd.subcommands then
    local names, width = {}, 0
    for n in pairs(cmd.subcommands) do names[#names + 1] = n; width = math.max(width, #n) end
    table.sort(names)
    out[#out + 1] = "Commands:"
    for _, n in ipairs(names) do
      local ok, sub = pcall(M.subcommand, cmd, n)
      out[#out + 1] = ("  %-" .. width .. "s   %s"):format(n, ok and sub and sub.summary or "")
    end
    out[#out + 1] = ""
  end
  out[#out + 1] = "Options:"
  out[#out + 1] = require("mdlua.flags").usage(spec)
  return table.concat(out, "\n")
end

return M
