local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"
local json = require "mdlua.json"
local template = require "mdlua.template"

-- Events from ROOT/events.log (written by every command and monitor, see EventLog.swift).
-- Without --since: only what happens from now on; without --until: follows until interrupted.

local filter_keys = { type = true, event = true, container = true, image = true }

local function parse_filters(list)
  local f = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([%w]+)=(.+)$")
    if not k or not filter_keys[k] then
      errors.fail(("invalid --filter %q: expected type=, event=, container= or image="):format(kv))
    end
    f[k] = f[k] or {}
    f[k][#f[k] + 1] = v
  end
  return f
end

local function any(values, test)
  if not values then return true end
  for _, v in ipairs(values) do if test(v) then return true end end
  return false
end

local function matches(e, f)
  local a = e.Actor.Attributes or {}
  return any(f.type, function(v) return e.Type == v end)
     and any(f.event, function(v) return e.Action == v end)
     and any(f.container, function(v)
           return e.Type == "container" and (a.name == v or e.Actor.ID:sub(1, #v) == v) end)
     and any(f.image, function(v)
           if e.Type == "container" then return a.image == v end
           local repo, tag = md.image.familiar(a.name or "")
           return a.name == v or repo == v or repo .. ":" .. tag == v
             or (#v >= 4 and e.Actor.ID:gsub("^sha256:", ""):sub(1, #v) == v) end)
end

local function timestamp(e)
  local sec = e.timeNano // 1000000000
  return os.date("!%Y-%m-%dT%H:%M:%S", sec) .. ("." .. ("%09d"):format(e.timeNano % 1000000000)) .. "Z"
end

local function default_line(e)
  local attrs, keys = {}, {}
  for k in pairs(e.Actor.Attributes or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do attrs[#attrs + 1] = k .. "=" .. e.Actor.Attributes[k] end
  return ("%s %s %s %s (%s)"):format(timestamp(e), e.Type, e.Action, e.Actor.ID, table.concat(attrs, ", "))
end

return {
  summary = "Get real time events from containers and images",
  usage = "mdlua events [OPTIONS]",
  flags = {
    { name = "since", type = "string", metavar = "TIME", help = "Show events since a time (RFC 3339, Unix seconds) or a duration (10m)" },
    { name = "until", type = "string", metavar = "TIME", help = "Stream events until this time" },
    { name = "filter", short = "f", type = "list", metavar = "KEY=VALUE", help = "Filter: type=, event=, container=, image=" },
    { name = "format", type = "string", metavar = "TEMPLATE", help = "Format with a Go template ({{.Action}}, {{json .}}) or 'json'" },
  },
  run = function(o, args)
    if #args > 0 then errors.fail("events: accepts no arguments") end
    local since = format.point_in_time(o.since, "--since")
    local till = format.point_in_time(o["until"], "--until")
    local filters = parse_filters(o.filter)
    local tmpl = o.format and o.format ~= "json" and template.parse((format.prepare(o.format)))
    local path = md.config.root .. "/events.log"
    local last = since and math.floor(since * 1e9) - 1 or nil

    local function show(e)
      if last and e.timeNano <= last then return end
      last = e.timeNano
      if till and e.time > till then return true end
      if not matches(e, filters) then return end
      if o.format then
        -- Docker's event fields (and its older status/id/from).
        e.status, e.id, e.from = e.Action, e.Actor.ID, (e.Actor.Attributes or {}).image
        if o.format == "json" then
          print(json.encode(e))
        else
          print(tmpl:execute(template.struct({ Type = e.Type, Action = e.Action, Actor = e.Actor, Scope = e.scope,
            Time = e.time, TimeNano = e.timeNano, Status = e.status, ID = e.id, From = e.from },
            { "Scope", "Time", "TimeNano", "Status", "ID", "From" })))
        end
      else
        print(default_line(e))
      end
    end

    -- Reads complete lines of `file` from `offset`; returns the new offset, or nil when
    -- an event past --until ends the stream.
    local function read_from(file, offset)
      local f = io.open(file, "rb")
      if not f then return 0 end
      local size = f:seek("end")
      if size < offset then offset = 0 end   -- rotated: a new file
      f:seek("set", offset)
      local data = f:read("a") or ""
      f:close()
      local consumed = 0
      for line in data:gmatch("([^\n]*)\n") do
        consumed = consumed + #line + 1
        local ok, e = pcall(json.decode, line)
        if ok and type(e) == "table" and e.Actor and e.timeNano then
          if show(e) then return nil end
        end
      end
      return offset + consumed
    end

    local offset
    if since then
      if read_from(path .. ".1", 0) == nil then return 0 end
      offset = read_from(path, 0)
    else
      local f = io.open(path, "rb")
      offset = f and f:seek("end") or 0
      if f then f:close() end
    end
    io.stdout:flush()
    while offset do
      if till and os.time() > till then return 0 end
      md.sys.sleep(0.1)
      offset = read_from(path, offset)
      io.stdout:flush()
    end
    return 0
  end,
}
