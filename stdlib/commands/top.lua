local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

-- The pids (host numbering) of the processes in the container's pid namespace.
local function container_pids(c)
  local function ns(pid) return md.sys.readlink("/proc/" .. pid .. "/ns/pid") end
  local target = ns(c.pid)
  local pids = {}
  for _, entry in ipairs(md.sys.listdir("/proc") or {}) do
    local pid = tonumber(entry)
    if pid and target and ns(pid) == target then pids[pid] = true end
  end
  return pids
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The container's processes, as `docker top`: the host's ps with the options given
-- (default -ef), its rows kept when their PID is one of the container's, in columns.
return {
  summary = "Display the running processes of a container",
  usage = "mdlua top CONTAINER [ps OPTIONS]",
  interspersed = false,
  run = function(_, args)
    if #args < 1 then errors.fail("top: requires at least 1 argument (CONTAINER [ps OPTIONS])") end
    local c = md.container.get(args[1])
    if c.status ~= "running" and c.status ~= "paused" then errors.fail(("container %s is not running"):format(c.name)) end
    local opts = { table.unpack(args, 2) }
    if #opts == 0 then opts = { "-ef" } end
    local cmd = { "ps" }
    for _, o in ipairs(opts) do cmd[#cmd + 1] = quote(o) end
    local p = io.popen(table.concat(cmd, " ") .. " 2>&1")
    local text = p:read("a")
    local ok, _, code = p:close()
    if not ok then
      errors.fail(("top: ps %s failed (exit %s): %s"):format(table.concat(opts, " "), tostring(code), (text:gsub("\n.*", ""))))
    end
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    local header = {}
    for f in (lines[1] or ""):gmatch("%S+") do header[#header + 1] = f end
    local pid_col
    for i, h in ipairs(header) do if h == "PID" then pid_col = i end end
    if not pid_col then errors.fail(("top: ps %s printed no PID column"):format(table.concat(opts, " "))) end
    local pids = container_pids(c)
    local rows = {}
    for i = 2, #lines do
      -- The last column (the command) may hold spaces: it takes the rest of the line.
      local fields, rest = {}, lines[i]
      for _ = 1, #header - 1 do
        local f, tail = rest:match("^%s*(%S+)(.*)$")
        if not f then break end
        fields[#fields + 1], rest = f, tail
      end
      fields[#fields + 1] = rest:match("^%s*(.-)%s*$")
      if pids[tonumber(fields[pid_col])] then rows[#rows + 1] = fields end
    end
    format.table(header, rows)
    return 0
  end,
}
