local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Execute a command in a running container",
  usage = "mdlua exec [OPTIONS] CONTAINER COMMAND [ARG...]",
  interspersed = false,
  flags = {
    { name = "interactive", short = "i", type = "bool", help = "Keep STDIN open" },
    { name = "tty", short = "t", type = "bool", help = "Allocate a pseudo-TTY" },
    { name = "detach", short = "d", type = "bool", help = "Detached mode: run the command in the background" },
    { name = "env", short = "e", type = "list", metavar = "K=V", help = "Set environment variables" },
    { name = "workdir", short = "w", type = "string", metavar = "DIR", help = "Working directory inside the container" },
    { name = "user", short = "u", type = "string", metavar = "USER[:GROUP]", help = "Username or UID" },
  },
  run = function(o, args)
    if #args < 2 then errors.fail("exec: requires at least 2 arguments (CONTAINER COMMAND [ARG...])") end
    if o.detach and (o.tty or o.interactive) then errors.fail("exec: -d cannot be used with -i or -t") end
    local c = md.container.get(args[1])
    local r = c:exec { cmd = { table.unpack(args, 2) }, env = o.env, user = o.user, workdir = o.workdir, tty = o.tty,
                       interactive = o.interactive, detach = o.detach }
    if r.error then io.stderr:write("mdlua: ", r.error, "\n") end
    return r.exit_code
  end,
}
