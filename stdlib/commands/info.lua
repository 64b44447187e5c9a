-- `mdlua info`: the host, the engine's choices on it and the state root, in Docker's layout.
local md = require "mdlua"
local format = require "mdlua.format"
local template = require "mdlua.template"

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function os_name()
  local text = read("/etc/os-release") or ""
  return text:match('PRETTY_NAME="([^"]*)"') or text:match("PRETTY_NAME=(%S+)") or "Linux"
end

local function mem_total()
  local kb = (read("/proc/meminfo") or ""):match("MemTotal:%s*(%d+) kB")
  return kb and tonumber(kb) * 1024 or 0
end

-- GiB with two decimals, as Docker prints Total Memory.
local function gib(bytes) return ("%.2fGiB"):format(bytes / 1024 ^ 3) end

-- The document `--format` sees: Docker's field names where Docker has the fact.
local function collect()
  local host = md.sys.host(md.config.root)
  local counts = { running = 0, paused = 0, stopped = 0 }
  local containers = require("mdlua.container").stored()
  for _, c in ipairs(containers) do
    if c.status == "running" or c.status == "restarting" then counts.running = counts.running + 1
    elseif c.status == "paused" then counts.paused = counts.paused + 1
    else counts.stopped = counts.stopped + 1 end
  end
  local security = { "name=seccomp,profile=builtin", "name=no-new-privileges" }
  local cgroup = host.cgroup
  return template.struct({
    Containers = #containers, ContainersRunning = counts.running, ContainersPaused = counts.paused,
    ContainersStopped = counts.stopped, Images = #md.image.list(),
    Driver = "overlay2", DriverStatus = {
      { "Lower dirs", host.overlay_lowerdir_plus and "lowerdir+ (one option per layer)" or "lowerdir= of short links (kernel before 6.8)" },
    },
    LoggingDriver = "json-file", CgroupDriver = "cgroupfs", CgroupVersion = tostring(cgroup.version),
    CgroupLayout = cgroup.layout, CgroupControllers = cgroup.controllers or {},
    KernelVersion = host.kernel, OperatingSystem = os_name(), OSType = "linux", Architecture = host.arch,
    NCPU = md.sys.nproc(), MemTotal = mem_total(), Name = (read("/proc/sys/kernel/hostname") or ""):gsub("%s+$", ""),
    DockerRootDir = md.config.root, RunRoot = md.config.runroot, ServerVersion = md.version,
    SecurityOptions = security, Seccomp = host.seccomp,
    StorageSize = host.fs_size or 0, StorageFree = host.fs_free or 0,
  })
end

local function show(i)
  local lines = {
    "Server:",
    (" Containers: %d"):format(i.Containers),
    ("  Running: %d"):format(i.ContainersRunning),
    ("  Paused: %d"):format(i.ContainersPaused),
    ("  Stopped: %d"):format(i.ContainersStopped),
    (" Images: %d"):format(i.Images),
    (" Server Version: %s"):format(i.ServerVersion),
    (" Storage Driver: %s"):format(i.Driver),
  }
  for _, kv in ipairs(i.DriverStatus) do lines[#lines + 1] = ("  %s: %s"):format(kv[1], kv[2]) end
  for _, l in ipairs {
    (" Logging Driver: %s"):format(i.LoggingDriver),
    (" Cgroup Driver: %s"):format(i.CgroupDriver),
    (" Cgroup Version: %s"):format(i.CgroupVersion),
    ("  Layout: %s"):format(i.CgroupLayout),
    ("  Controllers: %s"):format(table.concat(i.CgroupControllers, " ")),
    " Security Options:",
    "  seccomp",
    "   Profile: builtin",
    ("   Library: %s"):format(i.Seccomp),
    "  no-new-privileges",
    (" Kernel Version: %s"):format(i.KernelVersion),
    (" Operating System: %s"):format(i.OperatingSystem),
    (" OSType: %s"):format(i.OSType),
    (" Architecture: %s"):format(i.Architecture),
    (" CPUs: %d"):format(i.NCPU),
    (" Total Memory: %s"):format(gib(i.MemTotal)),
    (" Name: %s"):format(i.Name),
    (" Docker Root Dir: %s"):format(i.DockerRootDir),
    ("  Size: %s, free: %s"):format(format.size(i.StorageSize), format.size(i.StorageFree)),
    (" Run Root: %s"):format(i.RunRoot),
  } do lines[#lines + 1] = l end
  print(table.concat(lines, "\n"))
end

return {
  summary = "Display system-wide information",
  usage = "mdlua info [OPTIONS]",
  flags = {
    { name = "format", short = "f", type = "string", metavar = "TEMPLATE", help = "Format output: a Go template or 'json'" },
  },
  run = function(o, args)
    if #args > 0 then require("mdlua.errors").fail("info: accepts no arguments") end
    local i = collect()
    if o.format then
      io.write(format.template(o.format, i), "\n")
    else
      show(i)
    end
    return 0
  end,
}
