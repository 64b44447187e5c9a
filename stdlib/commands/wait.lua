local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Block until containers stop, then print their exit codes",
  usage = "mdlua wait CONTAINER [CONTAINER...]",
  run = function(_, args)
    if #args == 0 then errors.fail("wait: requires at least 1 argument") end
    for _, ref in ipairs(args) do print(md.container.get(ref):wait()) end
    return 0
  end,
}
