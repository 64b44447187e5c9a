local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

return {
  summary = "Fetch the logs of a container",
  usage = "mdlua logs [OPTIONS] CONTAINER",
  flags = {
    { name = "follow", short = "f", type = "bool", help = "Follow log output until the container stops" },
    { name = "tail", short = "n", type = "string", default = "all", metavar = "N", help = "Number of lines to show from the end" },
    { name = "since", type = "string", metavar = "TIME", help = "Show logs since a time (RFC 3339) or a duration (10m)" },
    { name = "timestamps", short = "t", type = "bool", help = "Show timestamps" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("logs: requires exactly 1 argument (CONTAINER)") end
    local tail = o.tail == "all" and math.huge or tonumber(o.tail)
    if not tail or tail < 0 then errors.fail(("invalid --tail %q: expected a number or all"):format(o.tail)) end
    local since = format.point_in_time(o.since, "--since")
    local c = md.container.get(args[1])
    local function show(rec)
      if since and (format.parse_time(rec.time) or 0) < since then return end
      local out = rec.stream == "stderr" and io.stderr or io.stdout
      if o.timestamps then out:write(rec.time, " ") end
      out:write(rec.log)
    end
    local records = c:logs()
    local first = math.max(1, #records - (tail == math.huge and #records or tail) + 1)
    for i = first, #records do show(records[i]) end
    io.stdout:flush()
    if not o.follow then return 0 end
    -- Follow: new records as they come, across rotation, until the container stops.
    local seen = records[#records] and records[#records].time or ""
    local count = #records
    while true do
      local running = md.container.get(c.id).status ~= "exited"
      local now = c:logs()
      local start = 1
      -- Skip what was shown: records up to the last one seen (same time and count).
      for i = #now, 1, -1 do
        if now[i].time <= seen then start = i + 1; break end
      end
      if #now > 0 and now[1].time > seen then start = 1 end
      for i = start, #now do show(now[i]) end
      if #now > 0 then seen = now[#now].time end
      io.stdout:flush()
      io.stderr:flush()
      count = #now
      if not running then return 0 end
      md.sys.sleep(0.1)
    end
  end,
}
