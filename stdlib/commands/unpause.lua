local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Unpause all processes within one or more containers",
  usage = "mdlua unpause CONTAINER [CONTAINER...]",
  run = function(_, args)
    if #args == 0 then errors.fail("unpause: requires at least 1 argument") end
    for _, ref in ipairs(args) do md.container.get(ref):unpause(); print(ref) end
    return 0
  end,
}
