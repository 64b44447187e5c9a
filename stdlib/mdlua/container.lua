-- md.run and md.container: containers from Lua.
--   md.run{image="busybox", cmd={"sh","-c","echo hi"}, env={A="1"}, workdir="/tmp",
--          user="nobody", rm=true, capture=true}  -> { exit_code=0, stdout="hi\n", stderr="" }
--   md.container.create{...same fields...}        -> a container object (not started)
--   c:start{capture=true}, c:rm{force=true}, c:export(path), md.container.get(name|id)
--   c:stop(), c:kill(), c:wait(), c:logs(), c:exec{...}, c:inspect(), c:commit(), c:attach()
--   md.containers{all=true}                        -> container objects, newest first
local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local spec = require "mdlua.spec"

local M = {}
local runtime = md._runtime

local function root() return md.config.root end

local Container = {}
Container.__index = Container
Container.__name = "mdlua.container"
function Container:__tostring() return ("container %s (%s, %s)"):format(self.id:sub(1, 12), self.name, self.status) end
local function wrap(r) return setmetatable(r, Container) end

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

-- The fields md.run and md.container.create accept, with the type each must have.
local fields = { health = "table", resources = "table", cgroup_parent = "string", cgroupns = "string", label = "table", detach = "boolean", restart = "string", log_opt = "table", image = "string", cmd = "table", entrypoint = "string", env = "table", env_file = "table",
  workdir = "string", user = "string", hostname = "string", name = "string", init = "boolean", read_only = "boolean",
  tmpfs = "table", cap_add = "table", cap_drop = "table", privileged = "boolean", security_opt = "table",
  network = "string", ulimit = "table", stop_signal = "string", tty = "boolean", interactive = "boolean",
  rm = "boolean", capture = "boolean" }

-- `level` points the error at the caller's line.
local function check_options(o, fn, level)
  if type(o) ~= "table" then error(fn .. ": expected a table of options", level) end
  for k, v in pairs(o) do
    local want = fields[k]
    if not want then error(("%s: unknown field %q"):format(fn, tostring(k)), level) end
    if type(v) ~= want then error(("%s: field %q must be a %s, got %s"):format(fn, k, want, type(v)), level) end
  end
  if not o.image then error(fn .. ": field \"image\" is required", level) end
  -- env may be a map {A="1"} or a list {"A=1"}.
  if o.env and #o.env == 0 and next(o.env) then
    local list = {}
    for k, v in pairs(o.env) do list[#list + 1] = k .. "=" .. tostring(v) end
    table.sort(list)
    o.env = list
  end
  if o.network and o.network ~= "none" and o.network ~= "host" then
    errors.fail(("invalid --network %q: expected none or host (bridge networking is not there yet)"):format(o.network))
  end
end

-- `starting`: this process starts the container in the foreground right after (run): the
-- record names it as the monitor from the start (docs/containers.md, "Supervision").
function M.create(o, fn, level, starting)
  check_options(o, fn or "md.container.create", level or 3)
  local image = md.image.get(o.image)
  md.sys.trace("create: image found")
  local id = random_hex(64)
  local s, files = spec.build(image:config().config, o, id, runtime.path(root(), id))
  md.sys.trace("create: spec built")
  local extra = { image_ref = o.image, tty = o.tty == true, interactive = o.interactive == true, rm = o.rm == true,
                  detach = o.detach == true, labels = (function()
                    local l = {}
                    for _, kv in ipairs(o.label or {}) do
                      local k, v = kv:match("^([^=]+)=?(.*)$")
                      if not k then errors.fail(("invalid --label %q"):format(kv)) end
                      l[k] = v
                    end
                    return l
                  end)() }
  local args = { id = id, image = image.id, image_name = o.image, spec = json.encode(s), command = s.process.args,
                 files = files, extra = json.encode(extra), ephemeral = o.rm == true, starting = starting == true }
  if o.name then
    args.name = o.name
    return wrap(runtime.create(root(), args))
  end
  for attempt = 0, 6 do
    args.name = generated_name(id, attempt)
    local ok, r = pcall(runtime.create, root(), args)
    if ok then return wrap(r) end
    if not tostring(r):find("already in use", 1, true) or attempt == 6 then error(r, 0) end
  end
end

function M.get(ref) return wrap(runtime.get(root(), ref)) end

function M.list()
  local out = {}
  for i, r in ipairs(runtime.list(root())) do out[i] = wrap(r) end
  return out
end

-- Runs the container in the foreground. opts: tty, stdin (attach stdin), capture.
function Container:start(opts)
  opts = opts or {}
  local r, record = runtime.start(root(), self.id, { tty = opts.tty, stdin = opts.stdin, capture = opts.capture })
  for k, v in pairs(record) do self[k] = v end
  return r
end

function Container:rm(opts) return runtime.remove(root(), self.id, opts and opts.force) end

local signals = require "mdlua.signals"

local function refresh(self)
  for k, v in pairs(runtime.get(root(), self.id)) do self[k] = v end
  return self
end

-- Starts the container in the background under its monitor.
function Container:start_detached()
  local ok, err, status = runtime.start_detached(root(), self.id)
  refresh(self)
  return ok, err, status
end

function Container:stop(opts)
  opts = opts or {}
  local sig = opts.signal
  if not sig then
    -- A damaged spec does not keep the container running: SIGTERM, and a word about the file.
    local ok, spec_ = pcall(self.config, self)
    if not ok then io.stderr:write("mdlua: warning: ", errors.message(spec_), "; stopping with SIGTERM\n") end
    sig = ok and spec_.annotations and spec_.annotations["io.mdlua.stop-signal"] or "SIGTERM"
  end
  sig = signals.parse(sig)
  runtime.stop(root(), self.id, opts.timeout or 10, sig)
  return refresh(self)
end

function Container:kill(sig) runtime.signal(root(), self.id, signals.parse(sig or "SIGKILL")); return self end
function Container:wait() return runtime.wait(root(), self.id) end

-- Runs a command in the running container: c:exec{"ls", "/"} or
-- c:exec{cmd={"ls"}, env={"A=1"}, user="nobody", workdir="/tmp", capture=true}.
function Container:exec(o)
  if type(o) ~= "table" then error("exec: expected a table", 2) end
  local args = o.cmd or { table.unpack(o) }
  if #args == 0 then error("exec: no command given", 2) end
  return runtime.exec(root(), self.id, { args = args, env = o.env, user = o.user, workdir = o.workdir, tty = o.tty,
                                         stdin = o.interactive, capture = o.capture, detach = o.detach,
                                         detach_keys = o.detach_keys })
end
-- Attaches to a detached container: its output from now on, and (stdin=true) this
-- process's input as its stdin. Returns {exit_code=} when it stops, {detached=true} after
-- Ctrl-P Ctrl-Q on a terminal.
function Container:attach(o)
  local r = runtime.attach(root(), self.id, { stdin = o and o.stdin, detach_keys = o and o.detach_keys })
  if not r.removed then refresh(self) end   -- (--rm: its monitor removed it when it ended)
  return r
end
function Container:dir() return root() .. "/containers/" .. self.id end
-- Copies between the host and the container: c:copy_from("/etc/hosts", "/tmp/h"),
-- c:copy_to("/tmp/file", "/srv/"); host "-" is a tar stream on stdout or stdin. o:
-- {archive=true} keeps the owners (cp -a), {follow_link=true} follows a symlink named as
-- the source (cp -L).
function Container:copy_from(path, host, o) runtime.copy(root(), self.id, path, host, false, o) end
function Container:copy_to(host, path, o) runtime.copy(root(), self.id, path, host, true, o) end

function Container:pause() runtime.pause(root(), self.id, true); return refresh(self) end
function Container:unpause() runtime.pause(root(), self.id, false); return refresh(self) end
function Container:stats() return runtime.stats(root(), self.id) end
-- Changes limits, live: c:update{memory="128m", cpus=1, pids_limit=50}
function Container:update(o)
  local res = spec.resources(o)
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
  o = o or {}
  local image = md.image.get(self.image)
  local cfg = image:config()
  local spec_ = self:config()
  local extra = json.decode(self.extra)
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
  conf.Labels = next(extra.labels or {}) and extra.labels or conf.Labels
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
  local tail = o and o.tail
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
function Container:config()
  local path = root() .. "/containers/" .. self.id .. "/config.json"
  local ok, r = pcall(function() return json.decode(md.fs.read(path)) end)
  if ok and type(r) == "table" then return r end
  errors.fail(("container %s (%s): its runtime spec %s is damaged: %s"):format(self.name, self.id:sub(1, 12), path,
    ok and "not a JSON object" or errors.message(r)))
end

-- Docker's container inspect document, with Docker's field names where they exist.
function Container:inspect()
  local c = self
  -- A dead container may have lost its config.json with the rest of its files.
  local ok, spec = pcall(c.config, c)
  if not ok then
    spec = { process = { args = json.array(), env = json.array(), cwd = "/" }, annotations = { ["io.mdlua.restart"] = "no" },
             root = {} }
  end
  local extra = json.decode(c.extra)
  local running = c.status == "running"
  return {
    Id = c.id,
    Created = c.created,
    Path = spec.process.args[1] or "",
    Args = json.array({ table.unpack(spec.process.args, 2) }),
    State = {
      Status = c.status, Running = running, Paused = c.status == "paused", Restarting = c.status == "restarting",
      OOMKilled = c.oom_killed, Dead = c.status == "dead", Pid = running and c.pid or 0, ExitCode = c.exit_code, Error = c.error,
      StartedAt = c.started_at ~= "" and c.started_at or "0001-01-01T00:00:00Z",
      FinishedAt = c.finished_at ~= "" and c.finished_at or "0001-01-01T00:00:00Z",
      Health = (function()
        local ok, h = pcall(json.decode, c.health or "null")
        if ok and type(h) == "table" then return h end
      end)(),
    },
    Image = c.image,
    Name = "/" .. c.name,
    RestartCount = c.restart_count,
    Config = {
      Hostname = spec.hostname, User = spec.annotations["io.mdlua.user"] or "", Tty = spec.process.terminal,
      OpenStdin = extra.interactive or false, Env = spec.process.env, Cmd = spec.process.args, Image = c.image_name,
      WorkingDir = spec.process.cwd, StopSignal = spec.annotations["io.mdlua.stop-signal"],
      Healthcheck = spec.annotations["io.mdlua.healthcheck"] and json.decode(spec.annotations["io.mdlua.healthcheck"]) or nil,
    },
    HostConfig = {
      AutoRemove = extra.rm or false, ReadonlyRootfs = spec.root.readonly or false,
      RestartPolicy = { Name = spec.annotations["io.mdlua.restart"]:match("^[%a-]+"),
                        MaximumRetryCount = tonumber(spec.annotations["io.mdlua.restart"]:match(":(%d+)$")) or 0 },
      Init = spec.annotations["io.mdlua.init"] == "true", CapAdd = json.array(), CapDrop = json.array(),
      NetworkMode = "none",
    },
    Mounts = json.array(),
    NetworkSettings = { Networks = {} },
    LogPath = c:dir() .. "/container.log",
  }
end

-- md.containers{all=true}: the running containers (all of them with all=true), newest first.
function M.containers(o)
  local out = {}
  for _, c in ipairs(M.list()) do
    if (o and o.all) or c.status == "running" or c.status == "restarting" or c.status == "paused" then out[#out + 1] = c end
  end
  table.sort(out, function(a, b) return a.created > b.created end)
  return out
end

-- Before a container is created and started in the foreground: its network namespace is
-- made meanwhile, on a thread of the engine (the kernel takes ~1 ms for one).
function M.prepare_network(o)
  if type(o) == "table" and o.network ~= "host" and not o.detach then runtime.prepare_network() end
end

-- md.run: create, start in the foreground, and remove with rm=true whatever happened.
function M.run(o)
  M.prepare_network(o)
  local c = M.create(o, "md.run", 4, true)
  local ok, r = pcall(c.start, c, { tty = o.tty, stdin = o.interactive, capture = o.capture })
  if o.rm then pcall(c.rm, c, { force = true }) end
  if not ok then error(r, 0) end
  r.id = c.id
  r.name = c.name
  return r
end

return M
