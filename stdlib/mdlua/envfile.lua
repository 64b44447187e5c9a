-- Environment files as `docker run --env-file` reads them, the one reader of `run
-- --env-file`, a stack service's `env_file` (it reaches run's options) and `mdlua kube`'s
-- ConfigMaps: a line is NAME=VALUE, the value taken as written (quotes, spaces and `#`
-- included); a bare NAME takes the value this process has, and is left out when it has
-- none; leading white space is dropped; blank lines and lines starting with `#` are
-- skipped. A name with white space in it, or no name, is an error naming the file and line.
-- (A Compose file's `.env`, read for interpolation, follows the dotenv rules instead:
-- stack/compose.lua says why.)
local errors = require "mdlua.errors"

local M = {}

-- The variables of the file at `path`, in order, as "NAME=VALUE" strings. `o.lookup(name)`
-- gives a bare name's value (default: os.getenv); `o.what` names the file's user in errors
-- (default "--env-file"); `o.fail(message)` raises them (default: an invalid_option error).
function M.read(path, o)
  o = o or {}
  local what = o.what or "--env-file"
  local lookup = o.lookup or os.getenv
  local fail = o.fail or function(msg) errors.raise("invalid_option", msg) end
  local f, err = io.open(path, "r")
  if not f then fail(("%s: %s"):format(what, tostring(err))) end
  local out, n = {}, 0
  for line in f:lines() do
    n = n + 1
    if n == 1 then line = line:gsub("^\239\187\191", "") end   -- a UTF-8 byte order mark
    line = line:gsub("^%s+", ""):gsub("\r$", "")   -- CRLF lines, as Docker's line scanner drops the CR
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local name, value = line:match("^([^=]*)=(.*)$")
      name = name or line
      if name == "" or name:find("%s") then
        f:close()
        fail(("%s: %s, line %d: invalid variable name %q"):format(what, path, n, name))
      end
      if value then out[#out + 1] = name .. "=" .. value
      else
        local v = lookup(name)
        if v then out[#out + 1] = name .. "=" .. v end
      end
    end
  end
  f:close()
  return out
end

return M
