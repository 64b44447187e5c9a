-- A container's OCI runtime spec (config.json), built from the image config and the
-- options of `run`/`create`, with Docker's defaults: namespaces, mounts, the default
-- capabilities, masked and read-only paths, the default seccomp profile — plus
-- no_new_privs on by default (docs/design.md, invariant 6).
local md = require "mdlua"
local json = require "mdlua.json"
local options = require "mdlua.options"
local envfile = require "mdlua.envfile"
-- Messages name options in the CLI's words; options.fail turns them into fields for Lua.
local errors = { fail = options.fail }

local M = {}

M.default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

M.default_caps = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
  "CAP_AUDIT_WRITE" }

-- Every capability, in the kernel's order: the engine's one list (Capabilities.swift).
M.all_caps = md.sys.capabilities()

M.masked_paths = { "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap" }

M.readonly_paths = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" }

local rlimit_names = { core = "RLIMIT_CORE", cpu = "RLIMIT_CPU", data = "RLIMIT_DATA", fsize = "RLIMIT_FSIZE",
  locks = "RLIMIT_LOCKS", memlock = "RLIMIT_MEMLOCK", msgqueue = "RLIMIT_MSGQUEUE", nice = "RLIMIT_NICE",
  nofile = "RLIMIT_NOFILE", nproc = "RLIMIT_NPROC", rss = "RLIMIT_RSS", rtprio = "RLIMIT_RTPRIO",
  rttime = "RLIMIT_RTTIME", sigpending = "RLIMIT_SIGPENDING", stack = "RLIMIT_STACK", as = "RLIMIT_AS" }

local function cap_name(c)
  c = c:upper()
  if not c:match("^CAP_") then c = "CAP_" .. c end
  return c
end

local function capabilities(o)
  if o.privileged then return M.all_caps end
  local set, order = {}, {}
  for _, c in ipairs(M.default_caps) do set[c] = true end
  local known = {}
  for _, c in ipairs(M.all_caps) do known[c] = true end
  -- Drops first, then adds: "--cap-drop ALL --cap-add X" leaves X, as with Docker.
  for _, c in ipairs(o.cap_drop or {}) do
    if c:upper() == "ALL" then set = {}
    else
      local n = cap_name(c)
      if not known[n] then errors.fail(("invalid --cap-drop %q: unknown capability"):format(c)) end
      set[n] = nil
    end
  end
  for _, c in ipairs(o.cap_add or {}) do
    if c:upper() == "ALL" then for _, a in ipairs(M.all_caps) do set[a] = true end
    else
      local n = cap_name(c)
      if not known[n] then errors.fail(("invalid --cap-add %q: unknown capability"):format(c)) end
      set[n] = true
    end
  end
  for _, c in ipairs(M.all_caps) do if set[c] then order[#order + 1] = c end end
  return order
end

function M.parse_ulimit(u)
  local name, soft, hard = u:match("^(%a+)=(-?%d+):?(-?%d*)$")
  if not name or not rlimit_names[name] then
    errors.fail(("invalid --ulimit %q: expected NAME=SOFT[:HARD] with NAME one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack"):format(u))
  end
  soft = tonumber(soft)
  hard = hard ~= "" and tonumber(hard) or soft
  if soft > hard and hard >= 0 then errors.fail(("invalid --ulimit %q: soft limit above hard limit"):format(u)) end
  return { type = rlimit_names[name], soft = soft, hard = hard }
end

local function security_options(o)
  local s = { no_new_privileges = true, seccomp = "default" }
  for _, opt in ipairs(o.security_opt or {}) do
    local k, v = opt:match("^([%w-]+)[=:](.*)$")
    k = k or opt
    if k == "no-new-privileges" then
      if v == nil or v == "true" then s.no_new_privileges = true
      elseif v == "false" then s.no_new_privileges = false
      else errors.fail(("invalid --security-opt %q: expected no-new-privileges[=true|false]"):format(opt)) end
    elseif k == "seccomp" and v and v ~= "" then
      s.seccomp = v
    elseif k == "label" or k == "apparmor" then
      -- No AppArmor or SELinux on this kernel: accepted and ignored, as Docker does there.
    else
      errors.fail(("invalid --security-opt %q: expected no-new-privileges[=false] or seccomp=unconfined|PROFILE.json"):format(opt))
    end
  end
  return s
end

local function seccomp_profile(which, caps)
  if which == "unconfined" then return nil end
  if which == "default" then
    local set = {}
    for _, c in ipairs(caps) do set[c] = true end
    return require("mdlua.seccomp").default(set)
  end
  local f, err = io.open(which, "rb")
  if not f then errors.fail("--security-opt seccomp: " .. tostring(err)) end
  local ok, profile = pcall(json.decode, f:read("a"))
  f:close()
  if not ok or type(profile) ~= "table" or not profile.defaultAction then
    errors.fail(("--security-opt seccomp: %s is not a seccomp profile (JSON with defaultAction)"):format(which))
  end
  return profile
end

local function tmpfs_mount(spec)
  local path, opts = spec:match("^([^:]+):?(.*)$")
  if not path or path:sub(1, 1) ~= "/" then errors.fail(("invalid --tmpfs %q: expected an absolute PATH[:OPTIONS]"):format(spec)) end
  local options = { "nosuid", "nodev", "noexec" }
  local has_size = false
  for o in opts:gmatch("[^,]+") do
    options[#options + 1] = o
    if o:match("^size=") then has_size = true end
  end
  if not has_size then options[#options + 1] = "size=65536k" end
  return { destination = path, type = "tmpfs", source = "tmpfs", options = options }
end

-- The environment: the image's, then -e/--env-file over it, then what Docker adds.
function M.environment(image_env, o, hostname)
  local env, index = {}, {}
  local function set(kv)
    local k = kv:match("^([^=]*)")
    if k == "" then errors.fail(("invalid environment variable %q"):format(kv)) end
    if index[k] then env[index[k]] = kv else env[#env + 1] = kv; index[k] = #env end
  end
  for _, kv in ipairs(image_env or {}) do set(kv) end
  for _, file in ipairs(o.env_file or {}) do
    for _, kv in ipairs(envfile.read(file, { fail = errors.fail })) do set(kv) end
  end
  for _, kv in ipairs(o.env or {}) do
    if kv:find("=", 1, true) then set(kv)
    else local v = os.getenv(kv); if v then set(kv .. "=" .. v) end end
  end
  if not index.PATH then set("PATH=" .. M.default_path) end
  if not index.HOSTNAME then set("HOSTNAME=" .. hostname) end
  if o.tty and not index.TERM then set("TERM=xterm") end
  return env
end

-- Entrypoint + Cmd, with Docker's rules: --entrypoint replaces the image's and drops its
-- Cmd; arguments after the image replace Cmd.
function M.command(cfg, o)
  local entrypoint = cfg.Entrypoint or {}
  local cmd = cfg.Cmd or {}
  if o.entrypoint ~= nil then
    entrypoint = o.entrypoint ~= "" and { o.entrypoint } or {}
    cmd = {}
  end
  if o.cmd and #o.cmd > 0 then cmd = o.cmd end
  local args = {}
  for _, a in ipairs(entrypoint) do args[#args + 1] = a end
  for _, a in ipairs(cmd) do args[#args + 1] = a end
  if #args == 0 then errors.fail("no command specified: the image has no Cmd or Entrypoint and none was given") end
  return args
end

-- "100m" -> bytes (md.sys.parse_size, the engine's one size parser); a bare number is
-- megabytes, as in the original project; "-1": unlimited.
function M.memory_bytes(s, flag)
  if s == nil then return nil end
  if tostring(s) == "-1" then return -1 end
  local n, why = md.sys.parse_size(tostring(s), 1024 * 1024)
  if not n then errors.fail(("invalid %s %q: %s (a bare number is megabytes, 100b bytes)"):format(flag, tostring(s), why)) end
  return n
end

local function check_cpuset(s, flag)
  if s == nil then return nil end
  for part in (s .. ","):gmatch("([^,]*),") do
    local a, b = part:match("^(%d+)%-(%d+)$")
    if not (part:match("^%d+$") or (a and tonumber(a) <= tonumber(b))) then
      errors.fail(("invalid %s %q: expected a list like 0-3,5"):format(flag, s))
    end
  end
  return s
end

-- linux.resources from the resource options (see runflags.resources).
function M.resources(r)
  r = r or {}
  local out = {}
  local memory = M.memory_bytes(r.memory, "--memory")
  if memory and memory >= 0 and memory < 6 * 1024 * 1024 then
    errors.fail(("invalid --memory %q: the minimum is 6m"):format(tostring(r.memory)))
  end
  local swap = M.memory_bytes(r.memory_swap, "--memory-swap")
  if swap and swap >= 0 and memory and swap < memory then
    errors.fail("invalid --memory-swap: it must be at least --memory (it is memory plus swap)")
  end
  if swap and not memory then errors.fail("--memory-swap needs --memory") end
  if memory or r.memory_reservation or r.oom_kill_disable then
    out.memory = { limit = memory, swap = swap or memory, reservation = M.memory_bytes(r.memory_reservation, "--memory-reservation"),
                   disableOOMKiller = r.oom_kill_disable or nil }
  end
  local cpu = {}
  if r.cpus then
    local n = md.sys.nproc()
    if r.cpus <= 0 or r.cpus > n then
      errors.fail(("invalid --cpus %s: expected more than 0 and at most %d (the CPUs of this machine)"):format(r.cpus, n))
    end
    if r.cpu_quota or r.cpu_period then errors.fail("--cpus cannot be used with --cpu-quota or --cpu-period") end
    cpu.period = 100000
    cpu.quota = math.floor(r.cpus * 100000)
  end
  if r.cpu_shares then
    if r.cpu_shares < 2 or r.cpu_shares > 262144 then errors.fail("invalid --cpu-shares: expected 2 to 262144") end
    cpu.shares = r.cpu_shares
  end
  if r.cpu_quota then
    if r.cpu_quota ~= -1 and r.cpu_quota < 1000 then errors.fail("invalid --cpu-quota: expected at least 1000 (microseconds) or -1") end
    cpu.quota = r.cpu_quota
  end
  if r.cpu_period then
    if r.cpu_period < 1000 or r.cpu_period > 1000000 then errors.fail("invalid --cpu-period: expected 1000 to 1000000") end
    cpu.period = r.cpu_period
  end
  cpu.cpus = check_cpuset(r.cpuset_cpus, "--cpuset-cpus")
  cpu.mems = check_cpuset(r.cpuset_mems, "--cpuset-mems")
  if next(cpu) then out.cpu = cpu end
  if r.pids_limit then
    if r.pids_limit == 0 or r.pids_limit < -1 then errors.fail("invalid --pids-limit: expected a positive number or -1") end
    out.pids = { limit = r.pids_limit }
  end
  local blkio = {}
  if r.blkio_weight then
    if r.blkio_weight < 10 or r.blkio_weight > 1000 then errors.fail("invalid --blkio-weight: expected 10 to 1000") end
    blkio.weight = r.blkio_weight
  end
  for _, t in ipairs(M.throttles) do
    if r[t.option] and #r[t.option] > 0 then
      local list = {}
      for _, v in ipairs(r[t.option]) do list[#list + 1] = M.device_rate(v, t.flag, t.bytes) end
      blkio[t.field] = list
    end
  end
  if next(blkio) then out.blockIO = blkio end
  return out
end

-- The block I/O throttles: option name, flag, linux.resources.blockIO field, rate in bytes.
M.throttles = {
  { option = "device_read_bps", flag = "--device-read-bps", field = "throttleReadBpsDevice", bytes = true },
  { option = "device_write_bps", flag = "--device-write-bps", field = "throttleWriteBpsDevice", bytes = true },
  { option = "device_read_iops", flag = "--device-read-iops", field = "throttleReadIOPSDevice" },
  { option = "device_write_iops", flag = "--device-write-iops", field = "throttleWriteIOPSDevice" },
}

-- "PATH:RATE" -> { major, minor, rate } of the block device at PATH (on the host). A
-- byte rate takes Docker's units (a bare number is bytes); an IO rate is a number.
function M.device_rate(s, flag, bytes)
  local path, rate = tostring(s):match("^(/.+):([^:]+)$")
  if not path then errors.fail(("invalid %s %q: expected PATH:RATE, like /dev/sda:1mb"):format(flag, tostring(s))) end
  local n
  if bytes then
    n = md.sys.parse_size(rate)
  else
    n = rate:match("^%d+$") and math.tointeger(tonumber(rate))
  end
  if not n or n <= 0 then
    errors.fail(("invalid %s %q: expected a positive %s"):format(flag, tostring(s), bytes and "rate like 1mb or 512kb" or "number"))
  end
  local st, why = md.fs.stat(path)
  if not st then errors.fail(("invalid %s %q: %s"):format(flag, tostring(s), why)) end
  if st.type ~= "block" then errors.fail(("invalid %s %q: %s is not a block device"):format(flag, tostring(s), path)) end
  return { major = st.major, minor = st.minor, rate = n }
end

-- "30s", "1m30s", "500ms", "2h" -> seconds
function M.duration(s, flag)
  if s == nil then return nil end
  local total, rest = 0, tostring(s)
  if rest == "" then errors.fail(("invalid %s: empty duration"):format(flag)) end
  while rest ~= "" do
    local n, unit, tail = rest:match("^(%d+%.?%d*)(%a+)(.*)$")
    local mult = ({ ms = 0.001, s = 1, m = 60, h = 3600 })[unit or ""]
    if not n or not mult then errors.fail(("invalid %s %q: expected a duration like 30s, 1m30s or 500ms"):format(flag, tostring(s))) end
    total = total + tonumber(n) * mult
    rest = tail
  end
  return total
end

-- The health check: flags over the image's HEALTHCHECK (Docker keeps durations in ns).
function M.healthcheck(image_hc, h)
  h = h or {}
  if h.disable then return nil end
  local hc = { test = image_hc and image_hc.Test, interval = image_hc and image_hc.Interval and image_hc.Interval / 1e9,
               timeout = image_hc and image_hc.Timeout and image_hc.Timeout / 1e9,
               start_period = image_hc and image_hc.StartPeriod and image_hc.StartPeriod / 1e9,
               retries = image_hc and image_hc.Retries }
  if h.cmd then hc.test = json.array { "CMD-SHELL", h.cmd } end
  hc.interval = M.duration(h.interval, "--health-interval") or hc.interval
  hc.timeout = M.duration(h.timeout, "--health-timeout") or hc.timeout
  hc.start_period = M.duration(h.start_period, "--health-start-period") or hc.start_period
  if h.retries then
    if h.retries < 1 then errors.fail("invalid --health-retries: expected at least 1") end
    hc.retries = h.retries
  end
  if not hc.test or hc.test[1] == "NONE" then return nil end
  if hc.interval == 0 then hc.interval = nil end
  return hc
end

-- --restart no|on-failure[:N]|always|unless-stopped
function M.restart_policy(p)
  p = p or "no"
  local name, n = p:match("^([%a-]+):?(%d*)$")
  local ok = name == "no" or name == "always" or name == "unless-stopped" or name == "on-failure"
  if not ok or (n ~= "" and name ~= "on-failure") then
    errors.fail(("invalid --restart %q: expected no, on-failure[:N], always or unless-stopped"):format(p))
  end
  return p
end

-- --log-opt max-size=10m --log-opt max-file=3
function M.log_options(list)
  local out = { ["max-size"] = tostring(10 * 1024 * 1024), ["max-file"] = "3" }
  for _, opt in ipairs(list or {}) do
    local k, v = opt:match("^([%w-]+)=(.+)$")
    local size = k == "max-size" and md.sys.parse_size(v)
    if size and size > 0 then out[k] = tostring(size)
    elseif k == "max-file" and tonumber(v) and tonumber(v) >= 1 then out[k] = v
    else errors.fail(("invalid --log-opt %q: expected max-size=SIZE or max-file=N"):format(opt)) end
  end
  return out
end

-- The container's config (Sources/MDCore/Container/ContainerConfig.swift): what it was
-- created with beyond its spec, for the engine (removal, restart, health check, log rotation)
-- and for inspect. `image_config` is the image's config (the `config` object).
function M.config(image_config, o, mounts)
  local cfg = image_config or {}
  local log = M.log_options(o.log_opt)
  local labels = {}
  for _, kv in ipairs(o.label or {}) do
    local k, v = kv:match("^([^=]+)=?(.*)$")
    if not k then errors.fail(("invalid --label %q"):format(kv)) end
    labels[k] = v
  end
  local entrypoint = o.entrypoint == nil and (cfg.Entrypoint or {}) or (o.entrypoint ~= "" and { o.entrypoint } or {})
  return {
    image = o.image, rm = o.rm == true, restart = M.restart_policy(o.restart),
    healthcheck = M.healthcheck(cfg.Healthcheck, o.health), stop_signal = o.stop_signal or cfg.StopSignal or "SIGTERM",
    log_max_size = math.tointeger(tonumber(log["max-size"])), log_max_file = math.tointeger(tonumber(log["max-file"])),
    labels = labels, tty = o.tty == true, interactive = o.interactive == true, detach = o.detach == true,
    privileged = o.privileged == true, entrypoint = { table.unpack(entrypoint) }, cap_add = o.cap_add,
    cap_drop = o.cap_drop, security_opt = o.security_opt, tmpfs = o.tmpfs, network = o.network,
    dns = o.dns, dns_search = o.dns_search, dns_option = o.dns_option,
    -- The user's mounts as spec.build made them (anonymous volumes named), docs/volumes.md.
    volumes = o.volumes, volumes_from = o.volumes_from, mounts = json.array(mounts or {}),
    storage_opt = M.storage_options(o.storage_opt),
  }
end

-- --storage-opt size=SIZE (Docker's overlay2 option, the only one): the writable layer's
-- limit (Container/WritableLayer.swift), checked with the engine's own size rules.
function M.storage_options(list)
  local out = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([^=]*)=(.*)$")
    if not k then errors.fail(("invalid --storage-opt %q: expected size=SIZE"):format(kv)) end
    if k ~= "size" then errors.fail(("invalid --storage-opt %q: unknown option %q (only size= is known)"):format(kv, k)) end
    local problem = md._volume.size_problem(v)
    if problem then errors.fail(("invalid --storage-opt %q: %s"):format(kv, problem)) end
    out[k] = v
  end
  return next(out) and out or nil
end

-- Volumes and mounts (docs/volumes.md) ------------------------------------------------
-- -v, --mount, --volumes-from and the image's VOLUMEs become one list of user mounts,
-- {type = "volume"|"bind"|"tmpfs", source = a volume's name or a host path, destination,
-- readonly, nocopy, anonymous, propagation, tmpfs_size, tmpfs_mode}, kept in the
-- container's config (`mounts`: the engine's VolumesHook sets up the volumes in it), and
-- the spec's mounts made from it: binds of host paths and of volumes' data, tmpfs.

local propagations = { shared = true, rshared = true, slave = true, rslave = true, private = true, rprivate = true }

-- Docker's rule for a volume's name (Volume.isValidName in the engine).
function M.is_volume_name(s) return s:match("^[%w][%w_.-]*$") ~= nil and #s <= 255 end

local function check_destination(dst, flag, given)
  if type(dst) ~= "string" or dst:sub(1, 1) ~= "/" then
    errors.fail(("invalid %s %q: the container path must be absolute"):format(flag, given))
  end
  if dst:match("^/+$") then errors.fail(("invalid %s %q: the container path cannot be /"):format(flag, given)) end
  if dst:match("^/+proc/*$") or dst:match("^/+proc/") then
    errors.fail(("invalid %s %q: nothing but proc may be mounted on /proc"):format(flag, given))
  end
  for part in dst:gmatch("[^/]+") do
    if part == ".." then errors.fail(("invalid %s %q: the container path cannot hold .."):format(flag, given)) end
  end
end

local function check_host_path(src, flag, given)
  if src:sub(1, 1) ~= "/" then
    errors.fail(("invalid %s %q: the host path %s is not absolute"):format(flag, given, src))
  end
  local st = md.fs.stat(src)
  if not st then errors.fail(("invalid %s %q: the host path %s does not exist"):format(flag, given, src)) end
end

-- -v [SRC:]DST[:OPTS]
function M.parse_volume(v)
  local parts = {}
  for p in (v .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  if #parts < 1 or #parts > 3 or parts[1] == "" then
    errors.fail(("invalid --volume %q: expected [SOURCE:]CONTAINER-PATH[:OPTIONS]"):format(v))
  end
  local m = { type = "volume" }
  local opts
  if #parts == 1 then
    m.destination, m.anonymous = parts[1], true
  elseif #parts == 2 and parts[1]:sub(1, 1) == "/" and parts[2]:sub(1, 1) ~= "/" then
    m.destination, m.anonymous, opts = parts[1], true, parts[2]
  else
    m.source, m.destination, opts = parts[1], parts[2], parts[3]
  end
  check_destination(m.destination, "--volume", v)
  if m.source then
    if m.source:sub(1, 1) == "/" then
      m.type = "bind"
      check_host_path(m.source, "--volume", v)
    elseif not M.is_volume_name(m.source) then
      errors.fail(("invalid --volume %q: %s is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"):format(v, m.source))
    end
  end
  for o in (opts or ""):gmatch("[^,]+") do
    if o == "ro" then m.readonly = true
    elseif o == "rw" then m.readonly = false
    elseif o == "nocopy" and m.type == "volume" then m.nocopy = true
    elseif propagations[o] and m.type == "bind" then m.propagation = o
    elseif o == "z" or o == "Z" then -- SELinux labels: no SELinux here
    else errors.fail(("invalid --volume %q: unknown option %q (expected ro, rw, nocopy, or a propagation for a bind)"):format(v, o)) end
  end
  return m
end

local function truthy(v, spec_, key)
  if v == nil or v == "" or v == "1" or v == "true" or v == true then return true end
  if v == "0" or v == "false" or v == false then return false end
  errors.fail(("invalid --mount %q: %s expects true or false"):format(spec_, key))
end

-- --mount type=bind|volume|tmpfs,source=,target=,readonly,... (a string), or from Lua a
-- table with the same keys.
function M.parse_mount(spec_)
  local kv, given = {}, spec_
  if type(spec_) == "table" then
    for k, v in pairs(spec_) do kv[tostring(k)] = v end
    given = json.encode(spec_)
  elseif type(spec_) == "string" then
    for field in spec_:gmatch("[^,]+") do
      local k, v = field:match("^([^=]+)=(.*)$")
      kv[k or field] = k and v or true
    end
  else
    errors.fail("invalid --mount: expected a string or a table")
  end
  local m = { type = kv.type or "volume" }
  if m.type ~= "bind" and m.type ~= "volume" and m.type ~= "tmpfs" then
    errors.fail(("invalid --mount %q: type must be bind, volume or tmpfs"):format(given))
  end
  local src = kv.source or kv.src
  local dst = kv.target or kv.destination or kv.dst
  m.destination = dst
  check_destination(dst, "--mount", given)
  for k, v in pairs(kv) do
    if k == "type" or k == "source" or k == "src" or k == "target" or k == "destination" or k == "dst" then
    elseif k == "readonly" or k == "ro" then m.readonly = truthy(v, given, k)
    elseif k == "bind-propagation" and m.type == "bind" then
      if not propagations[v] then errors.fail(("invalid --mount %q: bind-propagation must be one of shared, rshared, slave, rslave, private, rprivate"):format(given)) end
      m.propagation = v
    elseif k == "volume-nocopy" and m.type == "volume" then m.nocopy = truthy(v, given, k)
    elseif k == "tmpfs-size" and m.type == "tmpfs" then
      m.tmpfs_size = M.memory_bytes(tostring(v):match("^%d+$") and (v .. "b") or v, "--mount tmpfs-size")
    elseif k == "tmpfs-mode" and m.type == "tmpfs" then
      if not tostring(v):match("^[0-7]+$") then errors.fail(("invalid --mount %q: tmpfs-mode must be octal"):format(given)) end
      m.tmpfs_mode = tostring(v)
    else
      errors.fail(("invalid --mount %q: unknown or misplaced key %q"):format(given, k))
    end
  end
  if m.type == "bind" then
    if not src or src == "" then errors.fail(("invalid --mount %q: a bind needs source"):format(given)) end
    m.source = src
    check_host_path(src, "--mount", given)
  elseif m.type == "volume" then
    if src and src ~= "" then
      if not M.is_volume_name(src) then errors.fail(("invalid --mount %q: %s is not a volume name"):format(given, src)) end
      m.source = src
    else
      m.anonymous = true
    end
  elseif src then
    errors.fail(("invalid --mount %q: a tmpfs has no source"):format(given))
  end
  return m
end

-- A container's user mounts (its config's), for --volumes-from.
function M.container_mounts(c)
  local list = c.config and c.config.mounts
  return type(list) == "table" and list or {}
end

-- The user mounts of a container from its options and image config, in order; anonymous
-- volumes get their names later (M.name_anonymous). Later entries with the same
-- destination replace earlier ones, -v and --mount over --volumes-from over the image.
function M.user_mounts(cfg, o)
  local list, at = {}, {}
  local function add(m, replace)
    if at[m.destination] then
      if not replace then return end
      list[at[m.destination]] = m
    else
      list[#list + 1] = m
      at[m.destination] = #list
    end
  end
  local given = {}
  for _, v in ipairs(o.volumes or {}) do
    if type(v) ~= "string" then options.fail("invalid --volume: expected strings like NAME:/path") end
    local m = M.parse_volume(v)
    if given[m.destination] then errors.fail(("duplicate mount point %s"):format(m.destination)) end
    given[m.destination] = true
    add(m, true)
  end
  for _, v in ipairs(o.mounts or {}) do
    local m = M.parse_mount(v)
    if given[m.destination] then errors.fail(("duplicate mount point %s"):format(m.destination)) end
    given[m.destination] = true
    add(m, true)
  end
  for _, ref in ipairs(o.volumes_from or {}) do
    local name, mode = tostring(ref):match("^([^:]+):?(.*)$")
    if mode ~= "" and mode ~= "ro" and mode ~= "rw" then
      errors.fail(("invalid --volumes-from %q: expected CONTAINER[:ro|rw]"):format(ref))
    end
    local c = md.container.get(name)
    for _, m in ipairs(M.container_mounts(c)) do
      if m.type ~= "tmpfs" then
        local copy = {}
        for k, v in pairs(m) do copy[k] = v end
        if mode == "ro" then copy.readonly = true elseif mode == "rw" then copy.readonly = false end
        -- The volume stays its first container's: removed with it, not with this one.
        copy.anonymous = nil
        add(copy, false)
      end
    end
  end
  local image_volumes = {}
  for path in pairs(cfg.Volumes or {}) do image_volumes[#image_volumes + 1] = path end
  table.sort(image_volumes)
  for _, path in ipairs(image_volumes) do
    if path:sub(1, 1) == "/" and not path:match("^/+$") then add({ type = "volume", destination = path, anonymous = true }, false) end
  end
  return list
end

-- An anonymous volume's name: 64 random hex digits, as Docker's.
function M.anonymous_name()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f:read(32)
  f:close()
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- The spec's mount of a user mount.
function M.spec_mount(m, root)
  if m.type == "tmpfs" then
    local opts = { "nosuid", "nodev", "noexec" }
    if m.tmpfs_size then opts[#opts + 1] = "size=" .. m.tmpfs_size end
    if m.tmpfs_mode then opts[#opts + 1] = "mode=" .. m.tmpfs_mode end
    if m.readonly then opts[#opts + 1] = "ro" end
    return { destination = m.destination, type = "tmpfs", source = "tmpfs", options = opts }
  end
  local opts = { "rbind" }
  if m.readonly then opts[#opts + 1] = "ro" end
  if m.propagation then opts[#opts + 1] = m.propagation end
  local source = m.type == "volume" and (root .. "/volumes/" .. m.source .. "/_data") or m.source
  return { destination = m.destination, type = "bind", source = source, options = opts }
end

-- --sysctl K=V with Docker's rules: only keys the container's namespaces make its own.
local ipc_sysctls = { ["kernel.msgmax"] = true, ["kernel.msgmnb"] = true, ["kernel.msgmni"] = true, ["kernel.sem"] = true,
                      ["kernel.shmall"] = true, ["kernel.shmmax"] = true, ["kernel.shmmni"] = true,
                      ["kernel.shm_rmid_forced"] = true }
function M.sysctls(list, host_network)
  local out
  for _, kv in ipairs(list or {}) do
    local k, v = tostring(kv):match("^([^=]*)=(.*)$")
    if not k or k == "" or not k:match("^[%w_-]+%.[%w_.-]+$") or k:find("..", 1, true) or k:sub(-1) == "." then
      errors.fail(("invalid --sysctl %q: expected KEY=VALUE with KEY like net.ipv4.ip_forward"):format(kv))
    end
    if v:find("[=+%c]") then
      errors.fail(("invalid --sysctl %q: the value may not hold =, + or control characters"):format(kv))
    end
    local allowed = ipc_sysctls[k] or k:match("^fs%.mqueue%.") or k:match("^net%.")
    if not allowed then
      errors.fail(("invalid --sysctl %q: %s is not namespaced (allowed: kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*)"):format(kv, k))
    end
    if k:match("^net%.") and host_network then
      errors.fail(("invalid --sysctl %q: net.* needs the container's own network namespace, not --network host"):format(kv))
    end
    out = out or {}
    out[k] = v
  end
  return out
end

-- Builds the spec. `image_config` is the image's config (the `config` object);
-- `o` the run options; `id` the container ID. Returns spec, the generated files and the
-- user's mounts (M.user_mounts, for the config).
-- `dir`: the container's directory, where its root and generated files are.
function M.build(image_config, o, id, dir)
  local cfg = image_config or {}
  local host_network = o.network == "host"
  local hostname = o.hostname or (host_network and io.open("/etc/hostname"):read("l")) or id:sub(1, 12)
  local caps = capabilities(o)
  local sec = security_options(o)
  local user = o.user or cfg.User
  if user == "" then user = nil end

  local env = M.environment(cfg.Env, o, hostname)
  if not user then
    local has_home = false
    for _, kv in ipairs(env) do if kv:match("^HOME=") then has_home = true end end
    if not has_home then env[#env + 1] = "HOME=/root" end
  end

  local mounts = {
    { destination = "/proc", type = "proc", source = "proc", options = { "nosuid", "noexec", "nodev" } },
    { destination = "/dev", type = "tmpfs", source = "tmpfs", options = { "nosuid", "strictatime", "mode=755", "size=65536k" } },
    { destination = "/dev/pts", type = "devpts", source = "devpts",
      options = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
    { destination = "/dev/shm", type = "tmpfs", source = "shm", options = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
    { destination = "/dev/mqueue", type = "mqueue", source = "mqueue", options = { "nosuid", "noexec", "nodev" } },
  }
  if host_network then
    mounts[#mounts + 1] = { destination = "/sys", type = "bind", source = "/sys", options = { "rbind", "nosuid", "noexec", "nodev", "ro" } }
  else
    mounts[#mounts + 1] = { destination = "/sys", type = "sysfs", source = "sysfs",
      options = o.privileged and { "nosuid", "noexec", "nodev" } or { "nosuid", "noexec", "nodev", "ro" } }
  end
  if o.privileged then
    mounts[2] = { destination = "/dev", type = "bind", source = "/dev", options = { "rbind", "nosuid" } }
    table.remove(mounts, 3)
  end
  -- --tmpfs and the user's mounts, parents before children (a volume on /etc before a
  -- tmpfs on /etc/x): a stable sort by the number of path components, as Docker sorts them.
  local user_mounts = M.user_mounts(cfg, o)
  local extra = {}
  for _, t in ipairs(o.tmpfs or {}) do extra[#extra + 1] = tmpfs_mount(t) end
  for _, m in ipairs(user_mounts) do
    if m.anonymous and not m.source then m.source = M.anonymous_name() end
    extra[#extra + 1] = M.spec_mount(m, md.config.root)
  end
  local order, depth, taken = {}, {}, {}
  for i, m in ipairs(extra) do
    order[m], depth[m] = i, select(2, m.destination:gsub("/[^/]+", ""))
    taken[m.destination:gsub("/+$", "")] = true
  end
  table.sort(extra, function(a, b)
    if depth[a] ~= depth[b] then return depth[a] < depth[b] end
    return order[a] < order[b]
  end)
  for _, m in ipairs(extra) do mounts[#mounts + 1] = m end
  -- The engine's files last, so that a volume on /etc does not hide them; one the user
  -- mounts something on himself is the user's.
  for _, f in ipairs { "hostname", "hosts", "resolv.conf" } do
    if not taken["/etc/" .. f] then
      mounts[#mounts + 1] = { destination = "/etc/" .. f, type = "bind", source = dir .. "/" .. f, options = { "bind" } }
    end
  end

  local namespaces = { { type = "pid" }, { type = "ipc" }, { type = "uts" }, { type = "mount" } }
  if o.cgroupns == nil or o.cgroupns == "private" then namespaces[#namespaces + 1] = { type = "cgroup" }
  elseif o.cgroupns ~= "host" then errors.fail(("invalid --cgroupns %q: expected private or host"):format(o.cgroupns)) end
  if not host_network then namespaces[#namespaces + 1] = { type = "network" } end

  local rlimits = json.array()
  for _, u in ipairs(o.ulimit or {}) do rlimits[#rlimits + 1] = M.parse_ulimit(u) end

  -- What the process is made with and the OCI spec has no field for (Runtime/Annotation.swift);
  -- what the container keeps beyond its process is in M.config.
  local annotations = { ["io.mdlua.init"] = o.init and "true" or "false",
                        ["io.mdlua.cgroup-parent"] = o.cgroup_parent or "mdlua" }
  if annotations["io.mdlua.cgroup-parent"]:find("..", 1, true) or annotations["io.mdlua.cgroup-parent"]:match("^/") then
    errors.fail(("invalid --cgroup-parent %q: expected a relative path without .."):format(o.cgroup_parent))
  end
  if user then annotations["io.mdlua.user"] = user end

  local spec = {
    ociVersion = "1.0.2",
    process = {
      terminal = o.tty == true,
      user = { uid = 0, gid = 0 },
      args = json.array(M.command(cfg, o)),
      env = json.array(env),
      cwd = o.workdir or (cfg.WorkingDir ~= "" and cfg.WorkingDir) or "/",
      capabilities = { bounding = json.array(caps), effective = json.array(caps), permitted = json.array(caps),
                       inheritable = json.array(), ambient = json.array() },
      noNewPrivileges = sec.no_new_privileges,
      rlimits = rlimits,
    },
    root = { path = dir .. "/rootfs", readonly = o.read_only == true },
    hostname = hostname,
    mounts = json.array(mounts),
    linux = {
      namespaces = json.array(namespaces),
      maskedPaths = json.array(o.privileged and {} or M.masked_paths),
      readonlyPaths = json.array(o.privileged and {} or M.readonly_paths),
      seccomp = not o.privileged and seccomp_profile(sec.seccomp, caps) or nil,
      resources = M.resources(o.resources),
      sysctl = M.sysctls(o.sysctl, host_network),
    },
    annotations = annotations,
  }
  if spec.process.cwd:sub(1, 1) ~= "/" then
    errors.fail(("invalid working directory %q: it must be absolute"):format(spec.process.cwd))
  end

  local files = {
    hostname = hostname .. "\n",
    hosts = host_network and (io.open("/etc/hosts"):read("a")) or table.concat({
      "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
      "ff00::0\tip6-mcastprefix", "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters", "" }, "\n"),
    ["resolv.conf"] = (function()
      local f = io.open("/etc/resolv.conf")
      local s = f and f:read("a") or ""
      if f then f:close() end
      return s
    end)(),
  }
  return spec, files, user_mounts
end

return M
