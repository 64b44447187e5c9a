-- The argument parser every subcommand shares: Docker-style flags.
--
-- A spec is a list of flags:
--   { name = "detach", short = "d", type = "bool", help = "Run in the background" }
--   { name = "env", short = "e", type = "list", metavar = "K=V", help = "..." }
-- Types: "bool", "string", "int", "number", "list" (repeatable, in order). A string, int
-- or number given twice keeps the last value, as Docker's CLI does.
--
-- Handles -d, -it (combined short flags), -eA=1 and -e A=1, --name x, --name=x,
-- --rm=false, -- to end the flags, and with `interspersed = false` stops at the first
-- positional argument, so `run IMAGE sh -c 'ls -l'` leaves "-l" to the container.
local errors = require "mdlua.errors"

local M = {}

local function display(f)
  if f.short and f.name then return "-" .. f.short .. ", --" .. f.name end
  if f.name then return "--" .. f.name end
  return "-" .. f.short
end

local function index(spec)
  local long, short = {}, {}
  for _, f in ipairs(spec) do
    if f.name then long[f.name] = f end
    if f.short then short[f.short] = f end
  end
  return long, short
end

local function key(f) return f.name or f.short end

local function convert(f, raw, shown)
  local t = f.type or "string"
  if t == "int" then
    local n = math.tointeger(tonumber(raw))
    if not n or not raw:match("^%s*[-+]?%d+%s*$") then
      errors.fail(("invalid argument %q for %q flag: expected an integer"):format(raw, display(f)))
    end
    return n
  elseif t == "number" then
    local n = tonumber(raw)
    if not n then
      errors.fail(("invalid argument %q for %q flag: expected a number"):format(raw, display(f)))
    end
    return n
  elseif t == "bool" then
    local v = ({ ["true"] = true, ["1"] = true, ["false"] = false, ["0"] = false })[raw]
    if v == nil then
      errors.fail(("invalid argument %q for %q flag: expected true or false"):format(raw, shown))
    end
    return v
  end
  return raw
end

local function store(values, f, v)
  if f.type == "list" then
    local list = values[key(f)]
    list[#list + 1] = v
  else
    values[key(f)] = v
  end
end

-- Returns the flag values (by long name, or short name for short-only flags) and the list
-- of positional arguments. Raises an mdlua error naming the flag on bad input.
function M.parse(spec, argv, opts)
  opts = opts or {}
  local long, short = index(spec)
  local values, positionals = {}, {}
  for _, f in ipairs(spec) do
    if f.type == "list" then values[key(f)] = {}
    elseif f.default ~= nil then values[key(f)] = f.default
    elseif f.type == "bool" then values[key(f)] = false end
  end

  local i, stopped = 1, false
  local function take_value(shown)
    i = i + 1
    if argv[i] == nil then errors.fail("flag needs an argument: " .. shown) end
    return argv[i]
  end

  while i <= #argv do
    local a = argv[i]
    if stopped then
      positionals[#positionals + 1] = a
    elseif a == "--" then
      stopped = true
    elseif a:sub(1, 2) == "--" then
      local name, raw = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local f = long[name]
      if not f then errors.fail("unknown flag: --" .. name) end
      if f.type == "bool" then
        store(values, f, raw == nil and true or convert(f, raw, "--" .. name))
      else
        store(values, f, convert(f, raw or take_value("--" .. name), "--" .. name))
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local j = 2
      while j <= #a do
        local c = a:sub(j, j)
        local f = short[c]
        if not f then errors.fail(("unknown shorthand flag: '%s' in %s"):format(c, a)) end
        if f.type == "bool" then
          if a:sub(j + 1, j + 1) == "=" then
            store(values, f, convert(f, a:sub(j + 2), "-" .. c))
            break
          end
          store(values, f, true)
          j = j + 1
        else
          local rest = a:sub(j + 1):gsub("^=", "", 1)
          if rest == "" then rest = take_value(("'%s' in %s"):format(c, a)) end
          store(values, f, convert(f, rest, "-" .. c))
          break
        end
      end
    else
      positionals[#positionals + 1] = a
      if opts.interspersed == false then stopped = true end
    end
    i = i + 1
  end
  return values, positionals
end

-- The flag table of a usage text, one flag a line, help aligned.
function M.usage(spec)
  local rows, width = {}, 0
  for _, f in ipairs(spec) do
    local left = f.short and ("-" .. f.short .. (f.name and ", " or "")) or "    "
    if f.name then left = left .. "--" .. f.name end
    if f.type and f.type ~= "bool" then
      left = left .. " " .. (f.metavar or (f.type == "list" and "value" or f.type))
    end
    rows[#rows + 1] = { left, f.help or "" }
    width = math.max(width, #left)
  end
  local out = {}
  for _, r in ipairs(rows) do
    out[#out + 1] = ("  %-" .. width .. "s   %s"):format(r[1], r[2])
  end
  return table.concat(out, "\n")
end

return M
