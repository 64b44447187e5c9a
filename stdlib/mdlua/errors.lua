-- Errors the CLI reports as a single line ("mdlua: ...") with an exit status, as opposed
-- to bugs, which keep their traceback.
local M = {}

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.message end

-- Raises a user-facing error. `code` defaults to 125, Docker's "the engine failed".
function M.fail(message, code)
  error(setmetatable({ message = message, code = code or 125 }, Error), 0)
end

function M.is(e)
  return getmetatable(e) == Error
end

-- The one-line message of any error value, without the "file:line:" prefix Lua adds to
-- errors raised by Swift bindings and by error("...") in the stdlib.
function M.message(e)
  if M.is(e) then return e.message end
  return tostring(e)
end

-- A traceback for an error in a user's code, without the frames of the mdlua scripts
-- that called it (everything from the xpcall that ran the user's code down).
function M.traceback(e)
  if type(e) ~= "string" then return e end
  local tb = debug.traceback(e, 2)
  return (tb:gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
end

return M
