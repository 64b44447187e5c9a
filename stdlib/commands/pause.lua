local md = require "mdlua"

return {
  summary = "Pause all processes within one or more containers",
  usage = "mdlua pause CONTAINER [CONTAINER...]",
  run = function(_, args)
    return require("mdlua.commands").each("pause", args, function(ref) md.container.get(ref):pause() end)
  end,
}
