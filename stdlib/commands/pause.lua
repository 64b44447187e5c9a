local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Pause all processes within one or more containers",
  usage = "mdlua pause CONTAINER [CONTAINER...]",
  run = function(_, args)
    return require("mdlua.commands").each("pause", args, function(ref)
      local c = md.container.get(ref)
      -- Docker's message for a container paused already (an error there too).
      if c.status == "paused" then errors.fail(("container %s is already paused"):format(c.name)) end
      c:pause()
    end)
  end,
}
