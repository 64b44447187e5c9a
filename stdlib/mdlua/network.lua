-- md.network: networks of containers (a bridge, a subnet, DNS names on user networks).
--   md.network.create{name="web", subnet="10.5.0.0/24", gateway=, ip_range=, internal=true,
--                     labels={k="v"}, options={["com.docker.network.bridge.name"]="br-web"},
--                     dns={"127.0.0.1"} (the servers its DNS server forwards to; default the host's),
--                     mtu=9000 (the bridge's and the containers' links'; default 1500)}
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

-- Docker's predefined networks besides `bridge`, by name: the host's own namespace (host)
-- and a namespace with lo only (none). They are modes, not networks of the store: no
-- bridge, no leases; `network ls` and `inspect` show them, `rm` refuses them.
local predefined = { host = "host", none = "null" }

-- A stable 64-hex-digit ID for a predefined network of this root (Docker's are random per
-- daemon; this one is the same at every call).
local function predefined_id(name)
  local out, h = {}, 2166136261
  for i = 1, 8 do
    for b in (root() .. "\0" .. name .. "\0" .. i):gmatch(".") do h = ((h ~ b:byte()) * 16777619) & 0xffffffff end
    out[i] = ("%08x"):format(h)
  end
  return table.concat(out)
end

local function predefined_network(name)
  return wrap { name = name, id = predefined_id(name), driver = predefined[name], subnet = "", gateway = "", ip_range = "",
                internal = false, labels = {}, options = {}, bridge = "", created = "", dns = false, endpoints = {},
                predefined = true }
end

local create_fields = { "name", "subnet", "gateway", "ip_range", "internal", "labels", "options", "dns", "mtu" }

function M.create(o)
  o = errors.check_options(o, "md.network.create", create_fields)
  if type(o.name) ~= "string" or o.name == "" then
    errors.raise("invalid_option", "md.network.create: field \"name\" is required (a string)", 2)
  end
  local name = o.name
  if predefined[o.name] or o.name == "bridge" then
    errors.raise("conflict", ("network with name %s already exists (a pre-defined network)"):format(o.name), 2)
  end
  if o.dns or o.mtu ~= nil then
    local opts = {}
    for k, v in pairs(o.options or {}) do opts[k] = v end
    if o.dns then opts.dns_servers = table.concat(o.dns, ",") end
    -- (The engine checks the value, as it does -o com.docker.network.driver.mtu's.)
    if o.mtu ~= nil then opts["com.docker.network.driver.mtu"] = tostring(math.tointeger(o.mtu) or o.mtu) end
    o = { subnet = o.subnet, gateway = o.gateway, ip_range = o.ip_range, internal = o.internal, labels = o.labels, options = opts }
  end
  return wrap(binding.create(root(), name, o))
end

-- Every network, by name: the store's (the default `bridge` once it was used or asked
-- for by get) and host and none.
function M.list()
  local out = {}
  for i, n in ipairs(binding.list(root())) do out[i] = wrap(n) end
  for name in pairs(predefined) do out[#out + 1] = predefined_network(name) end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- Removes every network no container is on, but the default one (`network prune`).
-- Returns the names removed.
function M.prune()
  local removed = {}
  for _, n in ipairs(M.list()) do
    if n.name ~= "bridge" and not n.predefined and #n.endpoints == 0 and pcall(n.rm, n) then removed[#removed + 1] = n.name end
  end
  return removed
end

function M.get(ref)
  if type(ref) == "table" and getmetatable(ref) == Network then ref = ref.id end
  if type(ref) ~= "string" then
    errors.raise("invalid_argument", "md.network.get: expected a network name or ID (string), got " .. type(ref), 2)
  end
  if predefined[ref] then return predefined_network(ref) end
  for name in pairs(predefined) do
    if #ref >= 3 and predefined_id(name):sub(1, #ref) == ref then return predefined_network(name) end
  end
  -- The default network is there from the first time it is asked for, as Docker's.
  if ref == "bridge" then return wrap(binding.default(root())) end
  return wrap(binding.get(root(), ref))
end

function Network:rm()
  if self.predefined or self.name == "bridge" then
    errors.raise("conflict", ("%s is a pre-defined network and cannot be removed"):format(self.name), 2)
  end
  binding.remove(root(), self.id)
end

local function container_of(c)
  if type(c) == "string" then return md.container.get(c) end
  return c
end

-- Connects a container; a running one gets its link at once (hot-plugged), a stopped one
-- at its next start.
local function not_predefined(net, what)
  if net.predefined then
    errors.raise("conflict", ("%s: the %s network is a mode (--network %s at run), not one to connect to"):format(what, net.name, net.name), 3)
  end
end

function Network:connect(c, o)
  o = errors.check_options(o, "net:connect", { "aliases", "ip" })
  not_predefined(self, "net:connect")
  c = container_of(c)
  local e = binding.attach(root(), self.id, c.id, { ip = o.ip, aliases = o.aliases or {} })
  for k, v in pairs(binding.get(root(), self.id)) do self[k] = v end
  require("mdlua.container_network").refresh_resolv_conf(c)
  return e
end

-- Disconnects a container; a running one loses its link at once.
function Network:disconnect(c)
  not_predefined(self, "net:disconnect")
  c = container_of(c)
  binding.detach(root(), self.id, c.id)
  for k, v in pairs(binding.get(root(), self.id)) do self[k] = v end
  require("mdlua.container_network").refresh_resolv_conf(c)
end

-- The endpoints of a container: { {network=, ip=, prefix=, gateway=, ports=, aliases=, interface=}, ... }
function M.endpoints(id) return binding.endpoints(root(), id) end
function M.connect_new(net, args) return binding.connect(root(), net, args) end
function M.release(id) return binding.release(root(), id) end

-- Docker's network inspect document.
function Network:inspect()
  local json = require "mdlua.json"
  if self.predefined then
    local containers = {}
    for _, c in ipairs(md.container.list { all = true }) do
      if c.config.network == self.name and (c.status == "running" or c.status == "paused") then
        containers[c.id] = { Name = c.name, EndpointID = "", MacAddress = "", IPv4Address = "", IPv6Address = "" }
      end
    end
    return { Name = self.name, Id = self.id, Created = "0001-01-01T00:00:00Z", Scope = "local", Driver = self.driver,
             EnableIPv6 = false, IPAM = { Driver = "default", Options = json.null, Config = json.array() }, Internal = false,
             Attachable = false, Ingress = false, ConfigFrom = { Network = "" }, ConfigOnly = false, Containers = containers,
             Options = {}, Labels = {} }
  end
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
