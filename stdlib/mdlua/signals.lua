-- Signal names and numbers (x86_64 Linux), for --stop-signal, kill -s and exit statuses.
local M = {}

M.numbers = { HUP = 1, INT = 2, QUIT = 3, ILL = 4, TRAP = 5, ABRT = 6, BUS = 7, FPE = 8, KILL = 9, USR1 = 10,
  SEGV = 11, USR2 = 12, PIPE = 13, ALRM = 14, TERM = 15, STKFLT = 16, CHLD = 17, CONT = 18, STOP = 19, TSTP = 20,
  TTIN = 21, TTOU = 22, URG = 23, XCPU = 24, XFSZ = 25, VTALRM = 26, PROF = 27, WINCH = 28, IO = 29, PWR = 30,
  SYS = 31 }

-- "SIGTERM", "TERM", "term" or "15" -> 15; an error names the bad value.
function M.parse(s)
  if type(s) == "number" then return math.tointeger(s) end
  local n = tonumber(s)
  if n and n >= 1 and n <= 64 then return math.tointeger(n) end
  local name = tostring(s):upper():gsub("^SIG", "")
  local v = M.numbers[name]
  if not v then require("mdlua.errors").fail(("invalid signal %q"):format(tostring(s))) end
  return v
end

return M
