local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Send a signal to one or more running containers",
  usage = "mdlua kill [OPTIONS] CONTAINER [CONTAINER...]",
  flags = {
    { name = "signal", short = "s", type = "string", default = "KILL", metavar = "SIGNAL", help = "Signal to send" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("kill: requires at least 1 argument") end
    require("mdlua.signals").parse(o.signal)
    local failed = {}
    for _, ref in ipairs(args) do
      local ok, err = pcall(function() md.container.get(ref):kill(o.signal) end)
      if ok then print(ref) else failed[#failed + 1] = errors.message(err) end
    end
    if #failed > 0 then errors.fail(table.concat(failed, "; ")) end
    return 0
  end,
}
