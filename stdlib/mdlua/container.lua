-- md.run and md.container: containers from Lua.
--   md.run{image="busybox", cmd={"sh","-c","echo hi"}, env={A="1"}, workdir="/tmp",
--          user="nobody", rm=true, capture=true}  -> { exit_code=0, stdout="hi\n", stderr="" }
--   md.container.create{...same fields...}        -> a container object (not started)
--   c:start{capture=true}, c:rm{force=true}, c:export(path), md.container.get(name|id)
--   c:stop(), c:kill(), c:wait(), c:logs(), c:exec{...}, c:inspect(), c:commit(), c:attach()
--   c:networks(), c:ports()                        -> its addresses and published ports
--   md.containers{all=true} = md.container.list{all=true} -> container objects, newest first
--   md.exec(ref, {...}), md.commit(ref, {...})     -> c:exec, c:commit of the container ref
-- Options tables with a name a function does not know, and the engine's refusals, raise
-- errors.lua's tables (err.code, err.message).
local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local spec = require "mdlua.spec"
local options = require "mdlua.options"

local M = {}
-- The binding's errors as errors.lua's tables (code not_found, conflict, engine).
local runtime = errors.guard(md._runtime)
local volume_binding = errors.guard(md._volume)

local function root() return md.config.root end

local Container = {}
Container.__index = Container
Container.__name = "mdlua.container"
function Container:__tostring() return ("container %s (%s, %s)"):format(self.id:sub(1, 12), self.name, self.status) end
-- A record from the binding as a container object: `health` (a JSON string in the record)
-- as a Lua table (nil without a check), and the config's labels as `labels`.
local function decorate(r)
  if type(r.health) == "string" then
    local ok, h = pcall(json.decode, r.health)
    r.health = ok and type(h) == "table" and h ~= json.null and h or nil
  end
  r.config = r.config or {}
  r.labels = r.config.labels or {}
  return r
end
local function wrap(r) return setmetatable(decorate(r), Container) end

local adjectives = { "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
  "nimble", "proud", "quiet", "sharp", "swift", "tender", "vivid", "witty", "zealous", "bold" }
local nouns = { "ada", "babbage", "curie", "darwin", "euler", "fermat", "gauss", "hopper", "kepler", "lovelace",
  "noether", "pascal", "ritchie", "shannon", "turing", "wozniak", "hamilton", "knuth", "liskov", "thompson" }

local function random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  local bytes = f:read(n // 2)
  f:close()
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- A name from the ID; `attempt` > 0 picks another pair, then adds digits, so a taken name
-- (they are few) is tried again with another.
local function generated_name(id, attempt)
  local a = tonumber(id:sub(1 + attempt * 2, 4 + attempt * 2), 16) % #adjectives + 1
  local n = tonumber(id:sub(5 + attempt * 2, 8 + attempt * 2), 16) % #nouns + 1
  local name = adjectives[a] .. "_" .. nouns[n]
  if attempt >= 5 then name = name .. "_" .. id:sub(1, 6) end
  return name
end

-- env as a list {"A=1"}: a map {A="1"} becomes the list, sorted.
local function env_list(env)
  if type(env) == "table" and #env == 0 and next(env) then
    local list = {}
    for k, v in pairs(env) do list[#list + 1] = k .. "=" .. tostring(v) end
    table.sort(list)
    return list
  end
  return env
end

-- `level` points the error at the caller's line. The fields and their types are the table
-- of options' (options.lua).
local function check_options(o, fn, level)
  options.check(o, fn, level + 1)
  -- env may be a map {A="1"} or a list {"A=1"}.
  o.env = env_list(o.env)
  -- The mode as given or defaulted (bridge), so that the record says which.
  o.network = (require("mdlua.container_network").mode(o))
end

-- The image of a new container, pulled first as o.pull asks: "always", "missing" (when
-- the store lacks it) or "never" (nil from Lua).
local function find_or_pull(o)
  local policy = o.pull or "never"
  if policy ~= "always" and policy ~= "missing" and policy ~= "never" then
    options.fail(("invalid --pull %q: expected always, missing or never"):format(policy))
  end
  if policy == "never" then return md.image.get(o.image) end
  if policy == "missing" then
    local ok, img = pcall(md.image.get, o.image)
    if ok then return img end
    if not (errors.is(img) and img.code == "not_found") then error(img, 0) end
    if md.sys.isatty(2) then io.stderr:write(("Unable to find image '%s' locally\n"):format(o.image)) end
  end
  return md.pull(o.image, { platform = o.platform,
                            progress = md.sys.isatty(2) and require("mdlua.pull_progress").new("terminal", io.stderr) or nil })
end

-- `starting`: this process starts the container in the foreground right after (run): the
-- record names it as the monitor from the start (docs/containers.md, "Supervision").
function M.create(o, fn, level, starting)
  check_options(o, fn or "md.container.create", level or 3)
  local image = find_or_pull(o)
  md.sys.trace("create: image found")
  local id = random_hex(64)
  local image_config = image:config().config
  local netconf = require("mdlua.container_network")
  local joined = netconf.joined(o)
  local s, files, mounts = spec.build(image_config, netconf.spec_options(o, joined), id, runtime.path(root(), id))
  local config = spec.config(image_config, o, mounts)
  md.sys.trace("create: spec built")
  local args = { id = id, image = image.id, image_name = o.image, spec = json.encode(s), command = s.process.args,
                 files = files, config = config, starting = starting == true }
  -- The network lease comes before the record (its address goes into /etc/hosts); a failed
  -- create gives it back. A crash in between leaves a lease that the next change of the
  -- network drops (NetworkStore.reconcile).
  local made = M.create_volumes(config.mounts, id)
  local ok, r = pcall(function()
    for attempt = 0, 6 do
      args.name = o.name or generated_name(id, attempt)
      local hosts, resolv = files.hosts, files["resolv.conf"]
      local endpoint = netconf.attach(o, id, args.name, image_config or {}, files)
      md.sys.trace("create: network attached")
      local ok, r = pcall(runtime.create, root(), args)
      if ok then return wrap(r) end
      if endpoint then pcall(require("mdlua.network").release, id) end
      if o.name or not tostring(r):find("already in use", 1, true) or attempt == 6 then error(r, 0) end
      files.hosts, files["resolv.conf"] = hosts, resolv
    end
  end)
  if not ok then
    -- The anonymous volumes made for a container that could not be created go too.
    for _, name in ipairs(made) do pcall(md._volume.remove, root(), name) end
    error(r, 0)
  end
  return r
end

-- The named volumes of a new container's mounts (config.mounts, spec.lua), made when
-- missing, as Docker's create does: an anonymous one records the container as its owner.
-- Returns the names of the anonymous volumes made.
function M.create_volumes(mounts, id)
  local made, any = {}, false
  for _, m in ipairs(mounts or {}) do
    if m.type == "volume" then
      any = true
      local _, created = volume_binding.create(root(), { name = m.source, anonymous = m.anonymous == true,
                                                         owner = m.anonymous and id or nil })
      if created and m.anonymous then made[#made + 1] = m.source end
    end
  end
  if any then md.sys.trace("create: volumes ready") end
  return made
end

function M.get(ref)
  if type(ref) == "table" and getmetatable(ref) == Container then ref = ref.id end
  if type(ref) ~= "string" then
    errors.raise("invalid_argument", "md.container.get: expected a container name or ID (string), got " .. type(ref), 2)
  end
  return wrap(runtime.get(root(), ref))
end

-- Every container, in the store's order (for the commands that count or walk them all).
function M.stored()
  local out = {}
  for i, r in ipairs(runtime.list(root())) do out[i] = wrap(r) end
  return out
end

-- Removes every stopped container (`container prune`): exited and created ones, and dead
-- ones (a removal that did not finish, a damaged record) unless their cgroups say they still
-- run (rm refuses those without force). Returns the IDs removed.
function M.prune()
  local removed = {}
  for _, c in ipairs(M.stored()) do
    if c.status == "exited" or c.status == "created" then
      c:rm()
      removed[#removed + 1] = c.id
    elseif c.status == "dead" and pcall(c.rm, c) then
      removed[#removed + 1] = c.id
    end
  end
  return removed
end

-- md.containers{all=true} and md.container.list{all=true}, one function: the running,
-- paused and restarting containers (every one with all=true), newest first, as `ps`.
function M.list(o)
  o = errors.check_options(o, "md.container.list", { "all" })
  local out = {}
  for _, c in ipairs(M.stored()) do
    if o.all or c.status == "running" or c.status == "restarting" or c.status == "paused" then out[#out + 1] = c end
  end
  table.sort(out, function(a, b) return a.created > b.created end)
  return out
end
M.containers = M.list

-- Runs the container in the foreground. opts: tty, stdin (attach stdin), capture.
-- A process that did not start, as an error: code start_failed, status its exit status
-- (125: the engine failed, 126: not executable, 127: not found), as Docker's exit codes.
local function start_failed(message, status)
  error(errors.new("start_failed", message, status), 0)
end

-- Runs it in the foreground until it exits: { exit_code=, stdout=?, stderr=?, warning=? }
-- (warning: the exit could not be recorded). A process that did not start is raised.
function Container:start(opts)
  opts = errors.check_options(opts, "c:start", { "tty", "stdin", "capture" })
  local r, record = runtime.start(root(), self.id, { tty = opts.tty, stdin = opts.stdin, capture = opts.capture })
  for k, v in pairs(decorate(record)) do self[k] = v end
  if r.start_failed then start_failed(r.error, r.exit_code) end
  r.warning, r.error = r.error, nil
  return r
end

-- c:rm{force=true, volumes=true}: volumes removes its anonymous volumes too (rm -v).
function Container:rm(opts)
  opts = errors.check_options(opts, "c:rm", { "force", "volumes" })
  return runtime.remove(root(), self.id, opts.force, opts.volumes)
end

local signals = require "mdlua.signals"

local function refresh(self)
  local r = decorate(runtime.get(root(), self.id))
  self.health = r.health
  for k, v in pairs(r) do self[k] = v end
  return self
end

-- Starts the container in the background under its monitor; returns it. A process that did
-- not start is raised (start_failed).
function Container:start_detached()
  local ok, err, status = runtime.start_detached(root(), self.id)
  refresh(self)
  if not ok then start_failed(err, status) end
  return self
end

function Container:stop(opts)
  opts = errors.check_options(opts, "c:stop", { "signal", "timeout" })
  local sig = opts.signal
  if not sig then
    sig = self.config.stop_signal or "SIGTERM"
  end
  sig = signals.parse(sig)
  runtime.stop(root(), self.id, opts.timeout or 10, sig)
  return refresh(self)
end

function Container:kill(sig) runtime.signal(root(), self.id, signals.parse(sig or "SIGKILL")); return self end
function Container:wait() return runtime.wait(root(), self.id) end

-- Runs a command in the running container: c:exec{"ls", "/"} or
-- c:exec{cmd={"ls"}, env={A="1"} or {"A=1"}, user="nobody", workdir="/tmp", capture=true}.
local exec_options = { cmd = true, env = true, user = true, workdir = true, tty = true, interactive = true,
                       capture = true, detach = true, detach_keys = true }
function Container:exec(o)
  if type(o) ~= "table" then errors.raise("invalid_argument", "c:exec: expected a table", 2) end
  local named = {}
  for k, v in pairs(o) do
    if math.type(k) ~= "integer" or k < 1 or k > #o then named[k] = v end
  end
  errors.check_options(named, "c:exec", exec_options)
  local args = o.cmd or { table.unpack(o) }
  if #args == 0 then errors.raise("invalid_argument", "c:exec: no command given", 2) end
  local r = runtime.exec(root(), self.id, { args = args, env = env_list(o.env), user = o.user, workdir = o.workdir,
                                            tty = o.tty, stdin = o.interactive, capture = o.capture, detach = o.detach,
                                            detach_keys = o.detach_keys })
  if r.error then start_failed(r.error, r.exit_code) end
  return r
end
-- Attaches to a detached container: its output from now on, and (stdin=true) this
-- process's input as its stdin. Returns {exit_code=} when it stops, {detached=true} after
-- Ctrl-P Ctrl-Q on a terminal.
function Container:attach(o)
  o = errors.check_options(o, "c:attach", { "stdin", "detach_keys" })
  local r = runtime.attach(root(), self.id, { stdin = o.stdin, detach_keys = o.detach_keys })
  if not r.removed then refresh(self) end   -- (--rm: its monitor removed it when it ended)
  return r
end
function Container:dir() return root() .. "/containers/" .. self.id end
-- Its places on networks: { {network=, ip=, prefix=, gateway=, aliases=, ports=, interface=}, ... }
function Container:networks() return require("mdlua.network").endpoints(self.id) end
-- Its published ports: { {proto=, host_ip=, host_port=, container_port=}, ... }
function Container:ports() return require("mdlua.container_network").ports(self) end
-- Copies between the host and the container: c:copy_from("/etc/hosts", "/tmp/h"),
-- c:copy_to("/tmp/file", "/srv/"); host "-" is a tar stream on stdout or stdin. o:
-- {archive=true} keeps the owners (cp -a), {follow_link=true} follows a symlink named as
-- the source (cp -L).
local copy_options = { "archive", "follow_link" }
function Container:copy_from(path, host, o)
  runtime.copy(root(), self.id, path, host, false, errors.check_options(o, "c:copy_from", copy_options))
end
function Container:copy_to(host, path, o)
  runtime.copy(root(), self.id, path, host, true, errors.check_options(o, "c:copy_to", copy_options))
end

function Container:pause() runtime.pause(root(), self.id, true); return refresh(self) end
function Container:unpause() runtime.pause(root(), self.id, false); return refresh(self) end
function Container:stats() return runtime.stats(root(), self.id) end
-- Changes limits, live, and the restart policy: c:update{resources={memory="128m", cpus=1},
-- restart="always"} (md.run's fields).
function Container:update(o)
  options.check_update(o, "c:update", 3)
  local res = spec.resources(o.resources or {})
  local policy = o.restart and spec.restart_policy(o.restart) or nil
  runtime.update(root(), self.id, json.encode(next(res) and res or {}), policy)
  return self
end
function Container:rename(name) runtime.rename(root(), self.id, name); return refresh(self) end

-- Changed paths: { {kind="A"|"C"|"D", path="/..."}, ... }
function Container:diff() return runtime.diff(root(), self.id) end

-- A new image: the container's image plus its changes, with the container's config
-- (env, cmd, workdir, user) unless `changes` say otherwise. Returns the image.
function Container:commit(o)
  o = errors.check_options(o, "c:commit", { "name", "message", "author", "changes" })
  local image = md.image.get(self.image)
  local cfg = image:config()
  local spec_ = self:spec()
  local conf = cfg.config or {}
  local env = json.array()
  for _, kv in ipairs(spec_.process.env) do
    if not kv:match("^HOSTNAME=") then env[#env + 1] = kv end
  end
  conf.Env = env
  local entrypoint = conf.Entrypoint or {}
  local args = spec_.process.args
  conf.Cmd = json.array({ table.unpack(args, #entrypoint + 1) })
  conf.WorkingDir = spec_.process.cwd
  conf.User = spec_.annotations["io.mdlua.user"] or conf.User
  conf.Labels = next(self.labels) and self.labels or conf.Labels
  require("mdlua.changes").apply(conf, o.changes)
  local history = json.array({ table.unpack(cfg.history or {}) })
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  history[#history + 1] = { created = now, created_by = "mdlua commit " .. self.name, comment = o.message }
  local new = { architecture = cfg.architecture, os = cfg.os, created = now, config = conf, history = history,
                author = o.author }
  local id = runtime.commit(root(), self.id, json.encode(new), o.name, o.message)
  return md.image.get(id)
end

-- The log. The monitor's writer (Sources/MDCore/Container/LogWriter.swift) appends to
-- container.log and rotates it to container.log.1, .1 to .2 and so on, keeping max-file
-- files: the higher the number, the older the file. Every record is one line,
-- {"log":"...","stream":"stdout","time":"..."}, written in one write.

-- The log's files, oldest first (the files the directory holds, for any max-file).
function M.log_files(dir)
  local rotated = {}
  for _, name in ipairs(md.sys.listdir(dir) or {}) do
    local n = name:match("^container%.log%.(%d+)$")
    if n then rotated[#rotated + 1] = tonumber(n) end
  end
  table.sort(rotated, function(a, b) return a > b end)
  local files = {}
  for i, n in ipairs(rotated) do files[i] = dir .. "/container.log." .. n end
  files[#files + 1] = dir .. "/container.log"
  return files
end

local unescapes = { n = "\n", t = "\t", r = "\r", b = "\b", f = "\f", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }

-- One line of the log as stream, time, text; nil for a line that is not a record. The
-- writer's own shape is taken apart with plain string functions (the JSON decoder in Lua
-- takes 30 times as long), anything else goes through the decoder. Inside the JSON string
-- every quote is escaped, so the first '","stream":"' ends it.
local find, sub, match = string.find, string.sub, string.match
local function parse_record(line)
  local i = find(line, '","stream":"', 9, true)
  if i and sub(line, 1, 8) == '{"log":"' then
    local stream, time = match(line, '^(%a+)","time":"([^"]*)"}\n?$', i + 12)
    local text = sub(line, 9, i - 1)
    local escape = find(text, "\\", 1, true)
    if escape == #text - 1 and sub(text, -1) == "n" then
      text = sub(text, 1, -3) .. "\n"       -- the usual line: only its newline escaped
    elseif escape then
      local surrogate = false
      text = text:gsub("\\(.)(%x?%x?%x?%x?)", function(c, hex)
        if c ~= "u" then return (unescapes[c] or c) .. hex end
        local cp = #hex == 4 and tonumber(hex, 16)
        if not cp or (cp >= 0xD800 and cp < 0xE000) then surrogate = true; return "" end
        return utf8.char(cp)
      end)
      if surrogate then stream = nil end
    end
    if stream then return stream, time, text end
  end
  local ok, rec = pcall(json.decode, line)
  if ok and type(rec) == "table" and type(rec.log) == "string" then return rec.stream, rec.time, rec.log end
end

-- A file's first line names it: it holds the time of its first record, in nanoseconds.
local function complete(line) return line and line:sub(-1) == "\n" and line or nil end
local function first_line(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local line = f:read("L")
  f:close()
  return complete(line)
end
local function first_line_of(f)
  local pos = f:seek("cur")
  f:seek("set", 0)
  local line = f:read("L")
  f:seek("set", pos)
  return line
end

-- Where the last `n` lines of the files begin: the index of a file and an offset in it.
-- Read from the end, a block at a time.
local function tail_start(files, n)
  for k = #files, 1, -1 do
    local f = io.open(files[k], "rb")
    if f then
      local pos = f:seek("end")
      local newlines = 0
      while pos > 0 do
        local len = math.min(65536, pos)
        pos = pos - len
        f:seek("set", pos)
        local block = f:read(len)
        local at, i = {}, 0
        while true do
          i = block:find("\n", i + 1, true)
          if not i then break end
          at[#at + 1] = i
        end
        -- The line after the (n+1)th newline from the end is the first of the last n.
        if newlines + #at >= n + 1 then
          f:close()
          return k, pos + at[#at - (n - newlines)]
        end
        newlines = newlines + #at
      end
      f:close()
      n = n - newlines
      if n <= 0 then return k, 0 end
    end
  end
  return 1, 0
end

local LogReader = {}
LogReader.__index = LogReader

-- A reader of the log, from the start or the last `o.tail` lines. reader:records() iterates
-- over the records written so far, one line in memory at a time; called again, it goes on
-- from there, following the writer's rotations.
function Container:log_reader(o)
  local tail = errors.check_options(o, "c:log_reader", { "tail" }).tail
  local files = M.log_files(self:dir())
  local first, offset = 1, 0
  if tail and tail ~= math.huge then first, offset = tail_start(files, tail) end
  local queue = {}
  for k = first, #files do queue[#queue + 1] = files[k] end
  return setmetatable({ dir = self:dir(), queue = queue, offset = offset }, LogReader)
end

-- The file being read is finished: the next one in the queue, or, at the newest, whether
-- the writer rotated it since (then the files after it are read next).
function LogReader:advance()
  local current = self.file
  if #self.queue > 0 then
    if current then current:close() end
    local path = table.remove(self.queue, 1)
    self.file = io.open(path, "rb")
    self.last = #self.queue == 0
    self.head = nil
    if self.file then
      self.head = complete(self.file:read("L"))
      self.file:seek("set", self.offset)
    end
    self.offset = 0
    return self.file ~= nil or #self.queue > 0
  end
  local base = self.dir .. "/container.log"
  if not current or not self.head then
    -- Nothing read from it yet (empty or missing): open it again from the start.
    if current then current:close(); self.file = nil end
    self.queue = { base }
    return self:advance() and self.head ~= nil
  end
  local head = first_line(base)
  if head == self.head then return false end
  -- Rotated: the file now has a number (the rest of it is read first), the newer files
  -- follow. If it is gone (or truncated, with max-file=1), from the oldest file there is.
  local files = M.log_files(self.dir)
  local found
  for k = #files - 1, 1, -1 do
    if first_line(files[k]) == self.head then found = k; break end
  end
  self.queue = {}
  for k = (found or 0) + 1, #files do self.queue[#self.queue + 1] = files[k] end
  if not found then current:close(); self.file = nil end
  self.last = false
  return true
end

-- The records as stream, time, text, oldest first.
function LogReader:records()
  -- C's stdio keeps a file at its end once it was reached; a seek reads what came since.
  if self.file then self.file:seek("cur") end
  return function()
    while true do
      local f = self.file
      local line = f and f:read("L")
      if line then
        if line:sub(-1) ~= "\n" and self.last then
          f:seek("cur", -#line)   -- a record being written: wait for its end
          line = nil
        else
          if not self.head then self.head = complete(first_line_of(f)) end
          local stream, time, text = parse_record(line)
          if stream then return stream, time, text end
        end
      end
      if not line and not self:advance() then return nil end
    end
  end
end

-- The log as records { stream=, time=, log= }, oldest first (rotated files included).
function Container:logs()
  local out = {}
  for stream, time, text in self:log_reader():records() do
    out[#out + 1] = { stream = stream, time = time, log = text }
  end
  return out
end
function Container:export(path) return runtime.export(root(), self.id, path) end
-- The runtime spec; a damaged or missing one is an error that names the file and the container.
function Container:spec()
  local path = root() .. "/containers/" .. self.id .. "/config.json"
  local ok, r = pcall(function() return json.decode(md.fs.read(path)) end)
  if ok and type(r) == "table" then return r end
  errors.raise("engine", ("container %s (%s): its runtime spec %s is damaged: %s"):format(self.name, self.id:sub(1, 12), path,
    ok and "not a JSON object" or errors.message(r)))
end

-- Docker's container inspect document ----------------------------------------------
-- Built from the record (container.json: state, and the config it was created with) and the spec
-- (config.json), which `update` rewrites (Sources/MDLua/Bindings/RuntimeBinding.swift), so
-- the limits shown are the ones in force. Where Docker has a nil slice, map or pointer, the
-- document has template.nil_list, template.nil_map or json.null (null in JSON, [] / map[]
-- / <nil> in a template, as with Docker).

local function template() return require "mdlua.template" end

local function list_or_nil(t)
  if type(t) ~= "table" or #t == 0 then return template().nil_list end
  return json.array({ table.unpack(t) })
end

-- "net_admin" -> "CAP_NET_ADMIN", as Docker's daemon normalises --cap-add and --cap-drop.
local function cap_names(list)
  if type(list) ~= "table" or #list == 0 then return template().nil_list end
  local out = json.array()
  for i, c in ipairs(list) do
    c = c:upper()
    out[i] = (c == "ALL" or c:match("^CAP_")) and c or "CAP_" .. c
  end
  return out
end

-- The path of the block device major:minor, from sysfs (the spec keeps the numbers only).
local function block_device_path(major, minor)
  local f = io.open(("/sys/dev/block/%d:%d/uevent"):format(major, minor))
  local name = f and f:read("a"):match("DEVNAME=([^\n]+)")
  if f then f:close() end
  return name and "/dev/" .. name or ("%d:%d"):format(major, minor)
end

local function throttles(list, rate_key)
  local out = json.array()
  for i, d in ipairs(list or {}) do out[i] = { Path = block_device_path(d.major, d.minor), [rate_key] = d.rate } end
  return out
end

-- --tmpfs PATH[:OPTIONS] as Docker keeps it: path -> the options given ("" for none).
local function tmpfs_map(given, mounts)
  local out = {}
  if type(given) == "table" then
    for _, t in ipairs(given) do
      local path, opts = t:match("^([^:]+):?(.*)$")
      if path then out[path] = opts end
    end
  else
    -- Records from before the flags were kept: the spec's tmpfs mounts past /dev and /dev/shm.
    for _, m in ipairs(mounts or {}) do
      if m.type == "tmpfs" and m.destination ~= "/dev" and m.destination ~= "/dev/shm" then
        out[m.destination] = table.concat(m.options or {}, ",")
      end
    end
  end
  if next(out) == nil then return template().nil_map end
  return out
end

-- Spec rlimits to Docker's Ulimits: {Name="nofile", Soft=, Hard=}.
local function ulimits(rlimits)
  if type(rlimits) ~= "table" or #rlimits == 0 then return template().nil_list end
  local out = json.array()
  for i, r in ipairs(rlimits) do
    out[i] = { Name = tostring(r.type):gsub("^RLIMIT_", ""):lower(), Soft = r.soft, Hard = r.hard }
  end
  return out
end

-- Docker keeps health-check durations in nanoseconds; the spec's annotation has seconds.
local function healthcheck(hc)
  if type(hc) ~= "table" then return nil end
  local function ns(s) return s and math.tointeger(math.floor(s * 1e9 + 0.5)) or nil end
  return { Test = json.array({ table.unpack(hc.test or {}) }), Interval = ns(hc.interval), Timeout = ns(hc.timeout), StartPeriod = ns(hc.start_period),
           Retries = hc.retries }
end

-- Config.Env as Docker shows it: what the image and the flags set. The spec also carries
-- the HOSTNAME, HOME=/root and (with -t) TERM=xterm that mdlua adds for the process, as
-- Docker's runtime does without listing them in the config (spec.lua, M.environment and
-- M.build); the image's own stay (the same given with -e are taken for mdlua's).
local function config_env(env, hostname, image_env, tty)
  local image_has = {}
  for _, kv in ipairs(image_env or {}) do image_has[kv:match("^[^=]*")] = true end
  local added = { ["HOSTNAME=" .. tostring(hostname)] = "HOSTNAME", ["HOME=/root"] = "HOME",
                  ["TERM=xterm"] = tty and "TERM" or nil }
  local out = json.array()
  for _, kv in ipairs(env or {}) do
    local name = added[kv]
    if not name or image_has[name] then out[#out + 1] = kv end
  end
  return out
end

-- linux.resources to Docker's limits. --cpus writes a quota with the period 100000
-- (spec.lua, M.resources), shown as NanoCpus with CpuQuota and CpuPeriod 0, as Docker shows
-- --cpus; --cpu-quota with --cpu-period 100000 sets the same limit and reads back the same.
local function resources(res)
  local mem, cpu, pids, blk = res.memory or {}, res.cpu or {}, res.pids, res.blockIO or {}
  local r = {
    Memory = mem.limit and mem.limit > 0 and mem.limit or 0,
    MemorySwap = mem.swap or 0,
    MemoryReservation = mem.reservation or 0,
    OomKillDisable = mem.disableOOMKiller == true,
    CpuShares = cpu.shares or 0,
    CpusetCpus = cpu.cpus or "", CpusetMems = cpu.mems or "",
    NanoCpus = 0, CpuQuota = cpu.quota or 0, CpuPeriod = cpu.period or 0,
    PidsLimit = pids and pids.limit or json.null,
    BlkioWeight = blk.weight or 0,
    BlkioWeightDevice = json.array(),
    BlkioDeviceReadBps = throttles(blk.throttleReadBpsDevice, "Rate"),
    BlkioDeviceWriteBps = throttles(blk.throttleWriteBpsDevice, "Rate"),
    BlkioDeviceReadIOps = throttles(blk.throttleReadIOPSDevice, "Rate"),
    BlkioDeviceWriteIOps = throttles(blk.throttleWriteIOPSDevice, "Rate"),
  }
  if cpu.period == 100000 and cpu.quota and cpu.quota > 0 then
    r.NanoCpus, r.CpuQuota, r.CpuPeriod = math.tointeger(cpu.quota * 10000), 0, 0
  end
  return r
end

-- Docker's Mounts: the volumes and bind mounts (and --mount tmpfs) of the user's
-- (config.mounts, spec.lua), in the order they are mounted.
local function inspect_mounts(list)
  local out = json.array()
  for _, m in ipairs(list or {}) do
    local rw = m.readonly ~= true
    if m.type == "volume" then
      out[#out + 1] = { Type = "volume", Name = m.source, Source = md.config.root .. "/volumes/" .. tostring(m.source) .. "/_data",
                        Destination = m.destination, Driver = "local", Mode = rw and "z" or "ro", RW = rw, Propagation = "" }
    elseif m.type == "bind" then
      out[#out + 1] = { Type = "bind", Source = m.source, Destination = m.destination, Mode = rw and "" or "ro", RW = rw,
                        Propagation = (m.propagation and m.propagation ~= "") and m.propagation or "rprivate" }
    else
      out[#out + 1] = { Type = m.type, Source = "", Destination = m.destination, Mode = "", RW = rw, Propagation = "" }
    end
  end
  return out
end

-- The writable layer's size in bytes (the container's upper dir), as Docker's SizeRw.
function Container:size_rw() return md.fs.size(self:dir() .. "/upper") end

-- o.size: SizeRw and SizeRootFs (the writable layer, and it with the image), as
-- `docker inspect --size`.
function Container:inspect(o)
  local c = self
  local tpl = template()
  -- A dead container may have lost its config.json with the rest of its files.
  local ok, spec = pcall(c.spec, c)
  if not ok then
    spec = { process = { args = json.array(), env = json.array(), cwd = "/" }, annotations = {}, root = {} }
  end
  local config = c.config
  local ann = spec.annotations or {}
  local linux = spec.linux or {}
  local process = spec.process or {}
  local args = process.args or {}
  local running = c.status == "running"
  local image_cfg = {}
  local image_ok, image = pcall(md.image.get, c.image)
  if image_ok then
    local okc, cfg = pcall(image.config, image)
    image_cfg = okc and type(cfg) == "table" and cfg.config or {}
  end

  -- The command: the entrypoint part, kept by create, and the rest (Docker's Cmd).
  local entrypoint = config.entrypoint or {}
  local cmd = json.array({ table.unpack(args, #entrypoint + 1) })

  local namespaces = {}
  for _, ns in ipairs(linux.namespaces or {}) do namespaces[ns.type] = true end
  local network = (config.network or "") ~= "" and config.network or (namespaces.network and "none" or "host")
  local restart = config.restart or "no"
  local privileged = config.privileged
  local labels = {}
  for k, v in pairs(image_cfg.Labels or {}) do labels[k] = v end
  for k, v in pairs(c.labels) do labels[k] = v end
  local log_config = { ["max-size"] = tostring(config.log_max_size or 10485760),
                       ["max-file"] = tostring(config.log_max_file or 3) }
  local cgroup_parent = ann["io.mdlua.cgroup-parent"]

  local host_config = {
    Binds = list_or_nil(config.volumes), ContainerIDFile = "", LogConfig = { Type = "json-file", Config = log_config },
    NetworkMode = network, PortBindings = (function()
      local pb = {}
      for _, p in ipairs(network ~= "none" and network ~= "host" and require("mdlua.container_network").ports(c) or {}) do
        local key = p.container_port .. "/" .. p.proto
        pb[key] = pb[key] or json.array()
        pb[key][#pb[key] + 1] = { HostIp = p.host_ip, HostPort = tostring(p.host_port) }
      end
      return pb
    end)(),
    RestartPolicy = { Name = restart:match("^[%a-]+") or "no", MaximumRetryCount = tonumber(restart:match(":(%d+)$")) or 0 },
    AutoRemove = config.rm == true, VolumeDriver = "", VolumesFrom = list_or_nil(config.volumes_from),
    ConsoleSize = json.array({ 0, 0 }), CapAdd = cap_names(config.cap_add), CapDrop = cap_names(config.cap_drop),
    CgroupnsMode = namespaces.cgroup and "private" or "host", Dns = json.array({ table.unpack(config.dns or {}) }),
    DnsOptions = json.array({ table.unpack(config.dns_option or {}) }),
    DnsSearch = json.array({ table.unpack(config.dns_search or {}) }), ExtraHosts = tpl.nil_list, GroupAdd = tpl.nil_list, IpcMode = "private", Cgroup = "",
    Links = tpl.nil_list, OomScoreAdj = 0, PidMode = "", Privileged = privileged == true, PublishAllPorts = false,
    ReadonlyRootfs = (spec.root or {}).readonly == true, SecurityOpt = list_or_nil(config.security_opt),
    StorageOpt = next(config.storage_opt or {}) and config.storage_opt or nil,
    Tmpfs = tmpfs_map(config.tmpfs, spec.mounts), UTSMode = "", UsernsMode = "", ShmSize = 65536 * 1024,
    Runtime = "mdlua", Isolation = "", CgroupParent = (cgroup_parent and cgroup_parent ~= "mdlua") and cgroup_parent or "",
    CpuRealtimePeriod = 0, CpuRealtimeRuntime = 0, Devices = json.array(), DeviceCgroupRules = tpl.nil_list,
    DeviceRequests = tpl.nil_list, MemorySwappiness = json.null, Ulimits = ulimits(process.rlimits),
    CpuCount = 0, CpuPercent = 0, IOMaximumIOps = 0, IOMaximumBandwidth = 0,
    MaskedPaths = json.array({ table.unpack(linux.maskedPaths or {}) }),
    ReadonlyPaths = json.array({ table.unpack(linux.readonlyPaths or {}) }),
    -- Docker's Init is a pointer: set by --init, nil without it.
    Init = ann["io.mdlua.init"] == "true" or nil,
  }
  for k, v in pairs(resources(linux.resources or {})) do host_config[k] = v end

  local interactive = config.interactive == true
  local attached = not config.detach
  local dir = c:dir()
  -- A size-limited writable layer is on its own file system (WritableLayer.swift).
  local layer = next(config.storage_opt or {}) and dir .. "/layer" or dir
  local lowers = { md.config.root .. "/mountpoints" }
  if image_ok then
    for i = #(image.layers or {}), 1, -1 do
      local okp, p = pcall(md.layer.path, image.layers[i])
      if okp then lowers[#lowers + 1] = p end
    end
  end
  local doc = {
    Id = c.id,
    Created = c.created,
    Path = args[1] or "",
    Args = json.array({ table.unpack(args, 2) }),
    State = {
      Status = c.status, Running = running, Paused = c.status == "paused", Restarting = c.status == "restarting",
      OOMKilled = c.oom_killed, Dead = c.status == "dead", Pid = running and c.pid or 0, ExitCode = c.exit_code, Error = c.error,
      StartedAt = c.started_at ~= "" and c.started_at or "0001-01-01T00:00:00Z",
      FinishedAt = c.finished_at ~= "" and c.finished_at or "0001-01-01T00:00:00Z",
      Health = (function()
        -- (c.health: a table, or nil without a check; container.lua, decorate)
        if type(c.health) == "table" then return c.health end
      end)(),
    },
    Image = c.image,
    ResolvConfPath = dir .. "/resolv.conf", HostnamePath = dir .. "/hostname", HostsPath = dir .. "/hosts",
    LogPath = dir .. "/container.log",
    Name = "/" .. c.name,
    RestartCount = c.restart_count,
    Driver = "overlay", Platform = "linux", MountLabel = "", ProcessLabel = "", AppArmorProfile = "",
    ExecIDs = tpl.nil_list,
    HostConfig = host_config,
    GraphDriver = { Name = "overlay", Data = { LowerDir = table.concat(lowers, ":"), MergedDir = dir .. "/rootfs",
                                              UpperDir = layer .. "/upper", WorkDir = layer .. "/work" } },
    -- Docker lists volumes and bind mounts here; --tmpfs is in HostConfig.Tmpfs.
    Mounts = inspect_mounts(config.mounts),
    Config = {
      Hostname = spec.hostname or "", Domainname = "", User = ann["io.mdlua.user"] or "",
      AttachStdin = attached and interactive, AttachStdout = attached, AttachStderr = attached,
      ExposedPorts = image_cfg.ExposedPorts, Tty = process.terminal == true, OpenStdin = interactive,
      StdinOnce = attached and interactive, Env = config_env(process.env, spec.hostname, image_cfg.Env, process.terminal == true),
      Cmd = cmd, Healthcheck = healthcheck(config.healthcheck), Image = c.image_name,
      Volumes = image_cfg.Volumes or json.null, WorkingDir = process.cwd or "/",
      Entrypoint = #entrypoint > 0 and json.array({ table.unpack(entrypoint) }) or tpl.nil_list,
      OnBuild = tpl.nil_list, Labels = labels, StopSignal = config.stop_signal,
    },
    NetworkSettings = require("mdlua.container_network").settings(c, network),
  }
  if o and o.size then
    doc.SizeRw = c:size_rw()
    doc.SizeRootFs = doc.SizeRw + (image_ok and image.size or 0)
  end
  return doc
end

-- Before a container is created and started in the foreground: its network namespace is
-- made meanwhile, on a thread of the engine (the kernel takes ~1 ms for one).
function M.prepare_network(o)
  if type(o) == "table" and o.network ~= "host" and not (o.network or ""):match("^container:") and not o.detach then
    runtime.prepare_network()
  end
end

-- md.run: create, start in the foreground, and remove with rm=true whatever happened.
-- The result has the container as `container` (not with rm: it is gone).
function M.run(o)
  M.prepare_network(o)
  local c = M.create(o, "md.run", 4, true)
  local ok, r = pcall(c.start, c, { tty = o.tty, stdin = o.interactive, capture = o.capture })
  if o.rm then pcall(c.rm, c, { force = true }) end
  if not ok then error(r, 0) end
  r.id = c.id
  r.name = c.name
  if not o.rm then r.container = c end
  return r
end

-- md.exec(ref, o) and md.commit(ref, o): c:exec and c:commit of the container `ref` (a
-- name, an ID or a container object).
function M.exec(ref, o) return M.get(ref):exec(o) end
function M.commit(ref, o) return M.get(ref):commit(o) end

return M
