-- How mdlua shows things to people, as Docker does: sizes in SI units, times as
-- "3 minutes ago", aligned columns, and --format output (Go templates, mdlua/template.lua).
local template = require "mdlua.template"

local M = {}

-- 4260000 -> "4.26MB" (Docker's units: powers of 1000): three significant digits, or
-- `decimals` digits after the point (a pull's progress, "1.2MB/5.0MB", as Docker's).
function M.size(bytes, decimals)
  local units = { "B", "kB", "MB", "GB", "TB", "PB" }
  local v, i = bytes + 0.0, 1
  while v >= 1000 and i < #units do v = v / 1000; i = i + 1 end
  if i == 1 then return ("%dB"):format(bytes) end
  return (decimals and ("%." .. decimals .. "f") or "%.3g"):format(v) .. units[i]
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

-- Docker's STATUS column of a container: "Up 5 minutes (healthy)", "Exited (0) 2 seconds ago".
function M.status(c)
  local function health()
    local h = c.health   -- a table, or nil without a check (stdlib/mdlua/container.lua)
    if type(h) ~= "table" or not h.Status then return "" end
    return h.Status == "starting" and " (health: starting)" or (" (" .. h.Status .. ")")
  end
  if c.status == "running" then
    return "Up " .. M.duration(os.time() - (M.parse_time(c.started_at) or os.time())) .. health()
  end
  if c.status == "restarting" then return ("Restarting (%d) %s"):format(c.exit_code, M.ago(c.finished_at)) end
  if c.status == "exited" then
    return ("Exited (%s) %s"):format(c.exit_unknown and "unknown" or c.exit_code, M.ago(c.finished_at))
  end
  if c.status == "dead" then return c.damaged and "Dead (damaged record)" or "Dead" end
  if c.status == "paused" then return "Up " .. M.duration(os.time() - (M.parse_time(c.started_at) or os.time())) .. " (Paused)" end
  return "Created"
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

-- --format ------------------------------------------------------------------------
-- Go templates (mdlua.template, docs/templates.md) as Docker's CLI uses them.

-- Docker's reading of a --format value: a "table" prefix, spaces trimmed, and "\t" and
-- "\n" as typed (a backslash and a letter) made a tab and a newline. The template source
-- and whether it is a table.
function M.prepare(fmt)
  local is_table = fmt:sub(1, 5) == "table"
  if is_table then fmt = fmt:sub(6) end
  fmt = fmt:gsub("^ +", ""):gsub(" +$", "")
  fmt = fmt:gsub("\\t", "\t"):gsub("\\n", "\n")
  return fmt, is_table
end

-- Renders one value with a --format template (no trailing newline added). A bad template
-- or field fails with Go's one-line message.
function M.template(tmpl, value)
  local src = M.prepare(tmpl)
  if tmpl == "json" then src = "{{json .}}" end
  return template.render(src, value)
end

-- Go's tabwriter as Docker's tables use it (minimum width 10, padding 3, spaces): cells
-- end with a tab; a column's width holds over each run of lines that have that column.
function M.tabwrite(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local cells = {}
    for cell in (line .. "\t"):gmatch("([^\t]*)\t") do cells[#cells + 1] = cell end
    lines[#lines + 1] = cells
  end
  if text:sub(-1) == "\n" then lines[#lines] = nil end
  local function width(s) return utf8.len(s) or #s end
  local widths = {}      -- widths[line][column]
  for i = 1, #lines do widths[i] = {} end
  local col = 1
  while true do
    local any = false
    local i = 1
    while i <= #lines do
      if #lines[i] - 1 >= col then
        any = true
        local j, w = i, 0
        while j <= #lines and #lines[j] - 1 >= col do
          w = math.max(w, width(lines[j][col]) + 3)
          j = j + 1
        end
        w = math.max(w, 10)
        for k = i, j - 1 do widths[k][col] = w end
        i = j
      else
        i = i + 1
      end
    end
    if not any then break end
    col = col + 1
  end
  local out = {}
  for i, cells in ipairs(lines) do
    local parts = {}
    for c, cell in ipairs(cells) do
      if c < #cells then
        parts[c] = cell .. (" "):rep(widths[i][c] - width(cell))
      else
        parts[c] = cell
      end
    end
    out[i] = table.concat(parts)
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

-- Fails now, naming the error, when `fmt` is not a template (nil and "" are fine).
function M.check(fmt)
  if fmt == nil or fmt == "" or fmt == "json" or fmt == "table" then return end
  template.parse((M.prepare(fmt)))
end

-- Prints a list as --format asks (opts.out: where, io.stdout by default):
--   nil, "" or "table"   opts.default(rows): the command's own output
--   "json"               one JSON object a line ({{json .}})
--   "table TEMPLATE"     a header row (the template run on opts.headers, Docker's column
--                        names) and the rows, in aligned columns
--   TEMPLATE             the template once per row, each followed by a newline
-- Nothing is printed when the template fails on any row.
function M.rows(fmt, rows, opts)
  opts = opts or {}
  local out = opts.out or io.stdout
  if fmt == nil or fmt == "" or fmt == "table" then return opts.default(rows) end
  local src, is_table = M.prepare(fmt)
  if fmt == "json" then src = "{{json .}}" end
  local t = template.parse(src)
  local buf = {}
  if is_table then
    -- Docker ignores a failure of the header row; so does this (what was made is kept).
    local header = t:execute(template.map(opts.headers or {}), { funcs = template.header_funcs, partial = true })
    buf[1] = header .. "\n"
  end
  for _, row in ipairs(rows) do
    buf[#buf + 1] = t:execute(row)
    buf[#buf + 1] = "\n"
  end
  local text = table.concat(buf)
  out:write(is_table and M.tabwrite(text) or text)
end

return M
