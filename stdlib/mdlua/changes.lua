-- `--change` instructions (a Dockerfile subset) applied to an image config, as
-- `docker import --change` and `docker commit --change` take them.
local json = require "mdlua.json"
local errors = require "mdlua.errors"

local M = {}

local function words_or_json(arg, what)
  if arg:match("^%s*%[") then
    local ok, v = pcall(json.decode, arg)
    if not ok or type(v) ~= "table" then errors.fail(("invalid --change %s: %s is not a JSON array"):format(what, arg)) end
    for _, x in ipairs(v) do
      if type(x) ~= "string" then errors.fail(("invalid --change %s: %s must hold strings"):format(what, arg)) end
    end
    return json.array(v), true
  end
  return arg, false
end

local function shell_form(arg)
  return json.array { "/bin/sh", "-c", arg }
end

local function key_values(arg, what)
  local out = {}
  -- "K=V K2=V2" (quotes allowed) or the legacy "K V".
  if not arg:match("^[^%s=]+=") then
    local k, v = arg:match("^(%S+)%s+(.*)$")
    if not k then errors.fail(("invalid --change %s %s: expected KEY=VALUE"):format(what, arg)) end
    out[#out + 1] = { k, v }
    return out
  end
  local pos = 1
  while pos <= #arg do
    local k, rest = arg:match("^%s*([^%s=]+)=()", pos)
    if not k then errors.fail(("invalid --change %s %s: expected KEY=VALUE"):format(what, arg)) end
    pos = rest
    local v
    if arg:sub(pos, pos) == '"' then
      local close = arg:find('"', pos + 1, true)
      if not close then errors.fail(("invalid --change %s %s: unterminated quote"):format(what, arg)) end
      v, pos = arg:sub(pos + 1, close - 1), close + 1
    else
      local s, e = arg:find("^%S*", pos)
      v, pos = arg:sub(s, e), e + 1
    end
    out[#out + 1] = { k, v }
    pos = arg:find("%S", pos) or #arg + 1
  end
  return out
end

local handlers = {}

handlers.CMD = function(c, arg)
  local v, is_json = words_or_json(arg, "CMD")
  c.Cmd = is_json and v or shell_form(v)
end

handlers.ENTRYPOINT = function(c, arg)
  local v, is_json = words_or_json(arg, "ENTRYPOINT")
  c.Entrypoint = is_json and v or shell_form(v)
end

handlers.ENV = function(c, arg)
  c.Env = c.Env or json.array()
  for _, kv in ipairs(key_values(arg, "ENV")) do
    local replaced = false
    for i, e in ipairs(c.Env) do
      if e:match("^([^=]*)") == kv[1] then c.Env[i] = kv[1] .. "=" .. kv[2]; replaced = true end
    end
    if not replaced then c.Env[#c.Env + 1] = kv[1] .. "=" .. kv[2] end
  end
end

handlers.LABEL = function(c, arg)
  c.Labels = c.Labels or {}
  for _, kv in ipairs(key_values(arg, "LABEL")) do c.Labels[kv[1]] = kv[2] end
end

handlers.WORKDIR = function(c, arg) c.WorkingDir = arg end
handlers.USER = function(c, arg) c.User = arg end
handlers.STOPSIGNAL = function(c, arg) c.StopSignal = arg end

handlers.EXPOSE = function(c, arg)
  c.ExposedPorts = c.ExposedPorts or {}
  for port in arg:gmatch("%S+") do
    if not port:match("^%d+$") and not port:match("^%d+/%a+$") and not port:match("^%d+%-%d+/?%a*$") then
      errors.fail(("invalid --change EXPOSE %s: expected PORT[/PROTO]"):format(port))
    end
    c.ExposedPorts[port:find("/", 1, true) and port or port .. "/tcp"] = {}
  end
end

handlers.VOLUME = function(c, arg)
  c.Volumes = c.Volumes or {}
  local v, is_json = words_or_json(arg, "VOLUME")
  if is_json then
    for _, p in ipairs(v) do c.Volumes[p] = {} end
  else
    for p in v:gmatch("%S+") do c.Volumes[p] = {} end
  end
end

handlers.ONBUILD = function(c, arg)
  c.OnBuild = c.OnBuild or json.array()
  c.OnBuild[#c.OnBuild + 1] = arg
end

-- Applies each change ("CMD [\"sh\"]", "ENV A=1", ...) to `config` (the `config` object
-- of an image config), which it modifies and returns.
function M.apply(config, changes)
  config = config or {}
  for _, change in ipairs(changes or {}) do
    local instr, arg = change:match("^%s*(%a+)%s+(.-)%s*$")
    local h = instr and handlers[instr:upper()]
    if not h then
      local names = {}
      for k in pairs(handlers) do names[#names + 1] = k end
      table.sort(names)
      errors.fail(("invalid --change %q: expected one of %s followed by its argument"):format(change, table.concat(names, ", ")))
    end
    h(config, arg)
  end
  return config
end

return M
