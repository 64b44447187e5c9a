local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Send a signal to one or more running containers",
  usage = "mdlua kill [OPTIONS] CONTAINER [CONTAINER...]",
  flags = {
    { name = "signal", short = "s", type = "string", default = "KILL", metavar = "SIGNAL", help = "Signal to send" },
  },
  run = function(o, args)
    require("mdlua.signals").parse(o.signal)
    return require("mdlua.commands").each("kill", args, function(ref) md.container.get(ref):kill(o.signal) end)
  end,
}
