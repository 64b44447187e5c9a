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
    local tail = o.tail == "all" and math.huge or math.tointeger(tonumber(o.tail))
    if not tail or tail < 0 then errors.fail(("invalid --tail %q: expected a number or all"):format(o.tail)) end
    local since = format.point_in_time(o.since, "--since")
    local c = md.container.get(args[1])
    local stdout, stderr = io.stdout, io.stderr
    local timestamps = o.timestamps
    -- Record by record, file by file: a log of any size is shown in constant memory.
    local reader = c:log_reader{ tail = tail }
    local function show()
      for stream, time, text in reader:records() do
        if not since or (format.parse_time(time) or 0) >= since then
          local out = stream == "stderr" and stderr or stdout
          if timestamps then out:write(time, " ") end
          out:write(text)
        end
      end
      stdout:flush()
      stderr:flush()
    end
    show()
    if not o.follow then return 0 end
    -- Follow: new records as they come, across rotation, until the container stops.
    while true do
      local running = md.container.get(c.id).status ~= "exited"
      show()
      if not running then return 0 end
      md.sys.sleep(0.1)
    end
  end,
}
