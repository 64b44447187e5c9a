local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Pause all processes within one or more containers",
  usage = "mdlua pause CONTAINER [CONTAINER...]",
  run = function(_, args)
    if #args == 0 then errors.fail("pause: requires at least 1 argument") end
    for _, ref in ipairs(args) do md.container.get(ref):pause(); print(ref) end
    return 0
  end,
}
