local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

-- `mdlua builder prune [-a] [--keep-storage SIZE] [-f]` (docs/builds.md, "The cache").
local prune = {
  summary = "Remove build cache",
  usage = "mdlua builder prune [OPTIONS]",
  flags = {
    { name = "all", short = "a", type = "bool", help = "Remove all build cache (and cache mounts), not just dangling entries" },
    { name = "keep-storage", type = "string", metavar = "SIZE", help = "Keep this much build cache, removing the oldest first" },
    { name = "force", short = "f", type = "bool", help = "Do not prompt for confirmation" },
  },
  run = function(o, args)
    if #args > 0 then errors.fail("builder prune: takes no arguments") end
    local keep, why
    if o["keep-storage"] then
      keep, why = md.sys.parse_size(o["keep-storage"])
      if not keep then errors.fail(("invalid --keep-storage %q: %s"):format(o["keep-storage"], why)) end
    end
    if not o.force and not require("mdlua.prompt").confirm(("WARNING! This will remove all %sbuild cache.\n"
        .. "Are you sure you want to continue?"):format(o.all and "" or "dangling ")) then
      return 0
    end
    -- What is gone afterwards is what was reclaimed (PruneAccount, as system prune).
    local account = md._runtime.prune_account(md.config.root)
    local removed = require("mdlua.build.prune").prune { all = o.all, keep_storage = keep }
    if #removed > 0 then
      print("Deleted build cache objects:")
      for _, k in ipairs(removed) do print(k) end
      print()
    end
    print("Total reclaimed space: " .. format.size(md._runtime.reclaimed(md.config.root, account)))
    return 0
  end,
}

return {
  summary = "Manage builds",
  usage = "mdlua builder COMMAND",
  subcommands = { prune = prune },
  run = function() return 0 end,
}
