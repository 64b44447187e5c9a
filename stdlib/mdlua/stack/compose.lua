-- Compose files as stacks: the YAML read (libyaml, md._yaml), variables interpolated from
-- the environment and the `.env` file next to it (${VAR}, ${VAR:-default}, ${VAR-default},
-- ${VAR:?error}, ${VAR?error}, $VAR, $$), and Compose's long forms turned into the short
-- ones stack/model.lua reads. Keys the model does not know stay errors that name them.
-- M.lua(t) writes a stack table as a stack.lua to start from (`mdlua stack convert`).
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}

local NULL = setmetatable({}, { __name = "yaml.null" })

-- The .env file: NAME=VALUE lines, # comments, optional quotes, `export ` allowed.
-- This is not mdlua.envfile's reader on purpose: the two formats differ where it shows.
-- The `.env` beside a Compose file holds the variables the file is interpolated with, and
-- Compose reads it by the dotenv rules (its spec's "env file" syntax: quotes removed, `#`
-- after a space starts a comment, `export ` allowed), as podman-compose does with
-- python-dotenv. A service's `env_file` is what `run --env-file` reads (podman-compose
-- passes it on as that flag): values taken as written, quotes and `#` included. So
-- A="x y" # note  is `x y` here and `"x y" # note` in an env_file.
function M.dotenv(text)
  local vars = {}
  local escapes = { n = "\n", r = "\r", t = "\t", ["\\"] = "\\", ['"'] = '"' }
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      line = line:gsub("^export%s+", "")
      local k, v = line:match("^([%a_][%w_%.%-]*)%s*=%s*(.*)$")
      if not k then errors.raise("invalid_option", (".env, line %d: not NAME=VALUE: %q"):format(n, line)) end
      local q = v:sub(1, 1)
      if q == '"' or q == "'" then
        -- A quoted value ends at its closing quote; a comment may follow it.
        local out, i, closed = {}, 2, false
        while i <= #v do
          local ch = v:sub(i, i)
          local e = v:sub(i + 1, i + 1)
          if ch == "\\" and (q == '"' and escapes[e] or q == "'" and e == "'") then
            out[#out + 1] = q == '"' and escapes[e] or e
            i = i + 2
          elseif ch == q then closed = true; break
          else out[#out + 1] = ch; i = i + 1 end
        end
        local rest = v:sub(i + 1)
        if not closed or not (rest == "" or rest:match("^%s+#")) then
          errors.raise("invalid_option", (".env, line %d: unterminated or trailing text after the quoted value of %s"):format(n, k))
        end
        v = table.concat(out)
      else
        v = v:gsub("%s+#.*$", "")
      end
      vars[k] = v
    end
  end
  return vars
end

-- Interpolates one string. `lookup(name)` gives a variable's value or nil.
function M.interpolate(s, lookup, where)
  local out = s:gsub("%$(%b{})", function(body)
    body = body:sub(2, -2)
    local name, op, arg = body:match("^([%a_][%w_]*)(:?[%-%?]?)(.*)$")
    if not name or (op == "" and arg ~= "") then
      errors.raise("invalid_option", ("%s: invalid interpolation ${%s}"):format(where, body))
    end
    local v = lookup(name)
    local unset, empty = v == nil, v == nil or v == ""
    if op == ":-" then return (empty and arg or v) end
    if op == "-" then return (unset and arg or v) end
    if op == ":?" and empty or op == "?" and unset then
      errors.raise("invalid_option", ("%s: %s"):format(where, arg ~= "" and arg or ("variable " .. name .. " is not set")))
    end
    return v or ""
  end)
  out = out:gsub("%$([%a_][%w_]*)", function(name) return lookup(name) or "" end)
  return (out:gsub("%$%$", "$"))
end

-- Interpolates every string in the document (keys stay as written).
local function walk(v, lookup, where)
  if type(v) == "string" then
    -- "$$" alone is an escape; a lone "$" before a non-name is kept.
    if not v:find("$", 1, true) then return v end
    local escaped = v:gsub("%$%$", "\0")
    return (M.interpolate(escaped, lookup, where):gsub("%z", "$"))
  end
  if type(v) ~= "table" or v == NULL then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = walk(x, lookup, where .. "." .. tostring(k)) end
  return out
end

-- A long-form port ({target=80, published=8080, protocol="udp", host_ip=}) as "8080:80/udp".
local function port(p, where)
  if type(p) == "number" then return tostring(math.tointeger(p) or p) end
  if type(p) == "string" then return p end
  if type(p) ~= "table" then errors.raise("invalid_option", where .. ": expected a port") end
  for k in pairs(p) do
    if k ~= "target" and k ~= "published" and k ~= "protocol" and k ~= "host_ip" and k ~= "mode" and k ~= "name" then
      errors.raise("invalid_option", ("%s: unknown key %q"):format(where, tostring(k)))
    end
  end
  if not p.target then errors.raise("invalid_option", where .. ": no target") end
  local s = tostring(p.target)
  if p.published then s = tostring(p.published) .. ":" .. s end
  if p.host_ip then s = p.host_ip .. ":" .. (p.published and "" or ":") .. s end
  if p.protocol and p.protocol ~= "tcp" then s = s .. "/" .. p.protocol end
  return s
end

-- A long-form volume ({type="volume", source=, target=, read_only=}) as "SRC:DST[:ro]".
local function volume(v, where)
  if type(v) == "string" then return v end
  if type(v) ~= "table" then errors.raise("invalid_option", where .. ": expected a volume") end
  for k in pairs(v) do
    if k ~= "type" and k ~= "source" and k ~= "target" and k ~= "read_only" and k ~= "volume" and k ~= "bind" then
      errors.raise("invalid_option", ("%s: unknown key %q"):format(where, tostring(k)))
    end
  end
  if v.type and v.type ~= "volume" and v.type ~= "bind" then
    errors.raise("invalid_option", ("%s: type %q is not supported (volume or bind)"):format(where, tostring(v.type)))
  end
  if not v.target then errors.raise("invalid_option", where .. ": no target") end
  local s = v.source and (v.source .. ":" .. v.target) or v.target
  if v.read_only then s = s .. ":ro" end
  return s
end

-- Nulls where the model needs a value: an empty definition (`volumes: {data:}`), an unset
-- variable (`environment: {A:}`: left out); elsewhere a null is no value.
local function denull(v)
  if v == NULL then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = denull(x) end
  return out
end

local function service(name, s, getenv)
  local where = "services." .. name
  if s == NULL then s = {} end
  if type(s) ~= "table" then errors.raise("invalid_option", where .. ": expected a mapping") end
  local out = {}
  for k, v in pairs(s) do
    if k == "environment" and type(v) == "table" then
      local env = {}
      if #v > 0 then env = v else
        -- `NAME:` with no value takes the value of the environment `up` runs in, and is
        -- left out when that has none (the spec's rule; podman-compose passes `-e NAME`).
        for ek, ev in pairs(v) do
          if ev == NULL then env[ek] = getenv(ek) or false else env[ek] = ev end
        end
      end
      out.environment = env
    elseif k == "networks" and type(v) == "table" and #v == 0 then
      local nets = {}
      for nk, nv in pairs(v) do nets[nk] = nv == NULL and {} or denull(nv) end
      out.networks = nets
    elseif k == "ports" and type(v) == "table" then
      out.ports = {}
      for i, p in ipairs(v) do out.ports[i] = port(p, ("%s.ports[%d]"):format(where, i)) end
    elseif k == "volumes" and type(v) == "table" then
      out.volumes = {}
      for i, x in ipairs(v) do out.volumes[i] = volume(x, ("%s.volumes[%d]"):format(where, i)) end
    elseif k == "healthcheck" and type(v) == "table" then
      out.healthcheck = denull(v)
    elseif k == "env_file" and type(v) == "table" then
      out.env_file = {}
      for i, f in ipairs(v) do out.env_file[i] = type(f) == "table" and f.path or f end
    elseif k == "depends_on" and type(v) == "table" and #v == 0 then
      local deps = {}
      for dk, dv in pairs(v) do deps[dk] = dv == NULL and true or denull(dv) end
      out.depends_on = deps
    else
      out[k] = denull(v)
    end
  end
  return out
end

-- A Compose document as a stack table (stack/model.lua normalises it). `getenv(name)`:
-- the environment's variables (default: os.getenv).
function M.stack(doc, getenv)
  getenv = getenv or os.getenv
  if type(doc) ~= "table" then errors.raise("invalid_option", "a Compose file is a mapping with services") end
  local t = {}
  for k, v in pairs(doc) do
    if k == "services" then
      if type(v) ~= "table" then errors.raise("invalid_option", "services: expected a mapping") end
      t.services = {}
      for n, s in pairs(v) do t.services[n] = service(n, s, getenv) end
    elseif k == "networks" or k == "volumes" then
      t[k] = {}
      for n, x in pairs(v == NULL and {} or v) do t[k][n] = x == NULL and {} or denull(x) end
    elseif k == "name" or k == "version" then
      t[k] = denull(v)
    elseif tostring(k):match("^x%-") then
      -- Extension fields: what they hold reached the services through anchors already.
    else
      errors.raise("invalid_option", ("unknown top-level key %q (services, networks, volumes, name)"):format(tostring(k)))
    end
  end
  return t
end

-- Reads a Compose file: `o.env`, variables over the process's environment over `.env`.
function M.load(path, o)
  o = o or {}
  local text = md.fs.read(path)
  local dir = path:match("^(.*)/[^/]*$") or "."
  local dotenv = {}
  if md.fs.exists(dir .. "/.env") then dotenv = M.dotenv(md.fs.read(dir .. "/.env")) end
  local function lookup(name)
    if o.env and o.env[name] ~= nil then return o.env[name] end
    return os.getenv(name) or dotenv[name]
  end
  local ok, doc = pcall(md._yaml.decode, text, NULL)
  if not ok then errors.raise("invalid_option", path .. ": " .. errors.message(doc):gsub("^yaml: ", "")) end
  return M.stack(walk(doc, lookup, path), function(name)
    if o.env and o.env[name] ~= nil then return o.env[name] end
    return os.getenv(name)
  end)
end

-- A stack table as the text of a stack.lua.
function M.lua(t, source)
  local body = require("mdlua.pretty").format(t)
  return ("-- Converted from %s by `mdlua stack convert`: edit it as Lua (loops, require, arg).\nreturn md.stack %s\n")
    :format(source or "a Compose file", body)
end

return M
