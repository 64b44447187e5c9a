-- What each kind of step means: its line in progress and history (Dockerfile syntax), its
-- description for the cache key (everything it depends on except the files it reads), the
-- command and environment of a RUN, and how the config steps change the image config
-- (Docker's rules: ENTRYPOINT clears an inherited CMD, WORKDIR is relative to the last one).
local json = require "mdlua.json"

local M = {}

local function quote_list(t)
  return json.encode(json.array(t))
end

local function kv_text(list)
  local out = {}
  for _, kv in ipairs(list) do
    local v = kv[2]
    if v == "" or v:find("[%s\"]") then v = '"' .. v:gsub('(["\\])', "\\%1") .. '"' end
    out[#out + 1] = kv[1] .. "=" .. v
  end
  return table.concat(out, " ")
end

local function command_text(c)
  return c.exec and quote_list(c.exec) or c.shell
end

function M.shell(state) return state.shell or { "/bin/sh", "-c" } end

-- The argv of a RUN.
function M.argv(step, state)
  if step.exec then return { table.unpack(step.exec) } end
  local argv = { table.unpack(M.shell(state)) }
  argv[#argv + 1] = step.shell
  return argv
end

-- A RUN's environment: the image's Env, then the build args in scope (not already set by
-- ENV, as Docker), then the step's own.
function M.run_env(step, state)
  local env, seen = {}, {}
  for _, kv in ipairs(state.doc.config.Env or {}) do
    env[#env + 1] = kv
    seen[kv:match("^[^=]*")] = true
  end
  local names = {}
  for name in pairs(state.args or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    if not seen[name] then env[#env + 1] = name .. "=" .. state.args[name] end
  end
  for _, kv in ipairs(step.env or {}) do env[#env + 1] = kv[1] .. "=" .. kv[2] end
  -- (The first ssh mount is the agent, as BuildKit sets it.)
  for _, m in ipairs(step.mounts or {}) do
    if m.type == "ssh" then env[#env + 1] = "SSH_AUTH_SOCK=" .. m.target; break end
  end
  return env
end

-- The step as a Dockerfile line.
-- A mount as a RUN --mount flag.
local function mount_text(m)
  local parts = { "type=" .. m.type }
  if m.type == "cache" and m.id ~= m.target then parts[#parts + 1] = "id=" .. m.id end
  if m.type == "cache" and m.sharing ~= "shared" then parts[#parts + 1] = "sharing=" .. m.sharing end
  if m.type == "cache" and m.readonly then parts[#parts + 1] = "ro" end
  if m.type == "secret" or (m.type == "ssh" and m.id ~= "default") then parts[#parts + 1] = "id=" .. m.id end
  if m.type == "bind" then
    if getmetatable(m.from).__name == "mdlua.build.stage" then parts[#parts + 1] = "from=" .. (m.from.name or m.from.base) end
    if m.source ~= "." then parts[#parts + 1] = "source=" .. m.source end
    if m.rw then parts[#parts + 1] = "rw" end
  end
  parts[#parts + 1] = "target=" .. m.target
  return "--mount=" .. table.concat(parts, ",")
end

function M.instruction(step, state)
  local k = step.kind
  if k == "run" then
    local flags = {}
    for _, m in ipairs(step.mounts or {}) do
      if m.type ~= "file" then flags[#flags + 1] = mount_text(m) .. " " end
    end
    if step.network then flags[#flags + 1] = "--network=" .. step.network .. " " end
    return "RUN " .. table.concat(flags) .. (step.display or command_text(step))
  end
  if k == "copy" then
    local kind = getmetatable(step.from).__name
    local from = kind == "mdlua.build.stage" and (" --from=" .. (step.from.name or step.from.base)) or ""
    local opts = (step.chown and (" --chown=" .. step.chown) or "") .. (step.chmod and (" --chmod=" .. step.chmod) or "")
    local srcs = step.srcs
    if kind == "mdlua.build.inline" then
      srcs = {}
      for i, s in ipairs(step.srcs) do srcs[i] = step.from.files[s] and "<<" .. s or s end
    end
    return ("%s%s%s %s %s"):format(step.extract and "ADD" or "COPY", from, opts, table.concat(srcs, " "), step.dst)
  end
  local v = step.value
  if k == "env" or k == "label" then return k:upper() .. " " .. kv_text(v) end
  if k == "entrypoint" or k == "cmd" then return k:upper() .. " " .. command_text(v) end
  if k == "shell" then return "SHELL " .. quote_list(v) end
  if k == "expose" or k == "volume" then return k:upper() .. " " .. table.concat(v, " ") end
  if k == "healthcheck" then
    if v.none then return "HEALTHCHECK NONE" end
    return "HEALTHCHECK CMD " .. (v.test[1] == "CMD-SHELL" and v.test[2] or quote_list({ table.unpack(v.test, 2) }))
  end
  if k == "arg" then return "ARG " .. v.name .. (v.default and ("=" .. v.default) or "") end
  return k:upper() .. " " .. tostring(v)
end

-- History's created_by, as Docker and Buildah write it.
function M.created_by(step, state, inputs)
  if step.kind == "run" then
    local argv = M.argv(step, state)
    return table.concat(argv, " ")
  end
  if step.kind == "copy" then
    return ("/bin/sh -c #(nop) %s %s in %s"):format(step.extract and "ADD" or "COPY", inputs and inputs:sub(1, 19) or "", step.dst)
  end
  return "/bin/sh -c #(nop) " .. M.instruction(step, state)
end

-- The cache description: the step without the files it reads (those are the inputs) and
-- without the script line it came from, plus what of the state it depends on and the image
-- does not hold (the shell, the build args).
function M.describe(step, state)
  local d = { kind = step.kind }
  if step.kind == "run" then
    d.argv = M.argv(step, state)
    d.env = M.run_env(step, state)
    d.network = step.network
    -- The mounts as they are described; what a bind shows is an input, a secret's
    -- content never is (as BuildKit: a changed secret does not rerun the step).
    if step.mounts and #step.mounts > 0 then
      d.mounts = {}
      for i, m in ipairs(step.mounts) do
        local dm = {}
        for k, v in pairs(m) do if k ~= "from" then dm[k] = v end end
        if m.type == "bind" then dm.from = getmetatable(m.from).__name == "mdlua.build.stage" and "stage" or "context" end
        d.mounts[i] = dm
      end
    end
  elseif step.kind == "copy" then
    d.srcs, d.dst, d.chown, d.chmod, d.extract = step.srcs, step.dst, step.chown, step.chmod, step.extract
    d.from = ({ ["mdlua.build.stage"] = "stage", ["mdlua.build.inline"] = "inline" })[getmetatable(step.from).__name] or "context"
  elseif step.kind == "arg" then
    d.value = { name = step.value.name, default = step.value.default, given = (state.build_args or {})[step.value.name] }
  else
    d.value = step.value
  end
  return d
end

local function ns(duration)
  local n, unit = duration:match("^([%d.]+)(%a+)$")
  local mult = ({ ns = 1, us = 1e3, ms = 1e6, s = 1e9, m = 60e9, h = 3600e9 })[unit]
  if not n or not mult then error(("invalid duration %q"):format(duration), 0) end
  return math.floor(tonumber(n) * mult)
end

-- Applies a config step to state.doc.config.
function M.apply(step, state)
  local c = state.doc.config
  local k, v = step.kind, step.value
  if k == "env" then
    c.Env = json.array(c.Env or {})
    for _, kv in ipairs(v) do
      local replaced = false
      for i, e in ipairs(c.Env) do
        if e:match("^([^=]*)") == kv[1] then c.Env[i] = kv[1] .. "=" .. kv[2]; replaced = true end
      end
      if not replaced then c.Env[#c.Env + 1] = kv[1] .. "=" .. kv[2] end
    end
  elseif k == "label" then
    c.Labels = c.Labels or {}
    for _, kv in ipairs(v) do c.Labels[kv[1]] = kv[2] end
  elseif k == "workdir" then
    local base = c.WorkingDir or ""
    c.WorkingDir = v:sub(1, 1) == "/" and v or ((base == "" and "/" or base):gsub("/$", "") .. "/" .. v)
  elseif k == "user" then c.User = v
  elseif k == "expose" then
    c.ExposedPorts = c.ExposedPorts or {}
    for _, p in ipairs(v) do c.ExposedPorts[p] = {} end
  elseif k == "volume" then
    c.Volumes = c.Volumes or {}
    for _, p in ipairs(v) do c.Volumes[p] = {} end
  elseif k == "stopsignal" then c.StopSignal = v
  elseif k == "onbuild" then
    c.OnBuild = json.array(c.OnBuild or {})
    c.OnBuild[#c.OnBuild + 1] = v
  elseif k == "cmd" or k == "entrypoint" then
    local argv = v.exec and json.array { table.unpack(v.exec) } or json.array { table.unpack(M.shell(state)) }
    if v.shell then argv[#argv + 1] = v.shell end
    if k == "cmd" then c.Cmd = argv
    else
      c.Entrypoint = argv
      if not state.cmd_set then c.Cmd = nil end
    end
  elseif k == "healthcheck" then
    if v.none then c.Healthcheck = { Test = json.array { "NONE" } }
    else
      c.Healthcheck = { Test = json.array { table.unpack(v.test) }, Retries = v.retries,
                        Interval = v.interval and ns(v.interval), Timeout = v.timeout and ns(v.timeout),
                        StartPeriod = v.start_period and ns(v.start_period) }
    end
  end
end

-- What a step leaves in the stage's state that is not in the image: the shell, the build
-- args in scope, whether CMD was set in this stage. Run on a cache hit too.
function M.carry(step, state)
  if step.kind == "shell" then state.shell = { table.unpack(step.value) }
  elseif step.kind == "cmd" then state.cmd_set = true
  elseif step.kind == "arg" then
    state.args = state.args or {}
    local given = (state.build_args or {})[step.value.name]
    state.args[step.value.name] = given or step.value.default
  end
end

return M
