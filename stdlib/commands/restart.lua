local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Restart one or more containers",
  usage = "mdlua restart [OPTIONS] CONTAINER [CONTAINER...]",
  flags = {
    { name = "time", short = "t", type = "int", default = 10, metavar = "SECONDS", help = "Seconds to wait before killing it" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("restart: requires at least 1 argument") end
    for _, ref in ipairs(args) do
      local c = md.container.get(ref)
      if c.status == "running" or c.status == "restarting" then c:stop { timeout = o.time } end
      c:start_detached()
      print(ref)
    end
    return 0
  end,
}
