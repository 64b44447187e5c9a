-- How mdlua shows things to people, as Docker does: sizes in SI units, times as
-- "3 minutes ago", aligned columns, and Go-template-like --format strings.
local json = require "mdlua.json"

local M = {}

-- 4260000 -> "4.26MB" (Docker's units: powers of 1000).
function M.size(bytes)
  local units = { "B", "kB", "MB", "GB", "TB", "PB" }
  local v, i = bytes + 0.0, 1
  while v >= 1000 and i < #units do v = v / 1000; i = i + 1 end
  if i == 1 then return ("%dB"):format(bytes) end
  return (("%.3g"):format(v)) .. units[i]
end

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- Seconds since the epoch of an RFC 3339 time ("2026-11-29T03:52:07.12Z", "+01:00" too).
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)(.*)$")
  if not y then return nil end
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  local sign, oh, om = rest:match("([+-])(%d%d):?(%d%d)$")
  if sign then
    local off = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - off or t + off
  end
  return t
end

-- Docker's human durations.
-- A --since/--until value: an RFC 3339 time, Unix seconds, or a duration back from now
-- (10s, 5m, 2h). Returns Unix seconds; fails naming the flag.
function M.point_in_time(s, flag)
  if not s then return nil end
  local t = M.parse_time(s)
  if t then return t end
  if s:match("^%d+%.?%d*$") and tonumber(s) > 1e9 then return tonumber(s) end
  local n, unit = s:match("^(%d+%.?%d*)([smh]?)$")
  if not n then
    require("mdlua.errors").fail(("invalid %s %q: expected an RFC 3339 time, Unix seconds or a duration (10s, 5m, 2h)"):format(flag, s))
  end
  return os.time() - tonumber(n) * ({ [""] = 1, s = 1, m = 60, h = 3600 })[unit]
end

function M.duration(seconds)
  if seconds < 1 then return "Less than a second" end
  if seconds == 1 then return "1 second" end
  if seconds < 60 then return ("%d seconds"):format(seconds) end
  local minutes = seconds // 60
  if minutes == 1 then return "About a minute" end
  if minutes < 60 then return ("%d minutes"):format(minutes) end
  local hours = seconds // 3600
  if hours == 1 then return "About an hour" end
  if hours < 48 then return ("%d hours"):format(hours) end
  if hours < 24 * 7 * 2 then return ("%d days"):format(hours // 24) end
  if hours < 24 * 30 * 2 then return ("%d weeks"):format(hours // (24 * 7)) end
  if hours < 24 * 365 * 2 then return ("%d months"):format(hours // (24 * 30)) end
  return ("%d years"):format(hours // (24 * 365))
end

function M.ago(rfc3339)
  local t = M.parse_time(rfc3339)
  if not t then return "N/A" end
  return M.duration(math.max(0, os.time() - t)) .. " ago"
end

-- Prints rows as columns separated by at least three spaces (Docker's tabwriter).
function M.table(header, rows, out)
  out = out or io.stdout
  local widths = {}
  local all = { header }
  for _, r in ipairs(rows) do all[#all + 1] = r end
  for _, r in ipairs(all) do
    for i, cell in ipairs(r) do widths[i] = math.max(widths[i] or 0, utf8.len(tostring(cell)) or #tostring(cell)) end
  end
  for _, r in ipairs(all) do
    local line = {}
    for i, cell in ipairs(r) do
      cell = tostring(cell)
      line[i] = i < #r and cell .. (" "):rep(widths[i] - (utf8.len(cell) or #cell) + 3) or cell
    end
    out:write(table.concat(line), "\n")
  end
end

-- Renders a Go-template-like string: {{.Field.Sub}}, {{json .Field}}, {{upper .X}},
-- {{.}}; missing fields render as "<no value>" as Go's templates do.
function M.template(tmpl, value)
  local function lookup(path)
    local v = value
    if path == "." then return v end
    for key in path:gmatch("%.([%w_]+)") do
      if type(v) ~= "table" then return nil end
      v = v[key]
    end
    return v
  end
  local function show(v)
    if v == nil or v == json.null then return "<no value>" end
    if type(v) == "table" then
      if json.is_array(v) or (#v > 0) then
        local parts = {}
        for i, x in ipairs(v) do parts[i] = show(x) end
        return "[" .. table.concat(parts, " ") .. "]"
      end
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys)
      local parts = {}
      for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. ":" .. show(v[k]) end
      return "map[" .. table.concat(parts, " ") .. "]"
    end
    return tostring(v)
  end
  local out = tmpl:gsub("{{%s*(.-)%s*}}", function(expr)
    local fn, path = expr:match("^(%a+)%s+(%.[%w_.]*)$")
    if fn == "json" then
      local v = lookup(path)
      return json.encode(v == nil and json.null or v)
    elseif fn == "upper" then return show(lookup(path)):upper()
    elseif fn == "lower" then return show(lookup(path)):lower()
    elseif expr:match("^%.[%w_.]*$") then return show(lookup(expr))
    end
    require("mdlua.errors").fail(("invalid --format: cannot evaluate {{%s}}"):format(expr))
  end)
  return (out:gsub("\\n", "\n"):gsub("\\t", "\t"))
end

return M
