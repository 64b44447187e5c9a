-- Errors. Every error the md.* API raises is a table (an Error): `code`, a short stable
-- word a script can branch on, `message`, the one line the CLI prints (`tostring(err)` is
-- the message), and `status`, the exit status the CLI gives when it escapes (125, Docker's
-- "the engine failed"). Bugs are strings and keep their traceback.
--
--   code               what
--   not_found          no such container, image or layer
--   invalid_option     an options table: an unknown name, a wrong type, a bad value
--   invalid_argument   a positional argument of the wrong type or shape
--   conflict           the object's state forbids it: in use, running, not running, a name taken
--   start_failed       a container's or exec's process did not start (status 125, 126 or 127)
--   unauthorized       a registry refused the credentials, or wants some
--   engine             anything else the engine refused or failed at
--   failed             a command of the CLI that failed (errors.fail)
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "mdlua.error"
Error.__tostring = function(e) return e.message end
M.Error = Error

function M.new(code, message, status)
  return setmetatable({ code = code, message = message, status = status or 125 }, Error)
end

-- Raises an API error. `level`, as error()'s: the message starts with the position of
-- that caller ("script.lua:4: "), when it is Lua code.
function M.raise(code, message, level)
  if level and level > 0 then
    local info = debug.getinfo(level + 1, "Sl")
    if info and info.currentline > 0 then message = ("%s:%d: %s"):format(info.short_src, info.currentline, message) end
  end
  error(M.new(code, message), 0)
end

-- Raises a user-facing error of the CLI: `status` (default 125) is the exit status; a
-- string instead is the code.
function M.fail(message, status)
  if type(status) == "string" then error(M.new(status, message), 0) end
  error(M.new("failed", message, status), 0)
end

function M.is(e)
  return getmetatable(e) == Error
end

-- The exit status an escaped error gives (nil for a bug).
function M.status(e)
  if M.is(e) then return e.status end
end

-- The one-line message of any error value, without the "file:line:" prefix Lua adds to
-- errors raised by Swift bindings and by error("...") in the stdlib.
function M.message(e)
  if M.is(e) then return e.message end
  return tostring(e)
end

-- The code of an engine's message (a string a binding raised).
local conflicts = { "already in use", "is in use", "is used by", "still used by", "is running", "already running",
                    "not running", "is not paused", "is paused", "cannot be started", "still has processes",
                    "cannot be attached", ", not paused", ", not running", "has active endpoints" }
function M.classify(msg)
  if msg:find("no such ", 1, true) or msg:find("No such file", 1, true) then return "not_found" end
  -- A registry's refusals (Sources/MDCore/Registry/RegistrySession.swift).
  if msg:find(": not found: ", 1, true) or msg:find("is missing from the registry", 1, true) then return "not_found" end
  if msg:find(": unauthorized", 1, true) or msg:find("authentication required", 1, true) then return "unauthorized" end
  if msg:find("bad argument", 1, true) then return "invalid_argument" end
  for _, p in ipairs(conflicts) do
    if msg:find(p, 1, true) then return "conflict" end
  end
  return "engine"
end

-- The error `e` (a binding's string or an Error) as an Error; `name` replaces the
-- binding's name at the start of the message ("md.layer.remove: ..." -> "md.layer.rm: ...").
function M.from(e, name)
  if M.is(e) then return e end
  if type(e) ~= "string" then return e end
  if name then e = e:gsub("^md%.[%w_.]+: ", name .. ": ", 1) end
  return M.new(M.classify(e), e)
end

local function rethrow(name, ok, ...)
  if ok then return ... end
  error(M.from((...), name), 0)
end

-- A copy of a binding table (md._runtime, md._image) whose functions raise Errors instead
-- of strings. `names`: key -> the name its messages should start with.
function M.guard(binding, names)
  names = names or {}
  local out = {}
  for k, f in pairs(binding) do
    if type(f) == "function" then
      local name = names[k]
      out[k] = function(...) return rethrow(name, pcall(f, ...)) end
    else
      out[k] = f
    end
  end
  return out
end

-- Checks that the options table `o` of `fn` has only the names in `known` (a set, or a
-- list of names); nil is an empty table. Raises invalid_option naming the first unknown
-- name (sorted), or when `o` is not a table, at the line that called `fn` (`level`: 3,
-- for a function that calls this one directly). Returns `o` (or {}).
function M.check_options(o, fn, known, level)
  level = level or 3
  if o == nil then return {} end
  if type(o) ~= "table" then M.raise("invalid_option", fn .. ": expected a table of options, got " .. type(o), level) end
  local set = known
  if known[1] then
    set = {}
    for _, k in ipairs(known) do set[k] = true end
  end
  local unknown = {}
  for k in pairs(o) do
    if not set[k] then unknown[#unknown + 1] = tostring(k) end
  end
  if #unknown > 0 then
    table.sort(unknown)
    M.raise("invalid_option", ("%s: unknown field %q"):format(fn, unknown[1]), level)
  end
  return o
end

-- A traceback for an error in a user's code, without the frames of the mdlua scripts
-- that called it (everything from the xpcall that ran the user's code down).
function M.traceback(e)
  if type(e) ~= "string" then return e end
  local tb = debug.traceback(e, 2)
  return (tb:gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
end

return M
