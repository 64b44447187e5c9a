local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

-- The processes in the container's pid namespace, with their host pids, as `docker top`.
return {
  summary = "Display the running processes of a container",
  usage = "mdlua top CONTAINER",
  run = function(_, args)
    if #args ~= 1 then errors.fail("top: requires exactly 1 argument (CONTAINER)") end
    local c = md.container.get(args[1])
    if c.status ~= "running" then errors.fail(("container %s is not running"):format(c.name)) end
    local function ns(pid) return md.sys.readlink("/proc/" .. pid .. "/ns/pid") end
    local target = ns(c.pid)
    local rows = {}
    for _, entry in ipairs(md.sys.listdir("/proc") or {}) do
      local pid = tonumber(entry)
      if pid then
        local f = io.open("/proc/" .. pid .. "/stat")
        local stat = f and f:read("a")
        if f then f:close() end
        if stat and ns(pid) == target then
          local ppid = stat:match("%) %a (%d+)")
          local cmd = io.open("/proc/" .. pid .. "/cmdline")
          local line = cmd and cmd:read("a"):gsub("%z$", ""):gsub("%z", " ") or ""
          if cmd then cmd:close() end
          rows[#rows + 1] = { tostring(pid), ppid or "?", line }
        end
      end
    end
    table.sort(rows, function(a, b) return tonumber(a[1]) < tonumber(b[1]) end)
    format.table({ "PID", "PPID", "CMD" }, rows)
    return 0
  end,
}
