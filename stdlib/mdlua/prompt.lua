-- Docker's confirmation prompt for destructive commands (the prune commands): the message,
-- " [y/N] " on stdout, then one line read from stdin. Only "y" or "Y" (blanks around it
-- aside) is a yes; anything else, an empty line and end of input (stdin from /dev/null, a
-- closed pipe) are a no, as Docker reads them. A script answers with `-f` or a piped "y".
local M = {}

function M.confirm(message)
  io.stdout:write(message, " [y/N] ")
  io.stdout:flush()
  local answer = io.stdin:read("l")
  return answer ~= nil and answer:match("^%s*[yY]%s*$") ~= nil
end

return M
