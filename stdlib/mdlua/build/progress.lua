-- A build's progress on stderr: each step as it starts, its output (plain), and whether it
-- was cached or, when not, why it ran. "quiet" shows nothing (the caller prints the ID).
local M = {}

local function label(e)
  local name = e.stage.name and ("[" .. e.stage.name .. "] ") or ""
  return ("%sSTEP %d/%d: %s"):format(name, e.n, e.total, e.instruction)
end

function M.printer(mode)
  if mode == "quiet" then return function() end end
  local out = io.stderr
  return function(kind, e)
    if kind == "start" then
      out:write(label(e), "\n")
    elseif kind == "output" and e.output ~= "" then
      out:write(e.output, e.output:sub(-1) == "\n" and "" or "\n")
    elseif kind == "done" then
      local id = e.config and "" or (" " .. e.image:sub(8, 19))
      if e.cached then out:write("--> CACHED", id, "\n")
      else out:write(("--> %.2fs%s (%s)\n"):format(e.seconds, id, e.reason or "ran")) end
    elseif kind == "image" then
      for _, t in ipairs(e.tags or {}) do out:write("Tagged ", t, "\n") end
      out:write("Built ", e.image.id, "\n")
    end
    out:flush()
  end
end

return M
