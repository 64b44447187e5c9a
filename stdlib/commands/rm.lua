local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Remove one or more containers",
  usage = "mdlua rm [OPTIONS] CONTAINER [CONTAINER...]",
  flags = {
    { name = "force", short = "f", type = "bool", help = "Force the removal of a running container (uses SIGKILL)" },
    { name = "volumes", short = "v", type = "bool", help = "Remove anonymous volumes associated with the container" },
  },
  run = function(o, args)
    return require("mdlua.commands").each("rm", args, function(ref)
      local ok, c = pcall(md.container.get, ref)
      if not ok then
        -- As Docker: with --force, a container that does not exist is reported, not an error.
        local msg = errors.message(c)
        if o.force and msg:find("no such container: ", 1, true) then
          io.stderr:write("mdlua: ", (msg:gsub("^md%.[%w_.:]+: ", "")), "\n")
          return false
        end
        error(c, 0)
      end
      c:rm { force = o.force, volumes = o.volumes }
    end)
  end,
}
