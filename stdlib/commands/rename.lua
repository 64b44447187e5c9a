local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Rename a container",
  usage = "mdlua rename CONTAINER NEW_NAME",
  run = function(_, args)
    if #args ~= 2 then errors.fail("rename: requires exactly 2 arguments (CONTAINER NEW_NAME)") end
    md.container.get(args[1]):rename(args[2])
    return 0
  end,
}
