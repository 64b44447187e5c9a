-- `mdlua stack COMMAND`: multi-container stacks (docs/stacks.md), as `docker compose`.
local cli = require "mdlua.stack.cli"

return {
  summary = "Manage stacks: services from stack.lua or a Compose file",
  usage = "mdlua stack COMMAND",
  subcommands = {
    up = cli.up, down = cli.down, ps = cli.ps, logs = cli.logs, start = cli.start, stop = cli.stop,
    restart = cli.restart, exec = cli.exec, run = cli.run, build = cli.build, scale = cli.scale, config = cli.config, convert = cli.convert,
  },
  run = function() return 0 end,
}
