local md = require "mdlua"
local errors = require "mdlua.errors"
local prompt = require "mdlua.prompt"

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

-- `mdlua system df [-v]`: Docker's table (images, containers, local volumes), with a row for
-- staging (what interrupted writers left is reclaimable: `image prune` or `system check
-- --repair` removes it); -v: each image, container and volume.
local function df_verbose(format)
  local images, layers = md.image.list(), {}
  for _, l in ipairs(md.layer.list()) do layers[l.id] = l.size end
  local users = {}
  for _, img in ipairs(images) do for _, l in ipairs(img.layers) do users[l] = (users[l] or 0) + 1 end end
  local containers = require("mdlua.container").stored()
  local per_image, volume_links = {}, {}
  for _, c in ipairs(containers) do
    per_image[c.image] = (per_image[c.image] or 0) + 1
    for _, m in ipairs((c.config or {}).mounts or {}) do
      if m.type == "volume" then volume_links[m.source] = (volume_links[m.source] or 0) + 1 end
    end
  end
  print("Images space usage:\n")
  local rows = {}
  for _, img in ipairs(images) do
    local shared, unique = 0, 0
    for _, l in ipairs(img.layers) do
      if users[l] > 1 then shared = shared + (layers[l] or 0) else unique = unique + (layers[l] or 0) end
    end
    local name = img.names[1] or "<none>:<none>"
    local repo, tag = name:match("^(.*):([^:/]+)$")
    rows[#rows + 1] = { repo or name, tag or "<none>", img.id:sub(8, 19), format.ago(img.created), format.size(img.size),
                        format.size(shared), format.size(unique), tostring(per_image[img.id] or 0) }
  end
  format.table({ "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS" }, rows)
  print("\nContainers space usage:\n")
  rows = {}
  for _, c in ipairs(containers) do
    local nvol = 0
    for _, m in ipairs((c.config or {}).mounts or {}) do if m.type == "volume" then nvol = nvol + 1 end end
    local cmd = table.concat(c.command or {}, " ")
    if #cmd > 20 then cmd = cmd:sub(1, 19) .. "…" end
    rows[#rows + 1] = { c.id:sub(1, 12), c.image_name, ("%q"):format(cmd), tostring(nvol), format.size(c:size_rw()),
                        format.ago(c.created), c.status, c.name }
  end
  format.table({ "CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES" }, rows)
  print("\nLocal Volumes space usage:\n")
  rows = {}
  for _, v in ipairs(md.volume.list()) do
    rows[#rows + 1] = { v.name, tostring(volume_links[v.name] or 0), format.size(v:size()) }
  end
  format.table({ "VOLUME NAME", "LINKS", "SIZE" }, rows)
end

local df = {
  summary = "Show disk usage: images, containers, volumes, staging, the engine's own files",
  usage = "mdlua system df [OPTIONS]",
  flags = {
    { name = "verbose", short = "v", type = "bool", help = "Show detailed information on space usage" },
  },
  run = function(o, args)
    if #args > 0 then errors.fail("system df: takes no arguments") end
    local format = require "mdlua.format"
    if o.verbose then
      df_verbose(format)
      print()
    end
    local rows = {}
    for _, u in ipairs(md._runtime.df(md.config.root)) do
      local pct = u.size > 0 and math.floor(u.reclaimable * 100 / u.size + 0.5) or 0
      rows[#rows + 1] = { u.type, u.total, u.active, format.size(u.size), ("%s (%d%%)"):format(format.size(u.reclaimable), pct) }
    end
    format.table({ "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE" }, rows)
    return 0
  end,
}

-- `mdlua system prune [-a] [--volumes]`: what `container prune`, `network prune`, `image
-- prune [-a]`, `volume prune [-a]` (with --volumes), `builder prune [-a]` and the removal of stale staging and of
-- the seccomp cache give back. With -a --volumes and no container left, the state root holds nothing
-- but its empty skeleton.
local prune = {
  summary = "Remove stopped containers, unused networks and images, staging, caches (and volumes with --volumes)",
  usage = "mdlua system prune [OPTIONS]",
  flags = {
    { name = "all", short = "a", type = "bool", help = "Remove all unused images and layers (and volumes), not just dangling ones" },
    { name = "volumes", type = "bool", help = "Prune anonymous volumes (all unused volumes with -a)" },
    { name = "force", short = "f", type = "bool", help = "Do not prompt for confirmation" },
  },
  run = function(o, args)
    if #args > 0 then errors.fail("system prune: takes no arguments") end
    if not o.force then
      -- Docker's list, with what mdlua prunes besides (layers with -a, staging and caches).
      local lines = { "all stopped containers", "all networks not used by at least one container" }
      if o.volumes then
        lines[#lines + 1] = o.all and "all volumes not used by at least one container"
          or "all anonymous volumes not used by at least one container"
      end
      lines[#lines + 1] = o.all and "all images without at least one container associated to them" or "all dangling images"
      lines[#lines + 1] = o.all and "all build cache" or "unused build cache"
      if o.all then lines[#lines + 1] = "all layers not used by an image" end
      lines[#lines + 1] = "the staging of interrupted writes and the caches"
      local text = "WARNING! This will remove:\n  - " .. table.concat(lines, "\n  - ") .. "\n\nAre you sure you want to continue?"
      if not prompt.confirm(text) then return 0 end
    end
    local format = require "mdlua.format"
    -- The one walk of the root: what is gone afterwards is what was reclaimed (PruneAccount).
    local account = md._runtime.prune_account(md.config.root)
    local function section(title, names)
      if #names == 0 then return end
      print(title)
      for _, n in ipairs(names) do print(n) end
      print()
    end
    section("Deleted Containers:", md.container.prune())
    section("Deleted Networks:", md.network.prune())
    if o.volumes then section("Deleted Volumes:", (md.volume.prune { all = o.all })) end
    local images = {}
    for i, img in ipairs(md.image.prune { all = o.all }) do images[i] = "deleted: " .. img.id end
    section("Deleted Images:", images)
    -- The build cache (as Docker's): dangling entries, all of it with -a.
    section("Deleted build cache objects:", require("mdlua.build.prune").prune { all = o.all })
    if o.all then
      -- Layers made on their own (md.layer.create, image bootstrap) that no image uses.
      local layers = {}
      for i, l in ipairs(md.layer.prune()) do layers[i] = l.id end
      section("Deleted Layers:", layers)
    end
    -- Stale staging and the caches: safe to drop (the engine makes them again when needed).
    md._runtime.prune_caches(md.config.root)
    print("Total reclaimed space: " .. format.size(md._runtime.reclaimed(md.config.root, account)))
    return 0
  end,
}

return {
  summary = "Manage the engine's state",
  usage = "mdlua system COMMAND",
  subcommands = { check = check, df = df, prune = prune },
  run = function() return 0 end,
}
