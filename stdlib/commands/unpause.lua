local md = require "mdlua"

return {
  summary = "Unpause all processes within one or more containers",
  usage = "mdlua unpause CONTAINER [CONTAINER...]",
  run = function(_, args)
    return require("mdlua.commands").each("unpause", args, function(ref) md.container.get(ref):unpause() end)
  end,
}
