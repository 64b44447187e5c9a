local md = require "mdlua"
local errors = require "mdlua.errors"

-- `mdlua system check [--repair]`: fsck for the state root (docs/containers.md, "Checking the
-- state root"). Exit status 0 when nothing is wrong (or --repair fixed all of it), 1 otherwise.
local check = {
  summary = "Check the state root for what crashes left behind (--repair fixes what is safe)",
  usage = "mdlua system check [--repair]",
  flags = {
    { name = "repair", type = "bool", help = "Remove stale staging, damaged containers, orphaned mounts and cgroups, unused layers and blobs" },
  },
  run = function(o, args)
    if #args > 0 then errors.fail("system check: takes no arguments") end
    local findings = md._runtime.check(md.config.root, o.repair)
    local left = 0
    for _, f in ipairs(findings) do
      local line = ("%s %s: %s"):format(f.kind, f.path, f.detail)
      if f.action then
        line = line .. ": " .. f.action
      elseif o.repair then
        line = line .. ": left as it is" .. (f.unrepairable and " (not safe to repair)" or "")
        left = left + 1
      else
        left = left + 1
      end
      print(line)
    end
    if #findings == 0 then
      print("no problems found")
    elseif o.repair then
      print(("%d found, %d repaired"):format(#findings, #findings - left))
    else
      print(("%d found: mdlua system check --repair fixes what is safe"):format(#findings))
    end
    return left == 0 and 0 or 1
  end,
}

return {
  summary = "Manage the engine's state",
  usage = "mdlua system COMMAND",
  subcommands = { check = check },
  run = function() return 0 end,
}
