local md = require "mdlua"

return {
  summary = "Remove one or more containers",
  usage = "mdlua rm [OPTIONS] CONTAINER [CONTAINER...]",
  flags = {
    { name = "force", short = "f", type = "bool", help = "Force the removal of a running container (uses SIGKILL)" },
  },
  run = function(o, args)
    return require("mdlua.commands").each("rm", args, function(ref) md.container.get(ref):rm { force = o.force } end)
  end,
}
