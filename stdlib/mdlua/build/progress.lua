-- A build's progress on stderr. "plain" (and "auto" when stderr is not a terminal, as in
-- CI): each step as it starts, its output, and whether it was cached or, when not, how
-- long it took and why it ran. "auto" on a terminal: one line per step, written when it
-- starts and rewritten in place when it ends with its time or CACHED; a step's output is
-- not shown (a failed RUN's error ends with its last lines). "quiet" shows nothing (the
-- caller prints the ID).
local md = require "mdlua"

local M = {}

local function label(e)
  local name = e.stage.name and ("[" .. e.stage.name .. "] ") or ""
  return ("%sSTEP %d/%d: %s"):format(name, e.n, e.total, e.instruction)
end

local function result(e)
  local id = e.config and "" or (" " .. e.image:sub(8, 19))
  if e.cached then return "--> CACHED" .. id end
  return ("--> %.2fs%s (%s)"):format(e.seconds, id, e.reason or "ran")
end

-- A printer for `mode`; `out` (default io.stderr) and `tty` (default: whether stderr is a
-- terminal) for tests.
function M.printer(mode, out, tty)
  if mode == "quiet" then return function() end end
  out = out or io.stderr
  if tty == nil then tty = md.sys.isatty(2) end
  local live = mode == "auto" and tty
  local width = 0
  if live then width = tonumber(os.getenv("COLUMNS") or "") or select(2, md.sys.terminal_size(2)) or 100 end
  local function fit(s)
    s = s:gsub("\n.*", " ...")
    if #s > width - 1 then s = s:sub(1, width - 4) .. "..." end
    return s
  end
  local pending = false   -- a live line without its end yet
  return function(kind, e)
    if kind == "start" then
      if live then out:write("\r\27[K", fit(label(e))); pending = true else out:write(label(e), "\n") end
    elseif kind == "output" then
      if not live and e.output ~= "" then out:write(e.output, e.output:sub(-1) == "\n" and "" or "\n") end
    elseif kind == "done" then
      if live then
        local r = e.cached and "CACHED" or ("%.2fs"):format(e.seconds)
        out:write("\r\27[K", fit(label(e) .. "  " .. r), "\n")
        pending = false
      else
        out:write(result(e), "\n")
      end
    elseif kind == "pull" then
      out:write(live and "\r\27[K" or "", "Pulling ", e.image, "\n")
    elseif kind == "failed" then
      -- The build's error follows on a line of its own.
      if pending then out:write("  ERROR\n"); pending = false end
    elseif kind == "image" then
      for _, t in ipairs(e.tags or {}) do out:write("Tagged ", t, "\n") end
      out:write("Built ", e.image.id, "\n")
    end
    out:flush()
  end
end

return M
