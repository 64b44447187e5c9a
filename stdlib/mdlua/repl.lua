-- `mdlua` on a terminal: a Lua prompt with the runtime loaded. Line editing and history
-- come from libedit (md.readline); an incomplete chunk waits for more lines, as `lua` does;
-- expressions print their values. Ctrl-C cancels the line (or the chunk being continued)
-- or stops the chunk running, Ctrl-D exits, `help` says where the API is described. The history is kept in
-- $MDLUA_HISTORY, else ~/.mdlua_history.
local md = require "mdlua"
local errors = require "mdlua.errors"
local pretty = require "mdlua.pretty"

local M = {}

local function history_file()
  local f = os.getenv("MDLUA_HISTORY")
  if f and f ~= "" then return f end
  return (os.getenv("HOME") or ".") .. "/.mdlua_history"
end

-- The names a table answers through an __index function, as md answers md.image, md.run
-- and its other parts loaded on first use (stdlib/mdlua/boot.lua). The function's upvalues
-- say which: a table of names to module names (boot.lua's list of lazy parts) gives those
-- names, and the names those modules export are candidates too (md.run is the container
-- module's run). Each candidate is looked up as a use would (which loads its module) and
-- offered if it is there.
local function lazy_names(tbl, index)
  local candidates, modules = {}, {}
  for i = 1, math.huge do
    local name, value = debug.getupvalue(index, i)
    if not name then break end
    if type(value) == "table" then
      local all_strings = next(value) ~= nil
      for k, v in next, value do
        if type(k) ~= "string" or type(v) ~= "string" then all_strings = false; break end
      end
      if all_strings then
        for k, v in next, value do candidates[k] = true; modules[#modules + 1] = v end
      end
    end
  end
  for _, module in ipairs(modules) do
    local ok, m = pcall(require, module)
    if ok and type(m) == "table" then
      for k in next, m do if type(k) == "string" then candidates[k] = true end end
    end
  end
  local names = {}
  for k in pairs(candidates) do
    if rawget(tbl, k) == nil then
      local ok, v = pcall(index, tbl, k)
      if ok and v ~= nil then names[#names + 1] = k end
    end
  end
  return names
end

-- Completion of `a.b.c` and `a:b` names: walks the globals (and __index tables) without
-- running any metamethod, except an __index function of a table the name goes through.
function M.complete(text)
  local prefix, sep, partial = text:match("^(.*)([%.:])([%w_]*)$")
  local t = _G
  if prefix then
    for part in prefix:gmatch("[^%.:]+") do
      if type(t) ~= "table" then return {} end
      t = rawget(t, part)
    end
  else
    prefix, sep, partial = "", "", text
  end
  local seen, out = {}, {}
  local function collect(tbl, depth)
    if type(tbl) ~= "table" or depth > 4 then return end
    for k in next, tbl do
      if type(k) == "string" and not seen[k] and k:sub(1, #partial) == partial
        and k:match("^[%a_][%w_]*$") then
        seen[k] = true
        out[#out + 1] = prefix .. sep .. k
      end
    end
    local mt = getmetatable(tbl)
    if type(mt) ~= "table" then return end
    local index = rawget(mt, "__index")
    if type(index) == "function" then
      for _, k in ipairs(lazy_names(tbl, index)) do
        if not seen[k] and k:sub(1, #partial) == partial and k:match("^[%a_][%w_]*$") then
          seen[k] = true
          out[#out + 1] = prefix .. sep .. k
        end
      end
    else
      collect(index, depth + 1)
    end
  end
  if type(t) == "userdata" then
    local mt = getmetatable(t)
    if type(mt) == "table" then collect(rawget(mt, "__index"), 0) end
  else
    collect(t, 0)
  end
  table.sort(out)
  return out
end

local function incomplete(err)
  return err and err:sub(-5) == "<eof>"
end

local function compile(chunk)
  local fn = load("return " .. chunk, "=stdin", "t")
  if fn then return fn end
  return load(chunk, "=stdin", "t")
end

local function show(results)
  if results.n == 0 then return end
  local parts = {}
  for i = 1, results.n do parts[i] = pretty.format(results[i]) end
  print(table.concat(parts, "\t"))
end

-- What `help` at the prompt prints: where the API and the commands are described.
function M.help_text()
  local names = {}
  for _, n in ipairs(M.complete("md.")) do
    if not n:match("^md%._") then names[#names + 1] = n end
  end
  return table.concat({
    "md is the API; its parts: " .. table.concat(names, ", "),
    "  Tab completes names (md.image.<Tab>); a function's use is in the header comment of",
    "  its module, stdlib/mdlua/*.lua in the source tree (md.run and md.container: container.lua).",
    "  md.run{image=\"busybox\", cmd={\"echo\", \"hi\"}, capture=true}",
    "  md.containers{all=true}, md.image.list(), md.container.get(\"web\"):inspect()",
    "The commands: `mdlua help` in a shell, `mdlua help COMMAND` for one; each is a Lua script",
    "  (stdlib/commands/) over the same md API. More: README.md and docs/ (docs/design.md first).",
    "Ctrl-C cancels the line or stops what runs, Ctrl-D exits.",
  }, "\n")
end

function M.run()
  local rl = md.readline
  local history = history_file()
  rl.read_history(history)
  rl.set_completer(M.complete)
  print(("mdlua %s (%s) - md is loaded; help for the API, Ctrl-D exits"):format(md.version, md.lua_release))
  while true do
    local line = rl.readline("> ")
    if line == nil then io.write("\n"); break end
    -- false: Ctrl-C cancelled the line.
    if line == false then goto continue end
    if line:match("^%s*help%s*$") and rawget(_G, "help") == nil then
      print(M.help_text())
      rl.add_history(line)
      rl.write_history(history)
      goto continue
    end
    local chunk = line
    local fn, err = compile(chunk)
    while not fn and incomplete(err) do
      local more = rl.readline(">> ")
      if more == false then goto continue end
      if more == nil then break end
      chunk = chunk .. "\n" .. more
      fn, err = compile(chunk)
    end
    if chunk:match("%S") then
      rl.add_history(chunk)
      rl.write_history(history)
    end
    if not fn then
      io.stderr:write(err, "\n")
    else
      -- Ctrl-C stops the chunk ("interrupted!") and comes back to the prompt.
      rl.catch_interrupts(true)
      local results = table.pack(xpcall(fn, errors.traceback))
      rl.catch_interrupts(false)
      if results[1] then
        show(table.pack(table.unpack(results, 2, results.n)))
      else
        io.stderr:write(tostring(results[2]), "\n")
      end
    end
    ::continue::
  end
  return 0
end

return M
