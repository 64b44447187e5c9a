local md = require "mdlua"
local errors = require "mdlua.errors"
local runflags = require "mdlua.runflags"

-- The options marked for update in options.lua: the resource limits and --restart.
local flags = runflags.resource_flags

return {
  summary = "Update the resource limits of one or more containers",
  usage = "mdlua update [OPTIONS] CONTAINER [CONTAINER...]",
  flags = flags,
  run = function(o, args)
    if #args == 0 then errors.fail("update: requires at least 1 argument") end
    local res = runflags.resources(o)
    if not next(res) and not o.restart then errors.fail("update: no limit or restart policy given") end
    local update = { resources = res, restart = o.restart }
    return require("mdlua.commands").each("update", args, function(ref) md.container.get(ref):update(update) end)
  end,
}
