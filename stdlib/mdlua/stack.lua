-- md.stack: multi-container setups as Lua values (docs/stacks.md).
--   md.stack{ name=, services={ web={image=, ports=, depends_on=, ...} }, networks=, volumes= }
--   md.stack.load(path, {name=}) -- stack.lua (returns a table or md.stack{...}) or a Compose file
--   stack:up{services=, force_recreate=, wait=, build=}  stack:down{volumes=, timeout=, rmi=}
--   stack:build{services=, missing=, no_cache=}  (a service's `build`, through md.build)
--   stack:ps()  stack:service(name):containers()  stack:config()  stack:scale(name, n)
--   stack:start{}, stack:stop{}, stack:restart{}, stack:run(service, {cmd=, rm=})
-- Containers are named PROJECT-SERVICE-N and labelled as Compose labels them
-- (com.docker.compose.project, .service, .container-number, .config-hash), so a second
-- `up` finds what the first made: a container whose config hash is unchanged is left
-- alone, a changed one is made again, replicas above the count are removed.
local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local envfile = require "mdlua.envfile"
local model = require "mdlua.stack.model"
local order = require "mdlua.stack.order"

local M = {}
local Stack = {}
Stack.__index = Stack
Stack.__name = "mdlua.stack"
function Stack:__tostring() return ("stack %s (%d services)"):format(self.name, self:count()) end

local LABEL = {
  project = "com.docker.compose.project",
  service = "com.docker.compose.service",
  number = "com.docker.compose.container-number",
  hash = "com.docker.compose.config-hash",
  oneoff = "com.docker.compose.oneoff",
  network = "com.docker.compose.network",
  volume = "com.docker.compose.volume",
}
M.LABEL = LABEL

local function basename(path) return (path:gsub("/+$", ""):match("([^/]+)$")) or path end
local function dirname(path) return path:match("^(.*)/[^/]*$") or "." end

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local pwd = os.getenv("PWD") or md.sys.readlink("/proc/self/cwd")
  return (pwd .. "/" .. path):gsub("/%./", "/"):gsub("/%.$", "")
end

-- A stack from a table: `o.name` (-p) over the table's name over the directory's.
function M.new(t, o)
  o = o or {}
  if getmetatable(t) == Stack then
    if o.name then t.name = model.project_name(o.name) end
    return t
  end
  local def = model.normalise(t, o.dir and absolute(o.dir) or absolute("."))
  local self = setmetatable(def, Stack)
  self.name = o.name and model.project_name(o.name) or def.name or model.project_name(basename(def.dir))
  if self.name == "" then errors.raise("invalid_option", "stack: no project name: give one with -p or name =") end
  self.file = o.file
  return self
end

-- Loads a stack file: Lua (it returns a table, or md.stack{...}) or a Compose file (.yaml,
-- .yml). A Lua stack can `require` modules next to it and read `arg` (`o.args`).
function M.load(path, o)
  o = o or {}
  if type(path) ~= "string" then errors.raise("invalid_argument", "md.stack.load: expected a path", 2) end
  if not md.fs.exists(path) then errors.raise("not_found", "md.stack.load: no such file: " .. path) end
  local dir = dirname(absolute(path))
  if path:match("%.ya?ml$") then
    local t = require("mdlua.stack.compose").load(path, { env = o.env })
    return M.new(t, { dir = dir, name = o.name, file = path })
  end
  local chunk, err = loadfile(path, "t")
  if not chunk then errors.raise("invalid_option", err) end
  local saved_path, saved_arg = package.path, arg
  package.path = dir .. "/?.lua;" .. package.path
  arg = { [0] = path, table.unpack(o.args or {}) }
  -- md.stack{...} inside the file takes its directory and the name given (-p).
  M.loading = { dir = dir, name = o.name, file = path }
  local ok, t = pcall(chunk, table.unpack(o.args or {}))
  package.path, arg, M.loading = saved_path, saved_arg, nil
  if not ok then error(t, 0) end
  if t == nil then errors.raise("invalid_option", path .. ": returned nothing (return the stack table, or md.stack{...})") end
  return M.new(t, { dir = dir, name = o.name, file = path })
end

function Stack:count()
  local n = 0
  for _ in pairs(self.services) do n = n + 1 end
  return n
end

-- The names of networks and volumes as the engine knows them: PROJECT_NAME, or the name
-- an external one was given.
function Stack:network_name(n)
  local def = self.networks[n] or {}
  if def.name then return def.name end
  if def.external then return n end
  return self.name .. "_" .. n
end
function Stack:volume_name(n)
  local def = self.volumes[n] or {}
  if def.name then return def.name end
  if def.external then return n end
  return self.name .. "_" .. n
end

-- `-v` of a service as the engine takes it: a stack volume by its full name, a relative
-- host path from the stack's directory.
function Stack:volume_spec(v)
  local src, rest = v:match("^([^:]+):(.+)$")
  if not src then return v end
  if src:sub(1, 1) == "." or src:sub(1, 1) == "~" then
    if src:sub(1, 1) == "~" then src = (os.getenv("HOME") or "") .. src:sub(2)
    else src = (self.dir .. "/" .. src):gsub("/%./", "/"):gsub("/%.$", "") end
    return src .. ":" .. rest
  end
  if src:sub(1, 1) ~= "/" then
    if not self.volumes[src] then
      errors.raise("invalid_option", ("volume %q is not in the stack's volumes"):format(src))
    end
    return self:volume_name(src) .. ":" .. rest
  end
  return v
end

-- Service `s`'s env files, relative ones from the stack's directory.
function Stack:env_files(s)
  local out = {}
  for i, f in ipairs(s.env_file) do out[i] = f:sub(1, 1) == "/" and f or self.dir .. "/" .. f end
  return out
end

-- What decides whether a container is up to date: the service's definition (as the engine
-- gets it), what its env files hold, and the image's ID.
local function config_hash(opts, image_id)
  local copy = {}
  for k, v in pairs(opts) do
    if k ~= "name" and k ~= "label" and k ~= "detach" then copy[k] = v end
  end
  copy.image_id = image_id
  if opts.env_file then
    copy.env_file_vars = {}
    for i, path in ipairs(opts.env_file) do copy.env_file_vars[i] = envfile.read(path, { what = "env_file" }) end
  end
  return md.sys.sha256(json.encode(copy)):sub(8)
end

local function shell_join(words)
  local out = {}
  for i, w in ipairs(words) do
    out[i] = w:match("^[%w%-%./_=:,@]+$") and w or ("'" .. w:gsub("'", "'\\''") .. "'")
  end
  return table.concat(out, " ")
end

-- A service's env with a bare NAME given the value `up` has (and left out when it has
-- none), as `run -e NAME` would: so that the config hash sees the value.
local function resolved_env(env)
  local out = {}
  for _, kv in ipairs(env) do
    if kv:find("=", 1, true) then out[#out + 1] = kv
    else
      local v = os.getenv(kv)
      if v then out[#out + 1] = kv .. "=" .. v end
    end
  end
  return out
end

-- md.container.create's options for replica `number` of service `s`.
function Stack:container_options(s, number)
  local o = {
    image = s.image or (self.name .. "-" .. s.name), name = self.name .. "-" .. s.name .. "-" .. number, detach = true,
    env = resolved_env(s.env), ports = s.ports, restart = s.restart, user = s.user, workdir = s.workdir, hostname = s.hostname,
    cap_add = s.cap_add, cap_drop = s.cap_drop, read_only = s.read_only, tmpfs = s.tmpfs, stop_signal = s.stop_signal,
    init = s.init, privileged = s.privileged,
  }
  if next(s.resources) then o.resources = s.resources end
  if #s.env_file > 0 then o.env_file = self:env_files(s) end
  if s.entrypoint then
    o.entrypoint = s.entrypoint[1] or ""
    local cmd = { table.unpack(s.entrypoint, 2) }
    for _, a in ipairs(s.command or {}) do cmd[#cmd + 1] = a end
    o.cmd = cmd
  else
    o.cmd = s.command
  end
  if #s.volumes > 0 then
    o.volumes = {}
    for i, v in ipairs(s.volumes) do o.volumes[i] = self:volume_spec(v) end
  end
  local hc = s.healthcheck
  if hc then
    if hc.test[1] == "NONE" then o.health = { disable = true }
    else
      o.health = { cmd = hc.test[1] == "CMD-SHELL" and table.concat(hc.test, " ", 2) or shell_join({ table.unpack(hc.test, 2) }),
                   interval = hc.interval, timeout = hc.timeout, start_period = hc.start_period, retries = hc.retries }
    end
  end
  local first = s.networks[1]
  o.network = self:network_name(first.name)
  local aliases = { s.name }
  for _, a in ipairs(first.aliases) do aliases[#aliases + 1] = a end
  o.network_alias = aliases
  if first.ip then o.ip = first.ip end
  return o
end

-- The stack's containers (one-off ones too), by service: { web = { c1, c2 }, ... }, each
-- list in container-number order.
function Stack:containers()
  local out = {}
  for _, c in ipairs(md.container.list { all = true }) do
    if c.labels[LABEL.project] == self.name then
      local s = c.labels[LABEL.service] or ""
      out[s] = out[s] or {}
      table.insert(out[s], c)
    end
  end
  for _, list in pairs(out) do
    table.sort(list, function(a, b)
      return (tonumber(a.labels[LABEL.number]) or 0) < (tonumber(b.labels[LABEL.number]) or 0)
    end)
  end
  return out
end

local Service = {}
Service.__index = Service
function Stack:service(name)
  local s = self.services[name]
  if not s then errors.raise("not_found", "no such service: " .. tostring(name), 2) end
  return setmetatable({ stack = self, name = name, def = s }, Service)
end
function Service:containers() return self.stack:containers()[self.name] or {} end

-- Health as it stands: "healthy", "unhealthy", "starting", or nil without a check.
local function health_status(c)
  return c.health and c.health.Status or nil
end

-- Waits until service `dep`'s containers meet `condition` (started, healthy, completed);
-- `by`: the service that needs it (nil for `up --wait`), named in the errors. Fails with
-- the dependency's last health output when it turns unhealthy, with its exit code when it
-- exits before it is healthy or completes with another code than 0. One-off containers
-- (`stack run`) are not the service's.
function Stack:wait_for(dep, condition, by, timeout)
  timeout = timeout or 300
  local deadline = md.sys.monotonic() + timeout
  local function fail(msg)
    if by then
      local want = ({ completed = "to complete successfully", healthy = "healthy", started = "started" })[condition]
      errors.raise("failed", ("service %s needs %s %s: %s"):format(by, dep, want, msg))
    end
    errors.raise("failed", ("service %s: %s"):format(dep, msg))
  end
  while true do
    local list = {}
    for _, c in ipairs(self:containers()[dep] or {}) do
      if c.labels[LABEL.oneoff] ~= "True" then list[#list + 1] = c end
    end
    local ready = #list > 0
    for _, c in ipairs(list) do
      c = md.container.get(c.id)
      if condition == "completed" then
        if c.status == "exited" then
          if c.exit_code ~= 0 then fail(("%s exited with code %d"):format(c.name, c.exit_code)) end
        else ready = false end
      elseif condition == "healthy" then
        local h = health_status(c)
        if h == "unhealthy" then
          local log = c.health.Log or {}
          local last = log[#log] or {}
          local output = (last.Output or ""):gsub("%s+$", "")
          fail(("%s is unhealthy: %s"):format(c.name, output ~= "" and output or ("its check exited with " .. tostring(last.ExitCode))))
        end
        if c.status == "exited" then fail(("%s exited with code %d before it was healthy"):format(c.name, c.exit_code)) end
        if c.status ~= "running" then fail(("%s is %s before it was healthy"):format(c.name, c.status)) end
        if h ~= "healthy" then ready = false end
      else
        if c.status ~= "running" and c.status ~= "exited" then ready = false end
      end
    end
    if ready then return end
    if md.sys.monotonic() > deadline then fail(("not %s after %d s"):format(condition, timeout)) end
    md.sys.sleep(0.1)
  end
end

-- The condition `up` waits for on a dependency: the one given, else healthy when it has a
-- health check (its own, or its image's), else started.
function Stack:condition(d)
  if d.condition then return d.condition end
  local s = self.services[d.service]
  if s.healthcheck then return s.healthcheck.test[1] == "NONE" and "started" or "healthy" end
  local ok, img = pcall(md.image.get, s.image or (self.name .. "-" .. s.name))
  if ok then
    local cfg = img:config().config or {}
    local hc = cfg.Healthcheck
    if hc and hc.Test and hc.Test[1] ~= "NONE" then return "healthy" end
  end
  return "started"
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- What `up` needs and does not make, checked before it builds or makes anything: the
-- external networks (of `names`) and volumes.
function Stack:check_externals(names)
  for _, n in ipairs(sorted_keys(names)) do
    if (self.networks[n] or {}).external and not pcall(md.network.get, self:network_name(n)) then
      errors.raise("not_found", ("network %s is external but does not exist"):format(self:network_name(n)))
    end
  end
  for _, n in ipairs(sorted_keys(self.volumes)) do
    -- (md.volume is there once volumes are: until then no volume exists.)
    if self.volumes[n].external and not (md.volume and pcall(md.volume.get, self:volume_name(n))) then
      errors.raise("not_found", ("volume %s is external but does not exist"):format(self:volume_name(n)))
    end
  end
end

-- What `up` needs once the builds are done, checked before it makes anything: each
-- service's image (`images[service]` is set to it), env files and options.
function Stack:check_services(images)
  for _, n in ipairs(sorted_keys(images)) do
    local s = self.services[n]
    local ok, image = pcall(md.image.get, self:image_ref(n))
    if not ok then errors.raise("not_found", ("service %s: no such image: %s"):format(n, self:image_ref(n))) end
    images[n] = image
    for _, path in ipairs(self:env_files(s)) do envfile.read(path, { what = ("services.%s.env_file"):format(n) }) end
    self:container_options(s, 1)
  end
end

function Stack:ensure_networks(names)
  for _, n in ipairs(sorted_keys(names)) do
    local full = self:network_name(n)
    local def = self.networks[n] or {}
    if not pcall(md.network.get, full) then
      if def.external then errors.raise("not_found", ("network %s is external but does not exist"):format(full)) end
      local labels = { [LABEL.project] = self.name, [LABEL.network] = n }
      for k, v in pairs(def.labels or {}) do labels[k] = tostring(v) end
      local ipam = def.ipam and def.ipam.config and def.ipam.config[1] or {}
      md.network.create { name = full, labels = labels, internal = def.internal == true,
                          subnet = def.subnet or ipam.subnet, gateway = def.gateway or ipam.gateway }
    end
  end
end

function Stack:ensure_volumes()
  for _, n in ipairs(sorted_keys(self.volumes)) do
    local def = self.volumes[n]
    local full = self:volume_name(n)
    if not pcall(md.volume.get, full) then
      if def.external then errors.raise("not_found", ("volume %s is external but does not exist"):format(full)) end
      local labels = { [LABEL.project] = self.name, [LABEL.volume] = n }
      for k, v in pairs(def.labels or {}) do labels[k] = tostring(v) end
      md.volume.create { name = full, labels = labels, options = def.driver_opts or def.options }
    end
  end
end

-- The image a service's containers run: its `image`, else PROJECT-SERVICE (what its build
-- is tagged).
function Stack:image_ref(n)
  local s = self.services[n]
  return s.image or (self.name .. "-" .. n)
end

-- Builds the images of services that have a `build` (docs/stacks.md), with md.build as
-- `mdlua build` does, and tags each as the service's image. o.services: only these (default
-- every service with a build); o.missing: only those whose image is not there yet;
-- o.no_cache; o.progress(line): a line per step. Returns the names of the services built.
function Stack:build(o)
  o = errors.check_options(o, "stack:build", { "services", "missing", "no_cache", "progress" })
  local say = o.progress or function() end
  local names = {}
  if o.services and #o.services > 0 then
    for _, n in ipairs(o.services) do
      if not self.services[n] then errors.raise("not_found", "no such service: " .. tostring(n)) end
      names[#names + 1] = n
    end
  else
    for n in pairs(self.services) do names[#names + 1] = n end
  end
  table.sort(names)
  local built = {}
  for _, n in ipairs(names) do
    local b = self.services[n].build
    local ref = self:image_ref(n)
    if b and not (o.missing and pcall(md.image.get, ref)) then
      say(("%s  Building"):format(n))
      local stage = md.build.load(b.context, { file = b.file, target = b.target, build_args = b.args })
      local opts = { build_args = b.args, no_cache = o.no_cache, tags = { ref }, progress = function(kind, e)
        if kind == "done" then
          say(("%s  STEP %d/%d: %s%s"):format(n, e.n, e.total, e.instruction, e.cached and "  CACHED" or ""))
        end
      end }
      local img = md.build.run(stage, opts)
      md.build.finish(nil, opts)
      say(("%s  Built %s"):format(n, img.id:sub(8, 19)))
      built[#built + 1] = n
    end
  end
  return built
end

-- md.container.create's options for replica `number` of service `s`, with the labels that
-- say what made it.
function Stack:labelled_options(s, number, hash, oneoff)
  local o = self:container_options(s, number)
  o.label = { LABEL.project .. "=" .. self.name, LABEL.service .. "=" .. s.name, LABEL.number .. "=" .. number,
              LABEL.hash .. "=" .. hash, LABEL.oneoff .. "=" .. (oneoff and "True" or "False") }
  local keys = {}
  for k in pairs(s.labels) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do o.label[#o.label + 1] = k .. "=" .. s.labels[k] end
  return o
end

-- Brings the stack to its definition (docs/stacks.md, "up"). o.services: only these (and
-- what they depend on); o.force_recreate; o.wait: until every service is running (healthy
-- when it has a check); o.progress(line): what it does, a line at a time.
function Stack:up(o)
  o = errors.check_options(o, "stack:up", { "services", "force_recreate", "wait", "progress", "replicas", "build" })
  local say = o.progress or function() end
  local only
  if o.services and #o.services > 0 then
    only = {}
    for _, n in ipairs(o.services) do only[n] = true end
  end
  local levels = order.levels(self.services, only)
  local selected, nets, images = {}, {}, {}
  for _, level in ipairs(levels) do
    for _, n in ipairs(level) do
      selected[#selected + 1] = n
      for _, net in ipairs(self.services[n].networks) do nets[net.name] = true end
      images[n] = true
    end
  end
  -- A missing external network or volume fails before any build runs; then the images,
  -- so that a failed build leaves nothing made: every build with o.build, else those whose
  -- image is missing.
  self:check_externals(nets)
  self:build { services = selected, missing = not o.build, progress = say }
  self:check_services(images)
  self:ensure_networks(nets)
  if next(self.volumes) then self:ensure_volumes() end
  local existing = self:containers()
  local result = { created = {}, recreated = {}, started = {}, unchanged = {}, removed = {} }
  for _, level in ipairs(levels) do
    for _, n in ipairs(level) do
      local s = self.services[n]
      for _, d in ipairs(s.depends_on) do self:wait_for(d.service, self:condition(d), n) end
      local want = (o.replicas and o.replicas[n]) or s.replicas
      local have = {}
      for _, c in ipairs(existing[n] or {}) do
        if c.labels[LABEL.oneoff] ~= "True" then have[tonumber(c.labels[LABEL.number]) or 0] = c end
      end
      local image = images[n]
      for i = 1, want do
        local hash = config_hash(self:container_options(s, i), image.id)
        local opts = self:labelled_options(s, i, hash, false)
        local c = have[i]
        if c and c.labels[LABEL.hash] == hash and not o.force_recreate then
          if c.status ~= "running" and c.status ~= "restarting" then
            c:start_detached()
            result.started[#result.started + 1] = c.name
            say(("%s  Started"):format(c.name))
          else
            result.unchanged[#result.unchanged + 1] = c.name
            say(("%s  Running"):format(c.name))
          end
        else
          if c then
            if c.status == "running" then c:stop { timeout = 10 } end
            c:rm { force = true }
          end
          local made = md.container.create(opts)
          for k = 2, #s.networks do
            md.network.get(self:network_name(s.networks[k].name)):connect(made, { aliases = { n, table.unpack(s.networks[k].aliases) } })
          end
          made:start_detached()
          local list = c and result.recreated or result.created
          list[#list + 1] = made.name
          say(("%s  %s"):format(made.name, c and "Recreated" or "Started"))
        end
        have[i] = nil
      end
      for _, c in pairs(have) do
        c:rm { force = true }
        result.removed[#result.removed + 1] = c.name
        say(("%s  Removed"):format(c.name))
      end
      if s.after_up then s.after_up(self, self:service(n):containers()) end
    end
  end
  if o.wait then
    for _, level in ipairs(levels) do
      for _, n in ipairs(level) do
        if (o.replicas and o.replicas[n] or self.services[n].replicas) > 0 then
          self:wait_for(n, self:condition({ service = n }) == "healthy" and "healthy" or "started")
        end
      end
    end
  end
  if self.after_up then self.after_up(self) end
  return result
end

-- Stops and removes the stack's containers, then its networks; o.volumes: its volumes too;
-- o.rmi: "local" (images built for it) or "all" (every image its services use).
function Stack:down(o)
  o = errors.check_options(o, "stack:down", { "volumes", "timeout", "rmi", "progress" })
  local say = o.progress or function() end
  local removed = { containers = {}, networks = {}, volumes = {}, images = {} }
  for _, list in pairs(self:containers()) do
    for _, c in ipairs(list) do
      if c.status == "running" then pcall(c.stop, c, { timeout = o.timeout or 10 }) end
      c:rm { force = true }
      removed.containers[#removed.containers + 1] = c.name
      say(("%s  Removed"):format(c.name))
    end
  end
  local ok, nets = pcall(function() return md.network.list() end)
  for _, net in ipairs(ok and nets or {}) do
    if (net.labels or {})[LABEL.project] == self.name then
      net:rm()
      removed.networks[#removed.networks + 1] = net.name
      say(("network %s  Removed"):format(net.name))
    end
  end
  if o.volumes then
    for _, v in ipairs(md.volume.list()) do
      if (v.labels or {})[LABEL.project] == self.name then
        v:rm()
        removed.volumes[#removed.volumes + 1] = v.name
        say(("volume %s  Removed"):format(v.name))
      end
    end
  end
  if o.rmi then
    if o.rmi ~= "local" and o.rmi ~= "all" then errors.raise("invalid_option", "stack:down: rmi is local or all") end
    for n, s in pairs(self.services) do
      local ref = (o.rmi == "all" or not s.image) and (s.image or (self.name .. "-" .. n)) or nil
      if ref and pcall(md.image.rm, ref) then removed.images[#removed.images + 1] = ref end
    end
  end
  return removed
end

-- The stack's containers, as `ps` lists them: one-offs last, each service's in order.
function Stack:ps(o)
  o = errors.check_options(o, "stack:ps", { "all" })
  local out = {}
  local by = self:containers()
  local names = {}
  for n in pairs(by) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    for _, c in ipairs(by[n]) do
      if o.all or c.status == "running" or c.status == "restarting" or c.status == "paused" then out[#out + 1] = c end
    end
  end
  return out
end

-- The stack's containers of `services` (all when empty), in start order.
function Stack:selected(services)
  local want
  if services and #services > 0 then
    want = {}
    for _, n in ipairs(services) do
      if not self.services[n] then errors.raise("not_found", "no such service: " .. n) end
      want[n] = true
    end
  end
  local out = {}
  local by = self:containers()
  for _, level in ipairs(order.levels(self.services)) do
    for _, n in ipairs(level) do
      if not want or want[n] then
        for _, c in ipairs(by[n] or {}) do out[#out + 1] = c end
      end
    end
  end
  return out
end

function Stack:start(o)
  o = errors.check_options(o, "stack:start", { "services" })
  for _, c in ipairs(self:selected(o.services)) do
    if c.status ~= "running" and c.labels[LABEL.oneoff] ~= "True" then c:start_detached() end
  end
end

function Stack:stop(o)
  o = errors.check_options(o, "stack:stop", { "services", "timeout" })
  local list = self:selected(o.services)
  for i = #list, 1, -1 do
    if list[i].status == "running" then list[i]:stop { timeout = o.timeout } end
  end
end

function Stack:restart(o)
  o = errors.check_options(o, "stack:restart", { "services", "timeout" })
  self:stop(o)
  self:start { services = o.services }
end

-- Sets service `name` to `n` replicas (and brings it up).
function Stack:scale(name, n)
  if not self.services[name] then errors.raise("not_found", "no such service: " .. tostring(name)) end
  if math.type(n) ~= "integer" or n < 0 then errors.raise("invalid_argument", "stack:scale: expected a count") end
  return self:up { services = { name }, replicas = { [name] = n } }
end

-- A one-off container of a service (`run`): its dependencies brought up first, named
-- PROJECT-SERVICE-run-XXXXXX; o.cmd replaces the command; o.rm removes it at its exit.
-- Runs in the foreground and returns md.run's result.
function Stack:run(name, o)
  o = errors.check_options(o, "stack:run", { "cmd", "rm", "tty", "interactive", "capture", "env" })
  local s = self.services[name]
  if not s then errors.raise("not_found", "no such service: " .. tostring(name)) end
  if #s.depends_on > 0 then
    local deps = {}
    for _, d in ipairs(s.depends_on) do deps[#deps + 1] = d.service end
    self:up { services = deps }
    for _, d in ipairs(s.depends_on) do self:wait_for(d.service, self:condition(d), name) end
  else
    local nets = {}
    for _, net in ipairs(s.networks) do nets[net.name] = true end
    self:ensure_networks(nets)
  end
  self:build { services = { name }, missing = true }
  local opts = self:labelled_options(s, 1, "", true)
  local suffix = md.sys.sha256(tostring(md.sys.monotonic()) .. md.sys.getpid()):sub(8, 19)
  opts.name = self.name .. "-" .. name .. "-run-" .. suffix
  opts.detach, opts.restart = nil, nil
  opts.rm, opts.tty, opts.interactive, opts.capture = o.rm, o.tty, o.interactive, o.capture
  if o.cmd then opts.cmd = o.cmd end
  if o.env then for _, kv in ipairs(o.env) do opts.env[#opts.env + 1] = kv end end
  opts.ports = nil   -- as Compose: a one-off does not publish the service's ports
  return md.run(opts)
end

-- The stack as data (Compose's `config`): what `up` would make, without functions.
function Stack:config()
  local services = {}
  for n, s in pairs(self.services) do
    local c = {}
    for k, v in pairs(s) do if type(v) ~= "function" and k ~= "name" then c[k] = v end end
    services[n] = c
  end
  return { name = self.name, services = services, networks = self.networks, volumes = self.volumes }
end

return setmetatable(M, { __call = function(_, t) return M.new(t, M.loading) end })
