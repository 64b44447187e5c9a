local md = require "mdlua"
local json = require "mdlua.json"
local format = require "mdlua.format"
local errors = require "mdlua.errors"
local template = require "mdlua.template"

local status_text = format.status

local function command_text(c, full)
  -- Records from before the command was kept in them: config.json has it.
  local args = c.command
  if #args == 0 then
    local ok, spec = pcall(c.spec, c)
    args = ok and spec.process.args or {}
  end
  local s = '"' .. table.concat(args, " ") .. '"'
  if not full and #s > 22 then s = s:sub(1, 20) .. '…"' end
  return s
end

-- Docker's SIZE: the writable layer, and it with the image ("2B (virtual 1.98MB)").
local function size_text(c)
  local ok, rw = pcall(c.size_rw, c)
  rw = ok and rw or 0
  local okimg, img = pcall(md.image.get, c.image)
  local virtual = rw + (okimg and img.size or 0)
  return ("%s (virtual %s)"):format(format.size(rw), format.size(virtual))
end

-- Published ports and network names by container ID, read once per `ps` (the networks'
-- files, not one read per container).
local endpoints_by_id
local function networking(c)
  if not endpoints_by_id then
    endpoints_by_id = {}
    local ok, nets = pcall(md.network.list)
    for _, n in ipairs(ok and nets or {}) do
      for _, e in ipairs(n.endpoints) do
        local t = endpoints_by_id[e.container_id] or { ports = {}, networks = {} }
        endpoints_by_id[e.container_id] = t
        for _, p in ipairs(e.ports) do t.ports[#t.ports + 1] = p end
        t.networks[#t.networks + 1] = n.name
      end
    end
  end
  local t = endpoints_by_id[c.id]
  if not t then return "", "" end
  local running = c.status == "running" or c.status == "paused"
  return running and require("mdlua.ports").text(t.ports) or "", table.concat(t.networks, ",")
end

-- What a --format template sees: Docker's container fields (`docker ps --format '{{json .}}'`).
local function template_view(c, trunc)
  local labels = c.labels
  local keys = {}
  for k in pairs(labels) do keys[#keys + 1] = k end
  table.sort(keys)
  local pairs_text = {}
  for _, k in ipairs(keys) do pairs_text[#pairs_text + 1] = k .. "=" .. tostring(labels[k]) end
  local ports_text, networks = networking(c)
  return template.struct({
    ID = trunc and c.id:sub(1, 12) or c.id, Names = c.name, Image = c.image_name, Command = command_text(c, not trunc),
    CreatedAt = c.created, RunningFor = format.ago(c.created), Ports = ports_text, State = c.status, Status = status_text(c),
    Size = "0B", Labels = table.concat(pairs_text, ","), Mounts = "", Networks = networks, LocalVolumes = "0",
    Label = function(key) return labels[key] or "" end,
  })
end

-- Docker's column names for `ps --format 'table ...'`.
local headers = {
  ID = "CONTAINER ID", Image = "IMAGE", Command = "COMMAND", CreatedAt = "CREATED AT", RunningFor = "CREATED",
  Ports = "PORTS", State = "STATE", Status = "STATUS", Size = "SIZE", Names = "NAMES", Labels = "LABELS",
  Label = function() return "LABEL" end, Mounts = "MOUNTS", Networks = "NETWORKS", LocalVolumes = "LOCAL VOLUMES",
}

return {
  summary = "List containers",
  usage = "mdlua ps [OPTIONS]",
  flags = {
    { name = "all", short = "a", type = "bool", help = "Show all containers (default shows just running)" },
    { name = "quiet", short = "q", type = "bool", help = "Only display container IDs" },
    { name = "no-trunc", type = "bool", help = "Don't truncate output" },
    { name = "filter", short = "f", type = "list", metavar = "KEY=VALUE", help = "Filter: status=, name=, id=, ancestor=" },
    { name = "format", type = "string", metavar = "TEMPLATE", help = "Format output: a Go template, 'table TEMPLATE' or 'json'" },
    { name = "last", short = "n", type = "int", default = -1, metavar = "N", help = "Show n last created containers (includes all states)" },
    { name = "latest", short = "l", type = "bool", help = "Show the latest created container (includes all states)" },
    { name = "size", short = "s", type = "bool", help = "Display total file sizes" },
  },
  run = function(o)
    local filters = {}
    for _, f in ipairs(o.filter) do
      local k, v = f:match("^(%w+)=(.*)$")
      if not k or not ({ status = 1, name = 1, id = 1, ancestor = 1, label = 1 })[k] then
        errors.fail(("invalid --filter %q: expected status=, name=, id=, ancestor= or label="):format(f))
      end
      filters[#filters + 1] = { k, v }
    end
    -- -n N and -l (-n 1 unless -n is given): the newest N of every state, after the
    -- filters, as Docker; -n 0 or less is no limit.
    local last = o.last
    if o.latest and last == -1 then last = 1 end
    if last <= 0 then last = -1 end
    local rows = {}
    local list = md.container.list { all = true }
    table.sort(list, function(a, b) return a.created > b.created end)
    for _, c in ipairs(list) do
      local show = o.all or last >= 0 or c.status == "running" or c.status == "restarting" or c.status == "paused"
      for _, f in ipairs(filters) do
        local k, v = f[1], f[2]
        if k == "status" then show = c.status == v and true or false
        elseif k == "name" then show = show and c.name:find(v, 1, true) ~= nil
        elseif k == "id" then show = show and c.id:sub(1, #v) == v
        elseif k == "ancestor" then show = show and (c.image_name == v or c.image:sub(8, 7 + #v) == v)
        elseif k == "label" then
          local labels = c.labels
          local lk, lv = v:match("^([^=]+)=?(.*)$")
          show = show and labels[lk] ~= nil and (lv == "" or labels[lk] == lv)
        end
      end
      if show and (last < 0 or #rows < last) then rows[#rows + 1] = c end
    end
    local trunc = not o["no-trunc"]
    if o.quiet then
      for _, c in ipairs(rows) do print(trunc and c.id:sub(1, 12) or c.id) end
      return 0
    end
    local function default()
      local out = {}
      for _, c in ipairs(rows) do
        out[#out + 1] = { trunc and c.id:sub(1, 12) or c.id, c.image_name, command_text(c, not trunc), format.ago(c.created),
                          status_text(c), (networking(c)), c.name }
        if o.size then out[#out][8] = size_text(c) end
      end
      local header = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" }
      if o.size then header[8] = "SIZE" end
      format.table(header, out)
    end
    local views = {}
    if o.format and o.format ~= "table" then
      for i, c in ipairs(rows) do
        views[i] = template_view(c, trunc)
        -- .Size costs a walk of the writable layer: only when it is asked for, as Docker.
        if o.size or o.format:find("Size", 1, true) then views[i].Size = size_text(c) end
      end
    end
    format.rows(o.format, views, { headers = headers, default = default })
    return 0
  end,
}
