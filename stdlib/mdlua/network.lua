-- md.network: networks of containers (a bridge, a subnet, DNS names on user networks).
--   md.network.create{name="web", subnet="10.5.0.0/24", gateway=, ip_range=, internal=true,
--                     labels={k="v"}, options={["com.docker.network.bridge.name"]="br-web"},
--                     dns={"127.0.0.1"} (the servers its DNS server forwards to; default the host's)}
--   md.network.list() -> network objects (name order); md.network.get(name|id)
--   net:rm(), net:connect(c, {aliases={"db"}, ip="10.5.0.9"}), net:disconnect(c), net:inspect()
-- A container's addresses and ports: c:networks() (container.lua).
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}
local binding = errors.guard(md._network)
local function root() return md.config.root end

local Network = {}
Network.__index = Network
Network.__name = "mdlua.network"
function Network:__tostring() return ("network %s (%s, %s)"):format(self.name, self.subnet, self.id:sub(1, 12)) end
local function wrap(n) return setmetatable(n, Network) end

local create_fields = { "name", "subnet", "gateway", "ip_range", "internal", "labels", "options", "dns" }

function M.create(o)
  o = errors.check_options(o, "md.network.create", create_fields)
  if type(o.name) ~= "string" or o.name == "" then
    errors.raise("invalid_option", "md.network.create: field \"name\" is required (a string)", 2)
  end
  local name = o.name
  if o.dns then
    local opts = {}
    for k, v in pairs(o.options or {}) do opts[k] = v end
    opts.dns_servers = table.concat(o.dns, ",")
    o = { subnet = o.subnet, gateway = o.gateway, ip_range = o.ip_range, internal = o.internal, labels = o.labels, options = opts }
  end
  return wrap(binding.create(root(), name, o))
end

function M.list()
  local out = {}
  for i, n in ipairs(binding.list(root())) do out[i] = wrap(n) end
  return out
end

-- Removes every network no container is on, but the default one (`network prune`).
-- Returns the names removed.
function M.prune()
  local removed = {}
  for _, n in ipairs(M.list()) do
    if n.name ~= "bridge" and #n.endpoints == 0 and pcall(n.rm, n) then removed[#removed + 1] = n.name end
  end
  return removed
end

function M.get(ref)
  if type(ref) == "table" and getmetatable(ref) == Network then ref = ref.id end
  if type(ref) ~= "string" then
    errors.raise("invalid_argument", "md.network.get: expected a network name or ID (string), got " .. type(ref), 2)
  end
  return wrap(binding.get(root(), ref))
end

function Network:rm() binding.remove(root(), self.id) end

local function container_of(c)
  if type(c) == "string" then return md.container.get(c) end
  return c
end

-- Connects a container that is not running (its next start attaches it).
function Network:connect(c, o)
  o = errors.check_options(o, "net:connect", { "aliases", "ip" })
  c = container_of(c)
  if c.status == "running" or c.status == "paused" then
    errors.raise("conflict", ("container %s is running: connect it before it starts (hot-plugging is not there yet)"):format(c.name), 2)
  end
  local e = binding.connect(root(), self.id, { id = c.id, name = c.name, ip = o.ip, aliases = o.aliases or {} })
  for k, v in pairs(binding.get(root(), self.id)) do self[k] = v end
  return e
end

function Network:disconnect(c)
  c = container_of(c)
  if c.status == "running" or c.status == "paused" then
    errors.raise("conflict", ("container %s is running: stop it first"):format(c.name), 2)
  end
  binding.disconnect(root(), self.id, c.id)
end

-- The endpoints of a container: { {network=, ip=, prefix=, gateway=, ports=, aliases=, interface=}, ... }
function M.endpoints(id) return binding.endpoints(root(), id) end
function M.connect_new(net, args) return binding.connect(root(), net, args) end
function M.release(id) return binding.release(root(), id) end

-- Docker's network inspect document.
function Network:inspect()
  local json = require "mdlua.json"
  local containers = {}
  for _, e in ipairs(self.endpoints or {}) do
    containers[e.container_id] = { Name = e.container_name, EndpointID = "", MacAddress = "",
                                   IPv4Address = e.ip .. "/" .. e.prefix, IPv6Address = "" }
  end
  local options = {}
  for k, v in pairs(self.options or {}) do if k ~= "fixed_subnet" then options[k] = v end end
  options["com.docker.network.bridge.name"] = self.bridge
  return {
    Name = self.name, Id = self.id, Created = self.created, Scope = "local", Driver = "bridge", EnableIPv6 = false,
    IPAM = { Driver = "default", Options = {}, Config = json.array { { Subnet = self.subnet, Gateway = self.gateway,
             IPRange = self.ip_range ~= self.subnet and self.ip_range or nil } } },
    Internal = self.internal, Attachable = false, Ingress = false, ConfigFrom = { Network = "" }, ConfigOnly = false,
    Containers = containers, Options = options, Labels = self.labels or {},
  }
end

return M
