local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"
local template = require "mdlua.template"

-- Docker's column names for `stats --format 'table ...'`.
local headers = {
  Container = "CONTAINER", ID = "CONTAINER ID", Name = "NAME", CPUPerc = "CPU %", MemUsage = "MEM USAGE / LIMIT",
  MemPerc = "MEM %", NetIO = "NET I/O", BlockIO = "BLOCK I/O", PIDs = "PIDS",
}

local function sample(containers)
  local out = {}
  for _, c in ipairs(containers) do
    local ok, s = pcall(c.stats, c)
    out[c.id] = ok and s or nil
  end
  return out, md.sys.monotonic()
end

return {
  summary = "Display a live stream of container resource usage statistics",
  usage = "mdlua stats [OPTIONS] [CONTAINER...]",
  flags = {
    { name = "no-stream", type = "bool", help = "Print one sample and exit" },
    { name = "format", type = "string", metavar = "TEMPLATE", help = "Format output: a Go template, 'table TEMPLATE' or 'json'" },
    { name = "all", short = "a", type = "bool", help = "Show all containers (default shows just running)" },
  },
  run = function(o, args)
    format.check(o.format)
    local ref_of = {}    -- Docker's .Container: the name or ID as given
    local function pick()
      local list = {}
      if #args > 0 then
        for _, ref in ipairs(args) do
          local c = md.container.get(ref)
          ref_of[c.id] = ref
          list[#list + 1] = c
        end
      else
        for _, c in ipairs(require("mdlua.container").stored()) do
          if o.all or c.status == "running" or c.status == "paused" then list[#list + 1] = c end
        end
      end
      return list
    end
    local tty = md.sys.isatty(1) and not o["no-stream"]
    local containers = pick()
    local before, t0 = sample(containers)
    while true do
      md.sys.sleep(o["no-stream"] and 0.5 or 1)
      local after, t1 = sample(containers)
      local rows = {}
      for _, c in ipairs(containers) do
        local a, b = after[c.id], before[c.id]
        if a then
          local cpu = b and (a.cpu_ns - b.cpu_ns) / ((t1 - t0) * 1e9) * 100 or 0
          local limit = a.memory_limit > 0 and a.memory_limit < 2 ^ 62 and a.memory_limit or nil
          local row = template.struct { Container = ref_of[c.id] or c.id:sub(1, 12), ID = c.id:sub(1, 12), Name = c.name, CPUPerc = ("%.2f%%"):format(cpu),
            MemUsage = format.size(a.memory) .. " / " .. (limit and format.size(limit) or "unlimited"),
            MemPerc = limit and ("%.2f%%"):format(a.memory / limit * 100) or "--",
            NetIO = "--", BlockIO = format.size(a.block_read) .. " / " .. format.size(a.block_write),
            PIDs = tostring(a.pids) }
          rows[#rows + 1] = row
        end
      end
      if tty then io.write("\27[2J\27[H") end
      format.rows(o.format, rows, { headers = headers, default = function()
        local t = {}
        for _, r in ipairs(rows) do t[#t + 1] = { r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs } end
        format.table({ "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS" }, t)
      end })
      io.stdout:flush()
      if o["no-stream"] then return 0 end
      before, t0 = after, t1
      containers = pick()
    end
  end,
}
