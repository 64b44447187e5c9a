-- A stack's definition, checked and put in one shape: what stack.lua returns (or a Compose
-- file, stack/compose.lua) becomes { name=, dir=, services={NAME=service}, networks={NAME=net},
-- volumes={NAME=vol}, hooks= }. Every key is known or an error naming it; every
-- service has the same fields, whatever spelling the author used.
--
-- A service, normalised:
--   image, build ({context=, file=, args=, target=}: absolute paths), command (list), entrypoint (list),
--   env (sorted list of "K=V"), env_file (list), ports, volumes (lists of strings),
--   networks ({ {name=, aliases={...}} }, "default" when none is given),
--   depends_on ({ {service=, condition=nil|"started"|"healthy"|"completed"} }, sorted),
--   healthcheck ({test={...}, interval=, timeout=, start_period=, retries=} or nil),
--   restart, replicas, labels (map), resources (md.run's resources table), user, workdir,
--   hostname, cap_add, cap_drop, read_only, tmpfs, stop_signal, init, privileged, after_up.
local errors = require "mdlua.errors"

local M = {}

local function fail(msg) errors.raise("invalid_option", msg) end

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- "a b 'c d'" -> {"a", "b", "c d"}: a command given as one string is split as a shell
-- splits words (quotes and backslashes), without running a shell, as Compose does.
function M.split_words(s)
  local words, cur, quote, has = {}, {}, nil, false
  local i = 1
  while i <= #s do
    local ch = s:sub(i, i)
    if quote then
      if ch == quote then quote = nil
      elseif ch == "\\" and quote == '"' and i < #s then i = i + 1; cur[#cur + 1] = s:sub(i, i)
      else cur[#cur + 1] = ch end
    elseif ch == "'" or ch == '"' then quote, has = ch, true
    elseif ch == "\\" and i < #s then i = i + 1; cur[#cur + 1] = s:sub(i, i); has = true
    elseif ch:match("%s") then
      if #cur > 0 or has then words[#words + 1] = table.concat(cur); cur, has = {}, false end
    else cur[#cur + 1] = ch end
    i = i + 1
  end
  if quote then fail(("unterminated %s quote in %q"):format(quote, s)) end
  if #cur > 0 or has then words[#words + 1] = table.concat(cur) end
  return words
end

local function string_list(v, what)
  if v == nil then return nil end
  if type(v) == "string" then return { v } end
  if not is_list(v) then fail(what .. ": expected a list of strings") end
  local out = {}
  for i, x in ipairs(v) do
    if type(x) ~= "string" and type(x) ~= "number" then fail(("%s[%d]: expected a string"):format(what, i)) end
    out[i] = tostring(x)
  end
  return out
end

local function command(v, what)
  if v == nil then return nil end
  if type(v) == "string" then return M.split_words(v) end
  return string_list(v, what)
end

-- env as a map {A="1"} or a list {"A=1", "B"}: a sorted list. A map value of false is left
-- out; a bare name in a list takes the value `up` has (stack.lua, resolved_env).
local function env_list(v, what)
  if v == nil then return {} end
  if type(v) ~= "table" then fail(what .. ": expected a map or a list") end
  local out = {}
  if is_list(v) then
    for i, kv in ipairs(v) do
      if type(kv) ~= "string" then fail(("%s[%d]: expected \"NAME=VALUE\""):format(what, i)) end
      out[#out + 1] = kv
    end
  else
    for k, x in pairs(v) do
      if type(k) ~= "string" then fail(what .. ": names must be strings") end
      if x ~= false and x ~= nil then out[#out + 1] = k .. "=" .. tostring(x) end
    end
  end
  table.sort(out)
  return out
end

local function label_map(v, what)
  if v == nil then return {} end
  if type(v) ~= "table" then fail(what .. ": expected a map or a list") end
  local out = {}
  if is_list(v) then
    for i, kv in ipairs(v) do
      local k, x = tostring(kv):match("^([^=]+)=?(.*)$")
      if not k then fail(("%s[%d]: expected \"NAME=VALUE\""):format(what, i)) end
      out[k] = x
    end
  else
    for k, x in pairs(v) do out[tostring(k)] = tostring(x) end
  end
  return out
end

-- `build`: a context directory, or { context=, dockerfile= (file=), args=, target= } as
-- Compose has it. The context is made absolute from the stack's directory; the build file
-- is relative to the context (as Compose); args are a map, or a list of "K=V" where a bare
-- "K" takes the value from the environment (left out when it is unset).
local build_keys = { context = true, dockerfile = true, file = true, args = true, target = true }
local function build_spec(v, what, dir)
  if v == nil then return nil end
  if type(v) == "string" then v = { context = v } end
  if type(v) ~= "table" then fail(what .. ": expected a context directory or a table") end
  for k in pairs(v) do
    if not build_keys[k] then fail(("%s: unknown key %q (context, dockerfile, args, target)"):format(what, tostring(k))) end
  end
  if v.dockerfile and v.file then fail(what .. ": dockerfile and file both given") end
  for _, k in ipairs { "context", "dockerfile", "file", "target" } do
    if v[k] ~= nil and (type(v[k]) ~= "string" or v[k] == "") then fail(("%s.%s: expected a string"):format(what, k)) end
  end
  local function under(base, p)
    if p:sub(1, 1) == "/" then return p end
    return ((base .. "/" .. p):gsub("/%./", "/"):gsub("/%.?$", ""))
  end
  local context = under(dir or ".", v.context or ".")
  local file = v.dockerfile or v.file
  local args = {}
  if v.args ~= nil then
    if type(v.args) ~= "table" then fail(what .. ".args: expected a map or a list") end
    if is_list(v.args) then
      for i, kv in ipairs(v.args) do
        if type(kv) ~= "string" then fail(("%s.args[%d]: expected \"NAME=VALUE\""):format(what, i)) end
        local k, x = kv:match("^([^=]+)=(.*)$")
        if k then args[k] = x else args[kv] = os.getenv(kv) end
      end
    else
      for k, x in pairs(v.args) do
        if type(k) ~= "string" then fail(what .. ".args: names must be strings") end
        if type(x) == "string" or type(x) == "number" or type(x) == "boolean" then args[k] = tostring(x)
        else args[k] = os.getenv(k) end   -- `NAME:` with no value
      end
    end
  end
  return { context = context, file = file and under(context, file) or nil, args = args, target = v.target }
end

-- A duration as md.run takes it ("30s", "1m30s", "500ms"); a number is seconds.
local function duration(v, what)
  if v == nil then return nil end
  if type(v) == "number" then return tostring(v) .. "s" end
  if type(v) ~= "string" or not v:match("^[%d%.hms]+$") then fail(what .. ": expected a duration (30s, 1m, 500ms)") end
  return v
end

local function healthcheck(v, what)
  if v == nil then return nil end
  if type(v) ~= "table" then fail(what .. ": expected a table") end
  local known = { test = true, interval = true, timeout = true, start_period = true, retries = true, disable = true,
                  start_interval = true }
  for k in pairs(v) do if not known[k] then fail(("%s: unknown key %q"):format(what, tostring(k))) end end
  if v.disable then return { test = { "NONE" } } end
  local test = v.test
  if type(test) == "string" then test = { "CMD-SHELL", test } end
  test = string_list(test, what .. ".test")
  if not test or #test == 0 then fail(what .. ".test: expected a command") end
  if test[1] ~= "CMD" and test[1] ~= "CMD-SHELL" and test[1] ~= "NONE" then table.insert(test, 1, "CMD") end
  local retries = v.retries
  if retries ~= nil and (math.type(retries) ~= "integer" or retries < 1) then fail(what .. ".retries: expected a count of at least 1") end
  return { test = test, interval = duration(v.interval, what .. ".interval"), timeout = duration(v.timeout, what .. ".timeout"),
           start_period = duration(v.start_period, what .. ".start_period"), retries = retries }
end

local conditions = { started = true, healthy = true, completed = true,
                     service_started = "started", service_healthy = "healthy", service_completed_successfully = "completed" }

local function condition(c, what)
  local v = conditions[c]
  if not v then fail(("%s: unknown condition %q (started, healthy or completed)"):format(what, tostring(c))) end
  return v == true and c or v
end

local function depends(v, what)
  local out = {}
  if v == nil then return out end
  if type(v) ~= "table" then fail(what .. ": expected a list of services or a map") end
  if is_list(v) then
    for i, s in ipairs(v) do
      if type(s) ~= "string" then fail(("%s[%d]: expected a service name"):format(what, i)) end
      out[#out + 1] = { service = s }
    end
  else
    for s, c in pairs(v) do
      local cond
      if type(c) == "string" then cond = condition(c, what .. "." .. s)
      elseif type(c) == "table" then
        for k in pairs(c) do
          if k ~= "condition" and k ~= "restart" and k ~= "required" then fail(("%s.%s: unknown key %q"):format(what, s, k)) end
        end
        cond = c.condition and condition(c.condition, what .. "." .. s) or nil
      elseif c ~= true then fail(("%s.%s: expected a condition"):format(what, s)) end
      out[#out + 1] = { service = s, condition = cond }
    end
  end
  table.sort(out, function(a, b) return a.service < b.service end)
  return out
end

local function networks(v, what)
  if v == nil then return { { name = "default", aliases = {} } } end
  if type(v) ~= "table" then fail(what .. ": expected a list of networks or a map") end
  local out = {}
  if is_list(v) then
    for i, n in ipairs(v) do
      if type(n) ~= "string" then fail(("%s[%d]: expected a network name"):format(what, i)) end
      out[#out + 1] = { name = n, aliases = {} }
    end
  else
    for n, o in pairs(v) do
      local aliases = {}
      if type(o) == "table" then
        for k in pairs(o) do
          if k ~= "aliases" and k ~= "ipv4_address" then fail(("%s.%s: unknown key %q"):format(what, n, k)) end
        end
        aliases = string_list(o.aliases, what .. "." .. n .. ".aliases") or {}
        out[#out + 1] = { name = n, aliases = aliases, ip = o.ipv4_address }
      else
        out[#out + 1] = { name = n, aliases = aliases }
      end
    end
    table.sort(out, function(a, b) return a.name < b.name end)
  end
  return out
end

-- The keys of a service, and how each is read. Compose's spellings are taken as aliases.
local service_keys = {
  image = "string", build = "any", command = "command", entrypoint = "command", env = "env", environment = "env",
  env_file = "list", ports = "list", volumes = "list", networks = "networks", depends_on = "depends",
  healthcheck = "healthcheck", restart = "string", replicas = "int", labels = "labels", resources = "table",
  user = "string", workdir = "string", working_dir = "string", hostname = "string", cap_add = "list",
  cap_drop = "list", read_only = "bool", tmpfs = "list", stop_signal = "string", init = "bool",
  privileged = "bool", after_up = "function", mem_limit = "string", cpus = "number", pids_limit = "int",
  container_name = "reject", expose = "list", deploy = "table",
}

local resource_keys = { memory = true, memory_swap = true, memory_reservation = true, cpus = true, cpu_shares = true,
                        cpu_quota = true, cpu_period = true, cpuset_cpus = true, cpuset_mems = true, pids_limit = true,
                        blkio_weight = true }

local function service(name, s, dir)
  local what = "services." .. name
  if type(s) ~= "table" then fail(what .. ": expected a table") end
  for k, v in pairs(s) do
    local kind = service_keys[k]
    if not kind then fail(("%s: unknown key %q"):format(what, tostring(k))) end
    if kind == "reject" then fail(("%s.%s: not supported (names are PROJECT-SERVICE-N, so that replicas and stacks do not clash)"):format(what, k)) end
    local w = what .. "." .. k
    if kind == "string" and type(v) ~= "string" then fail(w .. ": expected a string") end
    if kind == "int" and math.type(v) ~= "integer" then fail(w .. ": expected an integer") end
    if kind == "number" and type(v) ~= "number" then fail(w .. ": expected a number") end
    if kind == "bool" and type(v) ~= "boolean" then fail(w .. ": expected true or false") end
    if kind == "table" and type(v) ~= "table" then fail(w .. ": expected a table") end
    if kind == "function" and type(v) ~= "function" then fail(w .. ": expected a function") end
  end
  if not s.image and not s.build then fail(what .. ": needs an image or a build") end
  local resources = {}
  for k, v in pairs(s.resources or {}) do
    if not resource_keys[k] then fail(("%s.resources: unknown key %q"):format(what, tostring(k))) end
    resources[k] = v
  end
  if s.mem_limit then resources.memory = s.mem_limit end
  if s.cpus then resources.cpus = s.cpus end
  if s.pids_limit then resources.pids_limit = s.pids_limit end
  local replicas = s.replicas
  if s.deploy then
    for k in pairs(s.deploy) do
      if k ~= "replicas" and k ~= "resources" then fail(("%s.deploy: unknown key %q"):format(what, tostring(k))) end
    end
    replicas = replicas or s.deploy.replicas
    local limits = s.deploy.resources and s.deploy.resources.limits or {}
    if limits.memory then resources.memory = tostring(limits.memory) end
    if limits.cpus then resources.cpus = tonumber(limits.cpus) end
    if limits.pids then resources.pids_limit = math.tointeger(limits.pids) end
  end
  if replicas ~= nil and (math.type(replicas) ~= "integer" or replicas < 0) then fail(what .. ".replicas: expected a count") end
  if s.env and s.environment then fail(what .. ": env and environment both given") end
  if s.workdir and s.working_dir then fail(what .. ": workdir and working_dir both given") end
  return {
    name = name, image = s.image, build = build_spec(s.build, what .. ".build", dir), command = command(s.command, what .. ".command"),
    entrypoint = command(s.entrypoint, what .. ".entrypoint"), env = env_list(s.env or s.environment, what .. ".env"),
    env_file = string_list(s.env_file, what .. ".env_file") or {}, ports = string_list(s.ports, what .. ".ports") or {},
    volumes = string_list(s.volumes, what .. ".volumes") or {}, networks = networks(s.networks, what .. ".networks"),
    depends_on = depends(s.depends_on, what .. ".depends_on"), healthcheck = healthcheck(s.healthcheck, what .. ".healthcheck"),
    restart = s.restart, replicas = replicas or 1, labels = label_map(s.labels, what .. ".labels"), resources = resources,
    user = s.user, workdir = s.workdir or s.working_dir, hostname = s.hostname,
    cap_add = string_list(s.cap_add, what .. ".cap_add"), cap_drop = string_list(s.cap_drop, what .. ".cap_drop"),
    read_only = s.read_only, tmpfs = string_list(s.tmpfs, what .. ".tmpfs"), stop_signal = s.stop_signal,
    init = s.init, privileged = s.privileged, after_up = s.after_up,
    expose = string_list(s.expose, what .. ".expose") or {},
  }
end

local network_keys = { driver = true, internal = true, labels = true, subnet = true, gateway = true, external = true,
                       ipam = true, name = true }
local volume_keys = { driver = true, driver_opts = true, labels = true, external = true, name = true, options = true }

local function named(kind, keys, v)
  local out = {}
  for n, o in pairs(v or {}) do
    if type(n) ~= "string" then fail(kind .. ": names must be strings") end
    o = o == true and {} or o or {}
    if type(o) ~= "table" then fail(("%s.%s: expected a table"):format(kind, n)) end
    for k in pairs(o) do if not keys[k] then fail(("%s.%s: unknown key %q"):format(kind, n, tostring(k))) end end
    out[n] = o
  end
  return out
end

-- A valid project name: Compose's rule (lower case letters, digits, dashes, underscores;
-- starting with a letter or digit).
function M.project_name(s)
  local n = tostring(s):lower():gsub("[^a-z0-9_-]", "")
  n = n:gsub("^[^a-z0-9]+", "")
  return n
end

-- Checks and normalises a stack table. `dir`: where relative paths in it start.
function M.normalise(t, dir)
  if type(t) ~= "table" then fail("a stack is a table: { services = {...} }") end
  local known = { name = true, services = true, networks = true, volumes = true, after_up = true, version = true,
                  ["x-mdlua"] = true }
  for k in pairs(t) do
    if not known[k] and not tostring(k):match("^x%-") then fail(("stack: unknown key %q"):format(tostring(k))) end
  end
  if type(t.services) ~= "table" or next(t.services) == nil then fail("stack: no services") end
  local out = { name = t.name and M.project_name(t.name) or nil, dir = dir or ".", services = {},
                networks = named("networks", network_keys, t.networks), volumes = named("volumes", volume_keys, t.volumes),
                after_up = t.after_up }
  if out.after_up ~= nil and type(out.after_up) ~= "function" then fail("stack.after_up: expected a function") end
  for n, s in pairs(t.services) do
    if type(n) ~= "string" or not n:match("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$") then
      fail(("services: invalid service name %q"):format(tostring(n)))
    end
    out.services[n] = service(n, s, out.dir)
  end
  for n, s in pairs(out.services) do
    for _, d in ipairs(s.depends_on) do
      if not out.services[d.service] then fail(("services.%s.depends_on: no service %q"):format(n, d.service)) end
    end
    for _, net in ipairs(s.networks) do
      if net.name ~= "default" and not out.networks[net.name] then
        fail(("services.%s.networks: no network %q in the stack's networks"):format(n, net.name))
      end
    end
  end
  return out
end

return M
