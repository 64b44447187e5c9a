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
    if #args == 0 then errors.fail("stop: requires at least 1 argument") end
    if o.time < 0 then errors.fail("stop: --time must not be negative") end
    local failed = {}
    for _, ref in ipairs(args) do
      local ok, err = pcall(function() md.container.get(ref):stop { timeout = o.time, signal = o.signal } end)
      if ok then print(ref) else failed[#failed + 1] = errors.message(err) end
    end
    if #failed > 0 then errors.fail(table.concat(failed, "; ")) end
    return 0
  end,
}
