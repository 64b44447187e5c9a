-- The flags `run` and `create` share, and their translation into md.container options.
local errors = require "mdlua.errors"

local M = {}

M.flags = {
  { name = "detach", short = "d", type = "bool", help = "Run the container in the background and print its ID" },
  { name = "restart", type = "string", metavar = "POLICY", help = "no, on-failure[:N], always or unless-stopped" },
  { name = "log-opt", type = "list", metavar = "OPT", help = "max-size=SIZE, max-file=N" },
  { name = "name", type = "string", help = "Assign a name to the container" },
  { name = "label", short = "l", type = "list", metavar = "K=V", help = "Set metadata on the container" },
  { name = "rm", type = "bool", help = "Automatically remove the container when it exits" },
  { name = "interactive", short = "i", type = "bool", help = "Keep STDIN open" },
  { name = "tty", short = "t", type = "bool", help = "Allocate a pseudo-TTY" },
  { name = "env", short = "e", type = "list", metavar = "K=V", help = "Set environment variables" },
  { name = "env-file", type = "list", metavar = "FILE", help = "Read in a file of environment variables" },
  { name = "workdir", short = "w", type = "string", metavar = "DIR", help = "Working directory inside the container" },
  { name = "user", short = "u", type = "string", metavar = "USER[:GROUP]", help = "Username or UID (format: <name|uid>[:<group|gid>])" },
  { name = "hostname", short = "h", type = "string", help = "Container host name" },
  { name = "entrypoint", type = "string", help = "Overwrite the default ENTRYPOINT of the image" },
  { name = "init", type = "bool", help = "Run an init inside the container that forwards signals and reaps processes" },
  { name = "read-only", type = "bool", help = "Mount the container's root filesystem as read only" },
  { name = "tmpfs", type = "list", metavar = "PATH[:OPTS]", help = "Mount a tmpfs directory" },
  { name = "cap-add", type = "list", metavar = "CAP", help = "Add Linux capabilities" },
  { name = "cap-drop", type = "list", metavar = "CAP", help = "Drop Linux capabilities" },
  { name = "privileged", type = "bool", help = "Give extended privileges to this container" },
  { name = "security-opt", type = "list", metavar = "OPT", help = "no-new-privileges[=false], seccomp=unconfined|PROFILE.json" },
  { name = "network", type = "string", default = "none", metavar = "MODE", help = "none or host" },
  { name = "ulimit", type = "list", metavar = "NAME=SOFT[:HARD]", help = "Ulimit options" },
  { name = "stop-signal", type = "string", metavar = "SIGNAL", help = "Signal to stop the container" },
}

-- Resource limits (`run`, `create`, `update`).
M.resource_flags = {
  { name = "memory", short = "m", type = "string", metavar = "BYTES", help = "Memory limit (100m, 1g, 512k, 100b; a bare number is megabytes)" },
  { name = "memory-swap", type = "string", metavar = "BYTES", help = "Memory + swap limit (-1: unlimited swap; default: equal to --memory)" },
  { name = "memory-reservation", type = "string", metavar = "BYTES", help = "Memory soft limit" },
  { name = "cpus", type = "number", metavar = "N", help = "Number of CPUs (0.5 is half of one)" },
  { name = "cpu-shares", short = "c", type = "int", metavar = "N", help = "CPU shares (relative weight)" },
  { name = "cpu-quota", type = "int", metavar = "US", help = "CPU CFS quota in microseconds" },
  { name = "cpu-period", type = "int", metavar = "US", help = "CPU CFS period in microseconds" },
  { name = "cpuset-cpus", type = "string", metavar = "LIST", help = "CPUs to run on (0-3, 0,1)" },
  { name = "cpuset-mems", type = "string", metavar = "LIST", help = "Memory nodes to use" },
  { name = "pids-limit", type = "int", metavar = "N", help = "Process limit (-1: unlimited)" },
  { name = "blkio-weight", type = "int", metavar = "N", help = "Block IO weight (10 to 1000)" },
  { name = "oom-kill-disable", type = "bool", help = "Disable the OOM killer (cgroup v1 only)" },
}
for _, f in ipairs(M.resource_flags) do M.flags[#M.flags + 1] = f end
for _, f in ipairs {
  { name = "health-cmd", type = "string", metavar = "CMD", help = "Command to run to check health" },
  { name = "health-interval", type = "string", metavar = "DURATION", help = "Time between running the check (default 30s)" },
  { name = "health-timeout", type = "string", metavar = "DURATION", help = "Maximum time to allow one check to run (default 30s)" },
  { name = "health-retries", type = "int", metavar = "N", help = "Consecutive failures needed to report unhealthy (default 3)" },
  { name = "health-start-period", type = "string", metavar = "DURATION", help = "Start period during which failures do not count" },
  { name = "no-healthcheck", type = "bool", help = "Disable any container-specified HEALTHCHECK" },
} do M.flags[#M.flags + 1] = f end
-- Block I/O throttles (run and create; Docker's update has none).
for _, f in ipairs {
  { name = "device-read-bps", type = "list", metavar = "PATH:RATE", help = "Limit read rate (bytes per second) from a device (1mb, 512kb)" },
  { name = "device-write-bps", type = "list", metavar = "PATH:RATE", help = "Limit write rate (bytes per second) to a device" },
  { name = "device-read-iops", type = "list", metavar = "PATH:N", help = "Limit read rate (IO per second) from a device" },
  { name = "device-write-iops", type = "list", metavar = "PATH:N", help = "Limit write rate (IO per second) to a device" },
} do M.flags[#M.flags + 1] = f end
M.flags[#M.flags + 1] = { name = "cgroup-parent", type = "string", metavar = "PATH", help = "Parent cgroup (default mdlua)" }
M.flags[#M.flags + 1] = { name = "cgroupns", type = "string", default = "private", metavar = "MODE", help = "private or host" }

-- The resource options from parsed flags (nil for flags not given).
function M.resources(o)
  return { memory = o.memory, memory_swap = o["memory-swap"], memory_reservation = o["memory-reservation"],
           cpus = o.cpus, cpu_shares = o["cpu-shares"], cpu_quota = o["cpu-quota"], cpu_period = o["cpu-period"],
           cpuset_cpus = o["cpuset-cpus"], cpuset_mems = o["cpuset-mems"], pids_limit = o["pids-limit"],
           blkio_weight = o["blkio-weight"], oom_kill_disable = o["oom-kill-disable"] or nil,
           device_read_bps = o["device-read-bps"], device_write_bps = o["device-write-bps"],
           device_read_iops = o["device-read-iops"], device_write_iops = o["device-write-iops"] }
end

-- Run options from parsed flags and positionals (IMAGE [COMMAND [ARG...]]).
function M.options(o, args, command)
  if not args[1] then errors.fail(command .. ": requires at least 1 argument (IMAGE [COMMAND [ARG...]])") end
  local cmd = { table.unpack(args, 2) }
  return {
    image = args[1], cmd = #cmd > 0 and cmd or nil, name = o.name, rm = o.rm, interactive = o.interactive,
    tty = o.tty, env = o.env, env_file = o["env-file"], workdir = o.workdir, user = o.user, hostname = o.hostname,
    entrypoint = o.entrypoint, init = o.init, read_only = o["read-only"], tmpfs = o.tmpfs, cap_add = o["cap-add"],
    cap_drop = o["cap-drop"], privileged = o.privileged, security_opt = o["security-opt"], network = o.network,
    ulimit = o.ulimit, stop_signal = o["stop-signal"], detach = o.detach, restart = o.restart, log_opt = o["log-opt"], label = o.label,
    resources = M.resources(o), cgroup_parent = o["cgroup-parent"], cgroupns = o.cgroupns,
    health = (o["health-cmd"] or o["health-interval"] or o["health-timeout"] or o["health-retries"]
              or o["health-start-period"] or o["no-healthcheck"]) and {
      cmd = o["health-cmd"], interval = o["health-interval"], timeout = o["health-timeout"],
      retries = o["health-retries"], start_period = o["health-start-period"], disable = o["no-healthcheck"] } or nil,
  }
end

return M
