local md = require "mdlua"
local errors = require "mdlua.errors"
local prompt = require "mdlua.prompt"

local prune = {
  summary = "Remove all stopped containers",
  usage = "mdlua container prune [OPTIONS]",
  flags = { { name = "force", short = "f", type = "bool", help = "Do not prompt for confirmation" } },
  run = function(o)
    if not o.force and not prompt.confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue?") then
      return 0
    end
    local removed = md.container.prune()
    if #removed > 0 then print("Deleted Containers:") end
    for _, id in ipairs(removed) do print(id) end
    return 0
  end,
}

return {
  summary = "Manage containers",
  usage = "mdlua container COMMAND",
  subcommands = {
    ls = "ps", list = "ps", ps = "ps", rm = "rm", run = "run", create = "create", start = "start", stop = "stop",
    restart = "restart", kill = "kill", wait = "wait", logs = "logs", exec = "exec", inspect = "inspect",
    rename = "rename", diff = "diff", commit = "commit", top = "top", export = "export", prune = prune,
    pause = "pause", unpause = "unpause", stats = "stats", update = "update", cp = "cp",
  },
  run = function() return 0 end,
}
