local md = require "mdlua"
local errors = require "mdlua.errors"
local detachkeys = require "mdlua.detachkeys"

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
    detachkeys.flag,
  },
  run = function(o, args)
    if #args < 2 then errors.fail("exec: requires at least 2 arguments (CONTAINER COMMAND [ARG...])") end
    if o.detach and (o.tty or o.interactive) then errors.fail("exec: -d cannot be used with -i or -t") end
    if o.tty and o.interactive and not md.sys.isatty(0) then
      errors.fail("the input device is not a TTY: drop -t, or run from a terminal")
    end
    local keys = detachkeys.option(o)
    local c = md.container.get(args[1])
    local env = {}
    if o.tty then
      -- As Docker: TERM=xterm with a terminal, unless the container's environment has TERM.
      local has = false
      for _, kv in ipairs(c:spec().process.env or {}) do has = has or kv:match("^TERM=") ~= nil end
      if not has then env[1] = "TERM=xterm" end
    end
    for _, kv in ipairs(o.env or {}) do env[#env + 1] = kv end
    local r = c:exec { cmd = { table.unpack(args, 2) }, env = env, user = o.user, workdir = o.workdir, tty = o.tty,
                       interactive = o.interactive, detach = o.detach, detach_keys = keys }
    if r.detached then
      io.stderr:write("\r\nmdlua: detached from ", c.name, "\r\n")
      return 0
    end
    return r.exit_code
  end,
}
