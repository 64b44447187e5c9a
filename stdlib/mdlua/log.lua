-- Leveled logging to stderr, set by the global --log-level option.
local M = {}

local levels = { debug = 1, info = 2, warn = 3, error = 4 }
M.names = { "debug", "info", "warn", "error" }
local threshold = levels.warn

function M.set_level(name)
  local l = levels[name]
  if not l then return nil, "invalid log level \"" .. tostring(name) .. "\" (expected debug, info, warn or error)" end
  threshold = l
  M.level = name
  return true
end
M.level = "warn"

for name, l in pairs(levels) do
  M[name] = function(fmt, ...)
    if l >= threshold then
      io.stderr:write(name, ": ", select("#", ...) > 0 and fmt:format(...) or fmt, "\n")
    end
  end
end

return M
