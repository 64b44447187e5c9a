local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Stop one or more running containers",
  usage = "mdlua stop [OPTIONS] CONTAINER [CONTAINER...]",
  flags = {
    { name = "time", short = "t", type = "int", default = 10, metavar = "SECONDS", help = "Seconds to wait before killing it" },
    { name = "signal", short = "s", type = "string", metavar = "SIGNAL", help = "Signal to send (default: the container's stop signal)" },
  },
  run = function(o, args)
    if o.time < 0 then errors.fail("stop: --time must not be negative") end
    return require("mdlua.commands").each("stop", args, function(ref)
      md.container.get(ref):stop { timeout = o.time, signal = o.signal }
    end)
  end,
}
