local md = require "mdlua"
local json = require "mdlua.json"
local format = require "mdlua.format"
local errors = require "mdlua.errors"

-- Docker's STATUS column.
local function health_text(c)
  local ok, h = pcall(json.decode, c.health or "null")
  if not ok or type(h) ~= "table" or not h.Status then return "" end
  return h.Status == "starting" and " (health: starting)" or (" (" .. h.Status .. ")")
end

local function status_text(c)
  if c.status == "running" then
    return "Up " .. format.duration(os.time() - (format.parse_time(c.started_at) or os.time())) .. health_text(c)
  end
  if c.status == "restarting" then return ("Restarting (%d) %s"):format(c.exit_code, format.ago(c.finished_at)) end
  if c.status == "exited" then
    return ("Exited (%s) %s"):format(c.exit_unknown and "unknown" or c.exit_code, format.ago(c.finished_at))
  end
  if c.status == "dead" then return c.damaged and "Dead (damaged record)" or "Dead" end
  if c.status == "paused" then return "Up " .. format.duration(os.time() - (format.parse_time(c.started_at) or os.time())) .. " (Paused)" end
  return "Created"
end

local function command_text(c, full)
  -- Records from before the command was kept in them: config.json has it.
  local args = c.command
  if #args == 0 then
    local ok, spec = pcall(c.config, c)
    args = ok and spec.process.args or {}
  end
  local s = '"' .. table.concat(args, " ") .. '"'
  if not full and #s > 22 then s = s:sub(1, 20) .. '…"' end
  return s
end

return {
  summary = "List containers",
  usage = "mdlua ps [OPTIONS]",
  flags = {
    { name = "all", short = "a", type = "bool", help = "Show all containers (default shows just running)" },
    { name = "quiet", short = "q", type = "bool", help = "Only display container IDs" },
    { name = "no-trunc", type = "bool", help = "Don't truncate output" },
    { name = "filter", short = "f", type = "list", metavar = "KEY=VALUE", help = "Filter: status=, name=, id=, ancestor=" },
    { name = "format", type = "string", metavar = "TEMPLATE", help = "Format output with a Go-like template" },
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
    local rows = {}
    local list = md.container.list()
    table.sort(list, function(a, b) return a.created > b.created end)
    for _, c in ipairs(list) do
      local show = o.all or c.status == "running" or c.status == "restarting" or c.status == "paused"
      for _, f in ipairs(filters) do
        local k, v = f[1], f[2]
        if k == "status" then show = c.status == v and true or false
        elseif k == "name" then show = show and c.name:find(v, 1, true) ~= nil
        elseif k == "id" then show = show and c.id:sub(1, #v) == v
        elseif k == "ancestor" then show = show and (c.image_name == v or c.image:sub(8, 7 + #v) == v)
        elseif k == "label" then
          local labels = json.decode(c.extra).labels or {}
          local lk, lv = v:match("^([^=]+)=?(.*)$")
          show = show and labels[lk] ~= nil and (lv == "" or labels[lk] == lv)
        end
      end
      if show then rows[#rows + 1] = c end
    end
    local trunc = not o["no-trunc"]
    if o.quiet then
      for _, c in ipairs(rows) do print(trunc and c.id:sub(1, 12) or c.id) end
      return 0
    end
    if o.format then
      for _, c in ipairs(rows) do
        print(format.template(o.format, { ID = trunc and c.id:sub(1, 12) or c.id, Names = c.name, Image = c.image_name,
          Status = status_text(c), State = c.status, Command = command_text(c, not trunc), CreatedAt = c.created,
          RunningFor = format.ago(c.created) }))
      end
      return 0
    end
    local out = {}
    for _, c in ipairs(rows) do
      out[#out + 1] = { trunc and c.id:sub(1, 12) or c.id, c.image_name, command_text(c, not trunc), format.ago(c.created),
                        status_text(c), "", c.name }
    end
    format.table({ "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" }, out)
    return 0
  end,
}
