local md = require "mdlua"
local runflags = require "mdlua.runflags"

return {
  summary = "Create a new container",
  usage = "mdlua create [OPTIONS] IMAGE [COMMAND] [ARG...]",
  interspersed = false,
  flags = runflags.flags,
  run = function(o, args)
    print(md.container.create(runflags.options(o, args, "create")).id)
    return 0
  end,
}
