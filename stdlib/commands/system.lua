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

-- `mdlua system df`: Docker's table, with a row for staging (what interrupted writers left
-- is reclaimable: `image prune` or `system check --repair` removes it).
local df = {
  summary = "Show disk usage: images, containers, staging",
  usage = "mdlua system df",
  flags = {},
  run = function(_, args)
    if #args > 0 then errors.fail("system df: takes no arguments") end
    local format = require "mdlua.format"
    local rows = {}
    for _, u in ipairs(md._runtime.df(md.config.root)) do
      local pct = u.size > 0 and math.floor(u.reclaimable * 100 / u.size + 0.5) or 0
      rows[#rows + 1] = { u.type, u.total, u.active, format.size(u.size), ("%s (%d%%)"):format(format.size(u.reclaimable), pct) }
    end
    format.table({ "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE" }, rows)
    return 0
  end,
}

return {
  summary = "Manage the engine's state",
  usage = "mdlua system COMMAND",
  subcommands = { check = check, df = df },
  run = function() return 0 end,
}
