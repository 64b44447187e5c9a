-- md.volume: named volumes (docs/volumes.md).
--   md.volume.create{name=, labels={k=v}, options={type=, device=, o=, size=}} -> a volume
--   md.volume.list() -> volumes, by name; md.volume.get(name); vol:rm(); vol:inspect()
--   vol.name, vol.mountpoint (its data on the host), vol.labels, vol.options, vol.anonymous
-- Errors are errors.lua's tables (err.code: not_found, conflict when in use, ...).
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}
local binding = errors.guard(md._volume, { create = "md.volume.create", get = "md.volume.get", remove = "md.volume.rm" })

local function root() return md.config.root end

local Volume = {}
Volume.__index = Volume
Volume.__name = "mdlua.volume"
function Volume:__tostring() return ("volume %s (%s)"):format(self.name, self.mountpoint) end
local function wrap(v) return setmetatable(v, Volume) end

local function hex(n)
  local f = io.open("/dev/urandom", "rb")
  local bytes = f:read(n // 2)
  f:close()
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- A map {k="v"} or a list {"k=v"} (the CLI's) as a map; `what` names it in errors.
local function kv_map(t, what, fn)
  local out = {}
  if t == nil then return out end
  if type(t) ~= "table" then errors.raise("invalid_option", ("%s: %s must be a table"):format(fn, what), 3) end
  for k, v in pairs(t) do
    if math.type(k) == "integer" then
      local a, b = tostring(v):match("^([^=]+)=?(.*)$")
      if not a then errors.raise("invalid_option", ("%s: invalid %s %q: expected KEY=VALUE"):format(fn, what, tostring(v)), 3) end
      out[a] = b
    else
      out[tostring(k)] = tostring(v)
    end
  end
  return out
end

-- Creates a volume (or returns the one of that name, as Docker does). Without a name, one
-- of 64 hex digits.
function M.create(o)
  o = errors.check_options(o, "md.volume.create", { "name", "labels", "options" })
  local name = o.name or hex(64)
  if type(name) ~= "string" then errors.raise("invalid_option", "md.volume.create: name must be a string", 2) end
  local v = binding.create(root(), { name = name, labels = kv_map(o.labels, "label", "md.volume.create"),
                                     options = kv_map(o.options, "option", "md.volume.create") })
  return wrap(v)
end

function M.get(name)
  if type(name) == "table" and getmetatable(name) == Volume then name = name.name end
  if type(name) ~= "string" then errors.raise("invalid_argument", "md.volume.get: expected a volume name", 2) end
  return wrap(binding.get(root(), name))
end

function M.list()
  local out = {}
  for i, v in ipairs(binding.list(root())) do out[i] = wrap(v) end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- The containers (names) whose mounts name the volume.
function Volume:users() return binding.users(root(), self.name) end
-- Bytes it holds.
function Volume:size() return binding.size(root(), self.name) end

-- Removes it; refused (conflict) while a container uses it, naming the container. With
-- {force=true}, a volume that is gone already is not an error.
function Volume:rm(o)
  o = errors.check_options(o, "vol:rm", { "force" })
  local ok, err = pcall(binding.remove, root(), self.name)
  if not ok and not (o.force and errors.is(err) and err.code == "not_found") then error(err, 0) end
end
function M.rm(name, o) return M.get(name):rm(o) end

-- Docker's volume inspect document.
function Volume:inspect()
  local labels = next(self.labels) and self.labels or require("mdlua.template").nil_map
  local opts = next(self.options) and self.options or require("mdlua.template").nil_map
  return { CreatedAt = self.created, Driver = self.driver, Labels = labels, Mountpoint = self.mountpoint,
           Name = self.name, Options = opts, Scope = "local" }
end

-- Removes every volume no container uses (only anonymous ones unless all=true, as
-- Docker's `volume prune`); returns the names removed and the bytes freed.
function M.prune(o)
  o = errors.check_options(o, "md.volume.prune", { "all", "filter" })
  local removed, freed = {}, 0
  for _, v in ipairs(M.list()) do
    if (o.all or v.anonymous) and #v:users() == 0 and (not o.filter or o.filter(v)) then
      local size = v:size()
      if pcall(binding.remove, root(), v.name) then
        removed[#removed + 1] = v.name
        freed = freed + size
      end
    end
  end
  return removed, freed
end

return M
