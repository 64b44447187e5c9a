-- The flags `run` and `create` share, and their translation into md.container options.
local errors = require "mdlua.errors"

local M = {}

M.flags = {
  { name = "detach", short = "d", type = "bool", help = "Run the container in the background and print its ID" },
  { name = "restart", type = "string", metavar = "POLICY", help = "no, on-failure[:N], always or unless-stopped" },
  { name = "log-opt", type = "list", metavar = "OPT", help = "max-size=SIZE, max-file=N" },
  { name = "name", type = "string", help = "Assign a name to the container" },
  { name = "label", short = "l", type = "list", metavar = "K=V", help = "Set metadata on the container" },
  { name = "rm", type = "bool", help = "Automatically remove the container when it exits" },
  { name = "interactive", short = "i", type = "bool", help = "Keep STDIN open" },
  { name = "tty", short = "t", type = "bool", help = "Allocate a pseudo-TTY" },
  { name = "env", short = "e", type = "list", metavar = "K=V", help = "Set environment variables" },
  { name = "env-file", type = "list", metavar = "FILE", help = "Read in a file of environment variables" },
  { name = "workdir", short = "w", type = "string", metavar = "DIR", help = "Working directory inside the container" },
  { name = "user", short = "u", type = "string", metavar = "USER[:GROUP]", help = "Username or UID (format: <name|uid>[:<group|gid>])" },
  { name = "hostname", short = "h", type = "string", help = "Container host name" },
  { name = "entrypoint", type = "string", help = "Overwrite the default ENTRYPOINT of the image" },
  { name = "init", type = "bool", help = "Run an init inside the container that forwards signals and reaps processes" },
  { name = "read-only", type = "bool", help = "Mount the container's root filesystem as read only" },
  { name = "tmpfs", type = "list", metavar = "PATH[:OPTS]", help = "Mount a tmpfs directory" },
  { name = "cap-add", type = "list", metavar = "CAP", help = "Add Linux capabilities" },
  { name = "cap-drop", type = "list", metavar = "CAP", help = "Drop Linux capabilities" },
  { name = "privileged", type = "bool", help = "Give extended privileges to this container" },
  { name = "security-opt", type = "list", metavar = "OPT", help = "no-new-privileges[=false], seccomp=unconfined|PROFILE.json" },
  { name = "network", type = "string", default = "none", metavar = "MODE", help = "none or host" },
  { name = "ulimit", type = "list", metavar = "NAME=SOFT[:HARD]", help = "Ulimit options" },
  { name = "stop-signal", type = "string", metavar = "SIGNAL", help = "Signal to stop the container" },
}

-- Run options from parsed flags and positionals (IMAGE [COMMAND [ARG...]]).
function M.options(o, args, command)
  if not args[1] then errors.fail(command .. ": requires at least 1 argument (IMAGE [COMMAND [ARG...]])") end
  local cmd = { table.unpack(args, 2) }
  return {
    image = args[1], cmd = #cmd > 0 and cmd or nil, name = o.name, rm = o.rm, interactive = o.interactive,
    tty = o.tty, env = o.env, env_file = o["env-file"], workdir = o.workdir, user = o.user, hostname = o.hostname,
    entrypoint = o.entrypoint, init = o.init, read_only = o["read-only"], tmpfs = o.tmpfs, cap_add = o["cap-add"],
    cap_drop = o["cap-drop"], privileged = o.privileged, security_opt = o["security-opt"], network = o.network,
    ulimit = o.ulimit, stop_signal = o["stop-signal"], detach = o.detach, restart = o.restart, log_opt = o["log-opt"], label = o.label,
  }
end

return M
