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
-- (Methods call it in a tail call, so level 3 is the code that called the method.)
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

-- A RUN's mounts, each checked and made a table of its own: cache (a directory kept
-- between builds), bind (a context's or a stage's files, read-only; rw: a copy whose writes
-- are thrown away), secret (a file given to the build, at /run/secrets/ID), tmpfs, file
-- (inline content, read-only), ssh (an SSH agent given to the build). `{ src, "/target" }`
-- is a bind of a context's or a stage's whole tree.
local mount_keys = {
  cache = { type = true, target = true, id = true, sharing = true, mode = true, uid = true, gid = true, readonly = true },
  bind = { type = true, target = true, from = true, source = true, rw = true },
  secret = { type = true, target = true, id = true, required = true, mode = true, uid = true, gid = true },
  tmpfs = { type = true, target = true, size = true },
  file = { type = true, target = true, content = true, mode = true },
  ssh = { type = true, target = true, id = true, required = true },
}

local function source_kind(v)
  local mt = getmetatable(v)
  return mt and (mt.__name == "mdlua.build.context" or mt.__name == "mdlua.build.stage") and mt.__name or nil
end

local function mount(i, m, ssh_index)
  if type(m) ~= "table" then bad("run", ("mounts[%d]: expected a table"):format(i)) end
  if m[1] ~= nil then
    if not source_kind(m[1]) or type(m[2]) ~= "string" then
      bad("run", ("mounts[%d]: expected { context or stage, \"/target\" }"):format(i))
    end
    m = { type = "bind", from = m[1], target = m[2] }
  end
  local kind = m.type or "bind"
  local keys = mount_keys[kind]
  if not keys then bad("run", ("mounts[%d]: type %s: expected cache, bind, secret, tmpfs, file or ssh"):format(i, tostring(kind))) end
  local out = { type = kind }
  for k, v in pairs(m) do
    if not keys[k] then bad("run", ("mounts[%d]: a %s mount takes no %s"):format(i, kind, tostring(k))) end
    out[k] = v
  end
  if kind == "secret" then
    if type(out.id) ~= "string" or not out.id:match("^[%w_.-]+$") then bad("run", ("mounts[%d]: a secret needs an id ([A-Za-z0-9_.-])"):format(i)) end
    out.target = out.target or ("/run/secrets/" .. out.id)
  elseif kind == "ssh" then
    out.id = out.id or "default"
    if type(out.id) ~= "string" or not out.id:match("^[%w_.-]+$") then bad("run", ("mounts[%d]: id: expected [A-Za-z0-9_.-]"):format(i)) end
    out.target = out.target or ("/run/buildkit/ssh_agent." .. (ssh_index or 0))
  end
  if type(out.target) ~= "string" or out.target:sub(1, 1) ~= "/" then
    bad("run", ("mounts[%d]: target: expected an absolute path"):format(i))
  end
  for part in out.target:gmatch("[^/]+") do
    if part == ".." then bad("run", ("mounts[%d]: target %s holds .."):format(i, out.target)) end
  end
  if out.target:match("^/+$") then bad("run", ("mounts[%d]: target cannot be /"):format(i)) end
  if out.required ~= nil and type(out.required) ~= "boolean" then bad("run", ("mounts[%d]: required: expected a boolean"):format(i)) end
  if kind == "cache" then
    out.id = out.id or out.target
    if type(out.id) ~= "string" or out.id == "" then bad("run", ("mounts[%d]: id: expected a string"):format(i)) end
    if out.readonly ~= nil and type(out.readonly) ~= "boolean" then bad("run", ("mounts[%d]: readonly: expected a boolean"):format(i)) end
    out.readonly = out.readonly or nil
    out.sharing = out.sharing or "shared"
    if out.sharing ~= "shared" and out.sharing ~= "private" and out.sharing ~= "locked" then
      bad("run", ("mounts[%d]: sharing=%s: expected shared, private or locked"):format(i, tostring(out.sharing)))
    end
  elseif kind == "bind" then
    if not source_kind(out.from) then bad("run", ("mounts[%d]: from: expected a context (md.build.context) or a stage"):format(i)) end
    out.source = out.source or "."
    if type(out.source) ~= "string" then bad("run", ("mounts[%d]: source: expected a path"):format(i)) end
    if out.rw ~= nil and type(out.rw) ~= "boolean" then bad("run", ("mounts[%d]: rw: expected a boolean"):format(i)) end
    out.rw = out.rw or nil
  elseif kind == "file" then
    if type(out.content) ~= "string" then bad("run", ("mounts[%d]: content: expected a string"):format(i)) end
  end
  if out.mode ~= nil and (type(out.mode) ~= "string" or not out.mode:match("^[0-7][0-7][0-7][0-7]?$")) then
    bad("run", ("mounts[%d]: mode: expected an octal mode as a string (\"0400\")"):format(i))
  end
  for _, k in ipairs { "uid", "gid" } do
    if out[k] ~= nil and math.type(out[k]) ~= "integer" then bad("run", ("mounts[%d]: %s: expected an integer"):format(i, k)) end
  end
  return out
end

-- RUN. o: env (a map or list, for this step only), mounts (above), network ("none", the
-- default, or "host").
function Stage:run(cmd, o)
  o = errors.check_options(o, "stage:run", { "env", "mounts", "network" })
  if o.network ~= nil and o.network ~= "none" and o.network ~= "host" then bad("run", "network: expected none or host") end
  local step = command("run", cmd)
  step.kind = "run"
  step.env = o.env and pairs_of("run", o.env) or nil
  step.network = o.network
  if o.mounts ~= nil then
    if type(o.mounts) ~= "table" then bad("run", "mounts: expected a list") end
    local seen, ssh = {}, 0
    step.mounts = {}
    for i, m in ipairs(o.mounts) do
      local checked = mount(i, m, ssh)
      -- (As BuildKit: the Nth ssh mount is /run/buildkit/ssh_agent.N unless told; the first
      -- one is the step's SSH_AUTH_SOCK.)
      if checked.type == "ssh" then ssh = ssh + 1 end
      if seen[checked.target] then bad("run", ("mounts: two mounts on %s"):format(checked.target)) end
      seen[checked.target] = true
      step.mounts[i] = checked
    end
  end
  return add(self, step)
end

-- COPY: `from` is a context (md.build.context), inline files (md.build.inline) or another
-- stage; `src` a path or a list of paths in it (globs: * ? [...] in the last component;
-- inline files by name); `dst` a path in this stage.
function Stage:copy(from, src, dst, o)
  return self:_copy("copy", from, src, dst, o)
end

-- ADD of local files: as COPY, and a tar archive (plain, gzip, bzip2, xz or zstd, known
-- by its content, as Docker) from the context is unpacked into the destination (an inline
-- file never is, as BuildKit's ADD <<EOF).
function Stage:add(from, src, dst, o)
  return self:_copy("add", from, src, dst, o)
end

function Stage:_copy(method, from, src, dst, o)
  o = errors.check_options(o, "stage:" .. method, { "chown", "chmod" })
  local kind = getmetatable(from) and getmetatable(from).__name
  if kind ~= "mdlua.build.context" and kind ~= "mdlua.build.stage" and kind ~= "mdlua.build.inline" then
    bad(method, "the source must be a context (md.build.context), inline files (md.build.inline) or a stage")
  end
  local srcs = type(src) == "string" and { src } or strings("copy", src, "the source paths")
  if #srcs == 0 then bad(method, "no source path") end
  if kind == "mdlua.build.inline" and not from.context then
    for _, s in ipairs(srcs) do
      if not from.files[s] then bad(method, ("no inline file named %q"):format(s)) end
    end
  end
  if type(dst) ~= "string" or dst == "" then bad(method, "expected a destination path") end
  if o.chmod ~= nil and (type(o.chmod) ~= "string" or not o.chmod:match("^[0-7][0-7][0-7][0-7]?$")) then
    bad(method, ("invalid chmod %s: expected an octal mode as a string (\"755\")"):format(tostring(o.chmod)))
  end
  if o.chown ~= nil and type(o.chown) ~= "string" then bad(method, "chown: expected USER[:GROUP]") end
  return add(self, { kind = "copy", from = from, srcs = srcs, dst = dst, chown = o.chown, chmod = o.chmod,
                     extract = method == "add" and kind ~= "mdlua.build.stage" or nil })
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
-- ONBUILD: an instruction (Dockerfile text) kept in the image's config, for the builds
-- FROM it to run (the Dockerfile frontend runs a base image's triggers after its FROM).
config_step("onbuild", function(v)
  if type(v) ~= "string" or v:match("^%s*$") then bad("onbuild", "expected an instruction") end
  local first = v:match("^%s*(%S+)"):upper()
  if first == "ONBUILD" or first == "FROM" or first == "MAINTAINER" then
    bad("onbuild", ("%s is not allowed as an ONBUILD trigger"):format(first))
  end
  return v
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
