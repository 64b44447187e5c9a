local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Inspect changes to files or directories on a container's filesystem",
  usage = "mdlua diff CONTAINER",
  run = function(_, args)
    if #args ~= 1 then errors.fail("diff: requires exactly 1 argument (CONTAINER)") end
    for _, ch in ipairs(md.container.get(args[1]):diff()) do print(ch.kind .. " " .. ch.path) end
    return 0
  end,
}
