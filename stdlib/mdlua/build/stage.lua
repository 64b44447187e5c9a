-- A build stage as a value: a base (an image, or scratch) and a list of steps, each
-- described before anything runs. Every method returns a new stage (the receiver is left as
-- it was), so a stage can be shared, branched and passed around like any Lua value; the
-- executor (build/executor.lua) runs the steps. Each step remembers the line of the script
-- that added it, for errors and progress.
local errors = require "mdlua.errors"

local M = {}

local Stage = {}
Stage.__index = Stage
Stage.__name = "mdlua.build.stage"
M.Stage = Stage

function Stage:__tostring()
  return ("build stage %s (%d steps)"):format(self.name or self.base, #self.steps)
end

function M.is(v) return getmetatable(v) == Stage end

-- "script.lua:12" of the code that called the method (level 3: the method's caller).
local function where(level)
  local info = debug.getinfo(level or 3, "Sl")
  if info and info.currentline and info.currentline > 0 then return ("%s:%d"):format(info.short_src, info.currentline) end
  return "?"
end
M.where = where

local function bad(method, msg)
  errors.raise("invalid_argument", ("stage:%s: %s"):format(method, msg), 3)
end

function M.new(base, o)
  o = o or {}
  return setmetatable({ base = base, steps = {}, name = o.name, where = o.where or where(4), platform = o.platform }, Stage)
end

-- A new stage: this one's steps plus `step`.
local function add(self, step)
  local n = setmetatable({}, Stage)
  for k, v in pairs(self) do n[k] = v end
  n.steps = { table.unpack(self.steps) }
  step.where = step.where or where(3)
  n.steps[#n.steps + 1] = step
  return n
end
M.add = add

local function strings(method, v, what)
  if type(v) ~= "table" then bad(method, ("expected %s (a list of strings), got %s"):format(what, type(v))) end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" then bad(method, ("%s[%d] is a %s, not a string"):format(what, i, type(s))) end
    out[i] = s
  end
  return out
end

-- A map {K = V} or a list {"K=V"} as a sorted list of { key, value }.
local function pairs_of(method, t)
  if type(t) ~= "table" then bad(method, "expected a table of KEY = VALUE") end
  local out = {}
  if #t > 0 then
    for _, kv in ipairs(t) do
      local k, v = tostring(kv):match("^([^=]+)=(.*)$")
      if not k then bad(method, ("expected KEY=VALUE, got %q"):format(tostring(kv))) end
      out[#out + 1] = { k, v }
    end
  else
    for k, v in pairs(t) do out[#out + 1] = { tostring(k), tostring(v) } end
    table.sort(out, function(a, b) return a[1] < b[1] end)
  end
  return out
end

-- A command: a string (run by the stage's shell) or a list (exec form).
local function command(method, cmd)
  if type(cmd) == "string" then return { shell = cmd } end
  return { exec = strings(method, cmd, "the command") }
end

-- RUN. o: env (a map or list, for this step only).
function Stage:run(cmd, o)
  o = errors.check_options(o, "stage:run", { "env", "mounts", "secrets", "network" })
  if o.mounts and next(o.mounts) then bad("run", "mounts are not supported yet") end
  if o.secrets and next(o.secrets) then bad("run", "secrets are not supported yet") end
  if o.network ~= nil and o.network ~= "none" and o.network ~= "host" then bad("run", "network: expected none or host") end
  local step = command("run", cmd)
  step.kind = "run"
  step.env = o.env and pairs_of("run", o.env) or nil
  step.network = o.network
  return add(self, step)
end

-- COPY: `from` is a context (md.build.context) or another stage; `src` a path or a list
-- of paths in it (globs: * ? [...] in the last component); `dst` a path in this stage.
function Stage:copy(from, src, dst, o)
  o = errors.check_options(o, "stage:copy", { "chown", "chmod" })
  local kind = getmetatable(from) and getmetatable(from).__name
  if kind ~= "mdlua.build.context" and kind ~= "mdlua.build.stage" then
    bad("copy", "the source must be a context (md.build.context) or a stage")
  end
  local srcs = type(src) == "string" and { src } or strings("copy", src, "the source paths")
  if #srcs == 0 then bad("copy", "no source path") end
  if type(dst) ~= "string" or dst == "" then bad("copy", "expected a destination path") end
  if o.chmod ~= nil and (type(o.chmod) ~= "string" or not o.chmod:match("^[0-7][0-7][0-7][0-7]?$")) then
    bad("copy", ("invalid chmod %s: expected an octal mode as a string (\"755\")"):format(tostring(o.chmod)))
  end
  if o.chown ~= nil and type(o.chown) ~= "string" then bad("copy", "chown: expected USER[:GROUP]") end
  return add(self, { kind = "copy", from = from, srcs = srcs, dst = dst, chown = o.chown, chmod = o.chmod })
end

local function config_step(name, check)
  Stage[name] = function(self, v, ...)
    local step = { kind = name, value = check(v, ...) }
    return add(self, step)
  end
end

config_step("env", function(v) return pairs_of("env", v) end)
config_step("label", function(v) return pairs_of("label", v) end)
config_step("workdir", function(v)
  if type(v) ~= "string" or v == "" then bad("workdir", "expected a path") end
  return v
end)
config_step("user", function(v)
  if type(v) ~= "string" or v == "" then bad("user", "expected USER[:GROUP]") end
  return v
end)
config_step("expose", function(...)
  local out = {}
  for _, p in ipairs(type(...) == "table" and ... or { ... }) do
    p = tostring(p)
    if not (p:match("^%d+$") or p:match("^%d+/%a+$") or p:match("^%d+%-%d+$") or p:match("^%d+%-%d+/%a+$")) then
      bad("expose", ("invalid port %q: expected PORT[/PROTO]"):format(p))
    end
    out[#out + 1] = p:find("/", 1, true) and p:lower() or p .. "/tcp"
  end
  return out
end)
config_step("entrypoint", function(v) return command("entrypoint", v) end)
config_step("cmd", function(v) return command("cmd", v) end)
config_step("shell", function(v) return strings("shell", v, "the shell") end)
config_step("stopsignal", function(v)
  if type(v) ~= "string" and math.type(v) ~= "integer" then bad("stopsignal", "expected a signal name or number") end
  return tostring(v)
end)
config_step("volume", function(...)
  local out = {}
  for _, p in ipairs(type(...) == "table" and ... or { ... }) do
    if type(p) ~= "string" or p == "" then bad("volume", "expected paths") end
    out[#out + 1] = p
  end
  return out
end)
-- HEALTHCHECK: { "cmd", "arg" } (exec form), { shell = "..." }, or { none = true };
-- interval, timeout, start_period (durations: "30s"), retries.
config_step("healthcheck", function(v)
  if type(v) ~= "table" then bad("healthcheck", "expected a table") end
  if v.none then return { none = true } end
  local h = {}
  if v.shell then h.test = { "CMD-SHELL", v.shell }
  else
    local cmd = strings("healthcheck", { table.unpack(v) }, "the command")
    if #cmd == 0 then bad("healthcheck", "expected a command") end
    h.test = { "CMD", table.unpack(cmd) }
  end
  for _, k in ipairs { "interval", "timeout", "start_period" } do
    if v[k] ~= nil then
      if type(v[k]) ~= "string" or not v[k]:match("^[%d.]+[a-z]+") then bad("healthcheck", k .. ": expected a duration (30s)") end
      h[k] = v[k]
    end
  end
  if v.retries ~= nil then
    if math.type(v.retries) ~= "integer" then bad("healthcheck", "retries: expected an integer") end
    h.retries = v.retries
  end
  return h
end)
-- ARG: a build argument with its default; RUN steps see it in their environment.
config_step("arg", function(name, default)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then bad("arg", "expected a name") end
  if default ~= nil and type(default) ~= "string" then bad("arg", "the default must be a string") end
  return { name = name, default = default }
end)

-- Names this stage's image: built when the script ends (or at once by build()).
function Stage:tag(name)
  if type(name) ~= "string" or name == "" then bad("tag", "expected NAME[:TAG]") end
  local n = setmetatable({}, Stage)
  for k, v in pairs(self) do n[k] = v end
  n.tags = { table.unpack(self.tags or {}) }
  n.tags[#n.tags + 1] = name
  require("mdlua.build").pending(n)
  return n
end

-- Names the stage (a Dockerfile's FROM ... AS name; progress shows it).
function Stage:as(name)
  local n = setmetatable({}, Stage)
  for k, v in pairs(self) do n[k] = v end
  n.name = name
  return n
end

-- Builds it now; o as md.build.run's. Returns the image.
function Stage:build(o)
  return require("mdlua.build").run(self, o)
end

return M
