-- The options a container is made with, one entry each: the Lua field (md.run,
-- md.container.create; `group` nests it: resources.memory), its type, its CLI flag (run and
-- create; `update` also for `mdlua update`) and help. Everything else comes from here: the
-- flag tables of the commands (runflags.lua), the translation of parsed flags into fields,
-- the field checks of the Lua API, and the names errors use — the flag's when the CLI was
-- used, the field's when Lua was (spec.lua calls M.name). How a field maps into config.json
-- is spec.build's, keyed by these fields. Adding an option is one entry here, its mapping
-- in spec.lua and its engine work.
local errors = require "mdlua.errors"

local M = {}

-- Lua types by flag type.
local lua_types = { bool = "boolean", string = "string", int = "number", number = "number", list = "table" }

M.entries = {
  -- Lua only: what the CLI takes as positional arguments or does itself.
  { field = "image", type = "string", required = true },
  { field = "cmd", type = "list" },
  { field = "capture", type = "bool" },
  { field = "detach", flag = "detach", short = "d", type = "bool", help = "Run the container in the background and print its ID" },
  { field = "restart", flag = "restart", type = "string", metavar = "POLICY", help = "no, on-failure[:N], always or unless-stopped", update = true },
  { field = "log_opt", flag = "log-opt", type = "list", metavar = "OPT", help = "max-size=SIZE, max-file=N" },
  { field = "name", flag = "name", type = "string", help = "Assign a name to the container" },
  { field = "label", flag = "label", short = "l", type = "list", metavar = "K=V", help = "Set metadata on the container" },
  { field = "rm", flag = "rm", type = "bool", help = "Automatically remove the container when it exits" },
  { field = "interactive", flag = "interactive", short = "i", type = "bool", help = "Keep STDIN open" },
  { field = "tty", flag = "tty", short = "t", type = "bool", help = "Allocate a pseudo-TTY" },
  -- env: a list {"A=1"} or, from Lua, a map {A="1"} too.
  { field = "env", flag = "env", short = "e", type = "list", metavar = "K=V", help = "Set environment variables" },
  { field = "env_file", flag = "env-file", type = "list", metavar = "FILE", help = "Read in a file of environment variables" },
  { field = "workdir", flag = "workdir", short = "w", type = "string", metavar = "DIR", help = "Working directory inside the container" },
  { field = "user", flag = "user", short = "u", type = "string", metavar = "USER[:GROUP]", help = "Username or UID (format: <name|uid>[:<group|gid>])" },
  { field = "hostname", flag = "hostname", short = "h", type = "string", help = "Container host name" },
  { field = "entrypoint", flag = "entrypoint", type = "string", help = "Overwrite the default ENTRYPOINT of the image" },
  { field = "init", flag = "init", type = "bool", help = "Run an init inside the container that forwards signals and reaps processes" },
  { field = "read_only", flag = "read-only", type = "bool", help = "Mount the container's root filesystem as read only" },
  { field = "tmpfs", flag = "tmpfs", type = "list", metavar = "PATH[:OPTS]", help = "Mount a tmpfs directory" },
  { field = "cap_add", flag = "cap-add", type = "list", metavar = "CAP", help = "Add Linux capabilities" },
  { field = "cap_drop", flag = "cap-drop", type = "list", metavar = "CAP", help = "Drop Linux capabilities" },
  { field = "privileged", flag = "privileged", type = "bool", help = "Give extended privileges to this container" },
  { field = "security_opt", flag = "security-opt", type = "list", metavar = "OPT", help = "no-new-privileges[=false], seccomp=unconfined|PROFILE.json" },
  { field = "ulimit", flag = "ulimit", type = "list", metavar = "NAME=SOFT[:HARD]", help = "Ulimit options" },
  { field = "stop_signal", flag = "stop-signal", type = "string", metavar = "SIGNAL", help = "Signal to stop the container" },

  -- Resource limits (also `mdlua update`, and c:update{} from Lua).
  { group = "resources", field = "memory", flag = "memory", short = "m", type = "string", metavar = "BYTES", update = true,
    help = "Memory limit (100m, 1g, 512k, 100b; a bare number is megabytes)" },
  { group = "resources", field = "memory_swap", flag = "memory-swap", type = "string", metavar = "BYTES", update = true,
    help = "Memory + swap limit (-1: unlimited swap; default: equal to --memory)" },
  { group = "resources", field = "memory_reservation", flag = "memory-reservation", type = "string", metavar = "BYTES", update = true,
    help = "Memory soft limit" },
  { group = "resources", field = "cpus", flag = "cpus", type = "number", metavar = "N", update = true, help = "Number of CPUs (0.5 is half of one)" },
  { group = "resources", field = "cpu_shares", flag = "cpu-shares", short = "c", type = "int", metavar = "N", update = true, help = "CPU shares (relative weight)" },
  { group = "resources", field = "cpu_quota", flag = "cpu-quota", type = "int", metavar = "US", update = true, help = "CPU CFS quota in microseconds" },
  { group = "resources", field = "cpu_period", flag = "cpu-period", type = "int", metavar = "US", update = true, help = "CPU CFS period in microseconds" },
  { group = "resources", field = "cpuset_cpus", flag = "cpuset-cpus", type = "string", metavar = "LIST", update = true, help = "CPUs to run on (0-3, 0,1)" },
  { group = "resources", field = "cpuset_mems", flag = "cpuset-mems", type = "string", metavar = "LIST", update = true, help = "Memory nodes to use" },
  { group = "resources", field = "pids_limit", flag = "pids-limit", type = "int", metavar = "N", update = true, help = "Process limit (-1: unlimited)" },
  { group = "resources", field = "blkio_weight", flag = "blkio-weight", type = "int", metavar = "N", update = true, help = "Block IO weight (10 to 1000)" },
  { group = "resources", field = "oom_kill_disable", flag = "oom-kill-disable", type = "bool", update = true, help = "Disable the OOM killer (cgroup v1 only)" },
  -- Block I/O throttles: run and create only, as Docker's update has none.
  { group = "resources", field = "device_read_bps", flag = "device-read-bps", type = "list", metavar = "PATH:RATE",
    help = "Limit read rate (bytes per second) from a device (1mb, 512kb)" },
  { group = "resources", field = "device_write_bps", flag = "device-write-bps", type = "list", metavar = "PATH:RATE",
    help = "Limit write rate (bytes per second) to a device" },
  { group = "resources", field = "device_read_iops", flag = "device-read-iops", type = "list", metavar = "PATH:N",
    help = "Limit read rate (IO per second) from a device" },
  { group = "resources", field = "device_write_iops", flag = "device-write-iops", type = "list", metavar = "PATH:N",
    help = "Limit write rate (IO per second) to a device" },

  { group = "health", field = "cmd", flag = "health-cmd", type = "string", metavar = "CMD", help = "Command to run to check health" },
  { group = "health", field = "interval", flag = "health-interval", type = "string", metavar = "DURATION", help = "Time between running the check (default 30s)" },
  { group = "health", field = "timeout", flag = "health-timeout", type = "string", metavar = "DURATION", help = "Maximum time to allow one check to run (default 30s)" },
  { group = "health", field = "retries", flag = "health-retries", type = "int", metavar = "N", help = "Consecutive failures needed to report unhealthy (default 3)" },
  { group = "health", field = "start_period", flag = "health-start-period", type = "string", metavar = "DURATION", help = "Start period during which failures do not count" },
  { group = "health", field = "disable", flag = "no-healthcheck", type = "bool", help = "Disable any container-specified HEALTHCHECK" },

  -- Networking (docs/networking.md).
  { field = "network", flag = "network", type = "string", default = "bridge", metavar = "NETWORK",
    help = "Connect a container to a network: bridge (the default), a network's name, none, host or container:NAME" },
  { field = "ports", flag = "publish", short = "p", type = "list", metavar = "[IP:][HOST:]PORT[/PROTO]",
    help = "Publish a container's port(s) to the host" },
  { field = "publish_all", flag = "publish-all", short = "P", type = "bool", help = "Publish all exposed ports to free host ports" },
  { field = "network_alias", flag = "network-alias", type = "list", metavar = "NAME", help = "Add network-scoped alias for the container" },
  { field = "ip", flag = "ip", type = "string", metavar = "ADDRESS", help = "IPv4 address on the network (e.g., 10.222.0.9)" },
  { field = "dns", flag = "dns", type = "list", metavar = "IP", help = "Set custom DNS servers" },
  { field = "dns_search", flag = "dns-search", type = "list", metavar = "DOMAIN", help = "Set custom DNS search domains" },
  { field = "dns_option", flag = "dns-option", type = "list", metavar = "OPT", help = "Set DNS options" },
  { field = "add_host", flag = "add-host", type = "list", metavar = "HOST:IP", help = "Add a custom host-to-IP mapping (host:ip, host:host-gateway)" },

  -- Volumes and mounts (docs/volumes.md; spec.lua, M.volume_mounts), sysctls, the writable layer's size.
  { field = "volumes", flag = "volume", short = "v", type = "list", metavar = "[SRC:]DST[:OPTS]",
    help = "Bind mount a host path or mount a volume (NAME:/path, /host:/path, /path; opts ro, rw, nocopy)" },
  { field = "mounts", flag = "mount", type = "list", metavar = "SPEC",
    help = "Attach a mount: type=bind|volume|tmpfs,source=,target=,readonly,..." },
  { field = "volumes_from", flag = "volumes-from", type = "list", metavar = "CONTAINER[:ro|rw]",
    help = "Mount the volumes of the container" },
  { field = "sysctl", flag = "sysctl", type = "list", metavar = "K=V",
    help = "Namespaced kernel parameters (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*)" },
  { field = "storage_opt", flag = "storage-opt", type = "list", metavar = "size=SIZE",
    help = "Limit the container's writable layer (size=1g; its own file system, docs/volumes.md)" },

  { field = "cgroup_parent", flag = "cgroup-parent", type = "string", metavar = "PATH", help = "Parent cgroup (default mdlua)" },
  { field = "cgroupns", flag = "cgroupns", type = "string", default = "private", metavar = "MODE", help = "private or host" },

  -- Registries (docs/registries.md): the CLI pulls a missing image, as Docker's does; from
  -- Lua, only when `pull` is given.
  { field = "pull", flag = "pull", type = "string", default = "missing", metavar = "POLICY",
    help = "Pull image before running (always, missing, never)" },
  { field = "platform", flag = "platform", type = "string", metavar = "OS/ARCH", help = "Set platform if the image is pulled" },
}

-- Lookups: by flag name, and by "field" or "group.field".
M.by_flag, M.by_path = {}, {}
for _, e in ipairs(M.entries) do
  e.path = e.group and (e.group .. "." .. e.field) or e.field
  e.lua_type = lua_types[e.type]
  M.by_path[e.path] = e
  if e.flag then M.by_flag[e.flag] = e end
end

-- The flag table of a command: every entry with a flag (`update`: those marked for it).
function M.flags(opts)
  opts = opts or {}
  local out = {}
  for _, e in ipairs(M.entries) do
    if e.flag and (not opts.update or e.update) then
      out[#out + 1] = { name = e.flag, short = e.short, type = e.type, metavar = e.metavar, help = e.help,
                        default = e.default }
    end
  end
  return out
end

-- Parsed flags -> fields (groups as nested tables, only when one of theirs was given).
function M.from_flags(parsed)
  local out = {}
  for _, e in ipairs(M.entries) do
    local v = e.flag and parsed[e.flag]
    -- An unset bool flag parses as false, an unset list as {}: neither is a field.
    if v ~= nil and v ~= false and not (type(v) == "table" and next(v) == nil) then
      if e.group then
        out[e.group] = out[e.group] or {}
        out[e.group][e.field] = v
      else
        out[e.field] = v
      end
    end
  end
  return out
end

-- How errors name an option: "cli" (the flag, --memory) while the CLI builds a container,
-- "lua" (the field, resources.memory) otherwise. runflags switches it for the CLI.
M.mode = "lua"

function M.name(path)
  local e = M.by_path[path]
  if not e then return path end
  if M.mode == "cli" and e.flag then return "--" .. e.flag end
  return e.path
end

-- Fails with `msg`, written in the CLI's words: from Lua, each --flag in it becomes the
-- field it stands for ("invalid --memory" -> "invalid resources.memory").
function M.fail(msg)
  if M.mode ~= "cli" then
    msg = msg:gsub("%-%-([%w-]+)", function(flag)
      local e = M.by_flag[flag]
      return e and e.path or nil
    end)
  end
  errors.raise("invalid_option", msg)
end

-- Checks a table of fields from Lua: unknown names and wrong types are errors that name
-- the field (`fn`: the function the caller called; `level`: the caller's line).
function M.check(o, fn, level)
  if type(o) ~= "table" then errors.raise("invalid_option", fn .. ": expected a table of options", level) end
  local groups = {}
  for _, e in ipairs(M.entries) do if e.group then groups[e.group] = true end end
  -- Flattened first, so that every error below is raised from this frame (`level` holds).
  local given = {}
  for k, v in pairs(o) do
    if type(k) ~= "string" then errors.raise("invalid_option", ("%s: unknown field %q"):format(fn, tostring(k)), level) end
    if groups[k] then
      if type(v) ~= "table" then errors.raise("invalid_option", ("%s: field %q must be a table, got %s"):format(fn, k, type(v)), level) end
      for gk, gv in pairs(v) do given[#given + 1] = { k .. "." .. tostring(gk), gv } end
    else
      given[#given + 1] = { k, v }
    end
  end
  for _, pv in ipairs(given) do
    local path, v = pv[1], pv[2]
    local e = M.by_path[path]
    if not e then errors.raise("invalid_option", ("%s: unknown field %q"):format(fn, path), level) end
    if type(v) ~= e.lua_type then
      errors.raise("invalid_option", ("%s: field %q must be a %s, got %s"):format(fn, path, e.lua_type, type(v)), level)
    end
  end
  for _, e in ipairs(M.entries) do
    if e.required and o[e.field] == nil then errors.raise("invalid_option", ("%s: field %q is required"):format(fn, e.field), level) end
  end
end

-- c:update{resources={memory="128m"}, restart="always"}: the fields of md.run's table that
-- are marked for update, in the same places. Unknown names and wrong types are errors.
function M.check_update(o, fn, level)
  if type(o) ~= "table" then errors.raise("invalid_option", fn .. ": expected a table of options", level) end
  local function check(path, v)
    local e = M.by_path[path]
    if not e or not e.update then errors.raise("invalid_option", ("%s: unknown field %q"):format(fn, path), level + 1) end
    if type(v) ~= e.lua_type then
      errors.raise("invalid_option", ("%s: field %q must be a %s, got %s"):format(fn, path, e.lua_type, type(v)), level + 1)
    end
  end
  for k, v in pairs(o) do
    if k == "resources" and type(v) == "table" then
      for rk, rv in pairs(v) do check("resources." .. tostring(rk), rv) end
    elseif k == "resources" then
      errors.raise("invalid_option", ("%s: field \"resources\" must be a table, got %s"):format(fn, type(v)), level)
    else
      check(tostring(k), v)
    end
  end
end

return M
