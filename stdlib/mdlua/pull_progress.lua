-- Draws a pull's or push's progress events (docs/registries.md, "Progress") as Docker
-- does: on a terminal one line per layer (its short digest, state, and while it downloads
-- or is pushed a bar and bytes), rewritten in place at most 20 times a second; as plain lines, one per
-- state change, when output is not a terminal; nothing when quiet. The events are what
-- md.pull's `progress` function gets: {status=, id=, current=, total=}.
--
--   local draw = require("mdlua.pull_progress").new("terminal", io.stdout)
--   draw(ev)
local md = require "mdlua"
local format = require "mdlua.format"

local M = {}

-- Docker's progress sizes: 1.2MB, 512.0kB, 10B (format.size with one decimal).
function M.size(n) return format.size(n, 1) end

-- "Downloading [=====>        ] 1.2MB/5.0MB" (or another status: "Pushing"), the bar 50 wide.
function M.bar(current, total, status)
  local width = 50
  local filled = total > 0 and math.min(width, width * current // total) or 0
  return (status or "Downloading") .. " [" .. ("="):rep(math.max(0, filled - 1)) .. (filled > 0 and ">" or "")
    .. (" "):rep(width - filled) .. "] " .. M.size(current) .. "/" .. M.size(total)
end

-- A function drawing events on `out` (a file: io.stdout, io.stderr) in `mode`: "terminal",
-- "plain" or "quiet". `clock` (seconds, md.sys.monotonic by default) paces the redraws.
function M.new(mode, out, clock)
  clock = clock or md.sys.monotonic
  if mode == "quiet" then return function() end end
  local function emit(s)
    out:write(s)
    out:flush()
  end
  if mode == "plain" then
    local states = {}
    return function(ev)
      if not ev.id then return emit(ev.status .. "\n") end
      if ev.current or states[ev.id] == ev.status then return end
      states[ev.id] = ev.status
      emit(ev.id .. ": " .. ev.status .. "\n")
    end
  end
  assert(mode == "terminal", "pull_progress: mode must be terminal, plain or quiet")
  local ids, lines, drawn, last = {}, {}, 0, -math.huge
  local function redraw()
    local parts = { drawn > 0 and ("\27[%dA"):format(drawn) or "" }
    for _, id in ipairs(ids) do parts[#parts + 1] = "\r\27[2K" .. id .. ": " .. lines[id] .. "\n" end
    drawn = #ids
    emit(table.concat(parts))
  end
  return function(ev)
    if not ev.id then
      emit(ev.status .. "\n")
      ids, lines, drawn = {}, {}, 0
      return
    end
    if not lines[ev.id] then ids[#ids + 1] = ev.id end
    local bytes = ev.current and ev.total
    lines[ev.id] = bytes and M.bar(ev.current, ev.total, ev.status) or ev.status
    local now = clock()
    if not bytes or now - last >= 0.05 then
      redraw()
      last = now
    end
  end
end

return M
