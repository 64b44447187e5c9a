-- A container's networking as create sets it up: the mode (none, host, a bridge network),
-- its leases on a network (md._network: address, aliases, published ports, held until rm),
-- and its /etc/hosts, /etc/resolv.conf; and what inspect, ps and port show of it.
local md = require "mdlua"
local options = require "mdlua.options"
local ports = require "mdlua.ports"

local M = {}

-- md.network.connect_new's binding (network.lua), with its errors as error tables.
local lease = require("mdlua.errors").guard({ connect = md._network.connect }).connect

-- none, host, or a network's name ("bridge": the default network, Docker's default too).
function M.mode(o)
  local net = o.network or "bridge"
  if net == "" then options.fail("invalid --network \"\": expected bridge, a network's name, none or host") end
  if net:match("^container:") then
    if net == "container:" then options.fail("invalid --network \"container:\": expected container:NAME or container:ID") end
    -- Docker's rules: what the other container's network already decides.
    if (o.ports and #o.ports > 0) or o.publish_all then
      options.fail("conflicting options: port publishing and the container type network mode (--network " .. net .. ")")
    end
    if o.hostname then options.fail("conflicting options: hostname and the network mode (--network " .. net .. ")") end
    if (o.dns and #o.dns > 0) or (o.dns_search and #o.dns_search > 0) or (o.dns_option and #o.dns_option > 0) then
      options.fail("conflicting options: dns and the network mode (--network " .. net .. ")")
    end
    if o.add_host and #o.add_host > 0 then
      options.fail("conflicting options: custom host-to-IP mapping and the network mode (--network " .. net .. ")")
    end
    if o.ip then options.fail("conflicting options: --ip and the network mode (--network " .. net .. ")") end
    if o.network_alias and #o.network_alias > 0 then
      options.fail("conflicting options: --network-alias and the network mode (--network " .. net .. ")")
    end
    return net, false
  end
  local bridged = net ~= "none" and net ~= "host"
  if not bridged then
    if o.ip then options.fail(("--ip needs a bridge network (not --network %s)"):format(net)) end
    if o.network_alias and #o.network_alias > 0 then options.fail(("--network-alias needs a user network (not --network %s)"):format(net)) end
    if (o.ports and #o.ports > 0) and net == "none" then options.fail("--publish needs a bridge network (not --network none)") end
  end
  return net, bridged
end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function nameservers(text)
  local out = {}
  for ns in (text or ""):gmatch("nameserver%s+([^%s]+)") do out[#out + 1] = ns end
  return out
end

local function loopback(ns) return ns:match("^127%.") or ns == "::1" end

-- resolv.conf for a container with its own network: the host's, unless it points at a
-- resolver on the host's loopback (127.0.0.53 of systemd-resolved), which a container cannot
-- reach: then the servers behind it (/run/systemd/resolve/resolv.conf), else Docker's
-- fallback 8.8.8.8 and 8.8.4.4. --dns, --dns-search and --dns-option replace their parts.
-- On user networks the servers are the networks' DNS server on their gateways
-- (aardvark-dns, `network_dns`: a list), which answers the names of the networks'
-- containers and forwards the rest.
function M.resolv_conf(o, host_text, upstream_text, network_dns)
  local servers = nameservers(host_text)
  local usable = {}
  for _, ns in ipairs(servers) do if not loopback(ns) then usable[#usable + 1] = ns end end
  if #usable == 0 then
    for _, ns in ipairs(nameservers(upstream_text)) do if not loopback(ns) then usable[#usable + 1] = ns end end
  end
  if #usable == 0 then usable = { "8.8.8.8", "8.8.4.4" } end
  if network_dns and #network_dns > 0 then usable = network_dns end
  if o.dns and #o.dns > 0 then usable = o.dns end
  local search = (host_text or ""):match("\nsearch%s+([^\n]+)") or (host_text or ""):match("^search%s+([^\n]+)")
  local opts = (host_text or ""):match("\noptions%s+([^\n]+)") or (host_text or ""):match("^options%s+([^\n]+)")
  if o.dns_search and #o.dns_search > 0 then search = table.concat(o.dns_search, " ") end
  if o.dns_option and #o.dns_option > 0 then opts = table.concat(o.dns_option, " ") end
  local lines = {}
  if search then lines[#lines + 1] = "search " .. search end
  for _, ns in ipairs(usable) do lines[#lines + 1] = "nameserver " .. ns end
  if opts then lines[#lines + 1] = "options " .. opts end
  return table.concat(lines, "\n") .. "\n"
end

-- --add-host NAME:IP (IP may be host-gateway) -> "IP\tNAME" lines.
function M.extra_hosts(list, gateway)
  local out = {}
  for _, h in ipairs(list or {}) do
    local name, ip = h:match("^([^:]+)[:=](.+)$")
    if not name then options.fail(("invalid --add-host %q: expected HOST:IP"):format(h)) end
    if ip == "host-gateway" then
      if not gateway then options.fail(("invalid --add-host %q: host-gateway needs a bridge network"):format(h)) end
      ip = gateway
    end
    out[#out + 1] = ip .. "\t" .. name
  end
  return out
end

-- --network container:REF: the container whose network namespace a new one joins (nil for
-- other modes); it must exist (it must run when the new one starts). o.network becomes
-- container:ID, as the record keeps it.
function M.joined(o)
  local ref = (o.network or ""):match("^container:(.+)$")
  if not ref then return nil end
  local c = md.container.get(ref)
  o.network = "container:" .. c.id
  return c
end

-- The options the spec of a container that joins `target`'s network is built with: its
-- host name is the other's, as Docker gives it.
function M.spec_options(o, target)
  if not target then return o end
  local copy = {}
  for k, v in pairs(o) do copy[k] = v end
  copy.hostname = target:spec().hostname
  return copy
end

-- After the spec is built (files: its generated files, which this completes), before the
-- record: the lease on the network. Returns the endpoint (nil without a bridge network).
-- A container that joins another's network shares its /etc/hosts and /etc/resolv.conf
-- (copies of them, taken now).
function M.attach(o, id, name, image_config, files)
  local joined = (o.network or ""):match("^container:(.+)$")
  if joined then
    local dir = md.container.get(joined):dir()
    files.hosts = read(dir .. "/hosts") or files.hosts
    files["resolv.conf"] = read(dir .. "/resolv.conf") or files["resolv.conf"]
    return nil
  end
  local net, bridged = M.mode(o)
  local endpoint
  if bridged then
    local bindings = ports.bindings(o.ports, o.publish_all, image_config.ExposedPorts)
    -- (The binding itself: md.network's module is not loaded for a run.)
    endpoint = lease(md.config.root, net, { id = id, name = name, ip = o.ip, aliases = o.network_alias or {}, ports = bindings })
  elseif net == "host" and o.ports and #o.ports > 0 then
    io.stderr:write("WARNING: Published ports are discarded when using host network mode\n")
  end
  if net ~= "host" then
    local hostname = files.hostname:gsub("\n$", "")
    local extra = M.extra_hosts(o.add_host, endpoint and endpoint.gateway)
    if endpoint then extra[#extra + 1] = endpoint.ip .. "\t" .. hostname end
    if #extra > 0 then files.hosts = files.hosts .. table.concat(extra, "\n") .. "\n" end
    if bridged or o.dns or o.dns_search or o.dns_option then
      files["resolv.conf"] = M.resolv_conf(o, read("/etc/resolv.conf"), read("/run/systemd/resolve/resolv.conf"),
                                           endpoint and endpoint.dns and { endpoint.gateway } or nil)
    end
  elseif o.add_host and #o.add_host > 0 then
    files.hosts = files.hosts .. table.concat(M.extra_hosts(o.add_host, "127.0.0.1"), "\n") .. "\n"
  end
  return endpoint
end

-- After `network connect` or `disconnect` of a container with a network of its own: its
-- resolv.conf names the DNS servers of the networks it is on now (the gateways of those
-- with one, in interface order), else the host's servers, with its --dns, --dns-search and
-- --dns-option, as at create. Docker does the same when a container on the default
-- network joins a user network (its resolver takes over), so the names of the new network
-- resolve. Written in place: it is bind-mounted into a running container, which a new
-- file in its stead would not reach.
function M.refresh_resolv_conf(c)
  local mode = c.config.network or ""
  if mode == "host" or mode == "none" or mode:match("^container:") then return end
  local servers = {}
  for _, e in ipairs(require("mdlua.network").endpoints(c.id)) do
    if e.dns then servers[#servers + 1] = e.gateway end
  end
  local cfg = c.config
  local o = { dns = cfg.dns, dns_search = cfg.dns_search, dns_option = cfg.dns_option }
  local text = M.resolv_conf(o, read("/etc/resolv.conf"), read("/run/systemd/resolve/resolv.conf"), servers)
  local path = c:dir() .. "/resolv.conf"
  if read(path) == text then return end
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Docker's NetworkSettings of a container, from its endpoints (mode: its --network).
function M.settings(c, mode)
  local json = require "mdlua.json"
  local tpl = require "mdlua.template"
  local own = mode ~= "none" and mode ~= "host" and not mode:match("^container:")
  local endpoints = own and require("mdlua.network").endpoints(c.id) or {}
  local running = c.status == "running" or c.status == "paused"
  local networks, port_map = {}, {}
  local first
  -- As Docker's, the addresses show while the container runs (mdlua keeps the lease from
  -- create to rm, Docker from start to stop).
  for _, e in ipairs(endpoints) do
    first = first or e
    networks[e.network] = { IPAMConfig = json.null, Links = tpl.nil_list,
      Aliases = #e.aliases > 0 and json.array({ table.unpack(e.aliases) }) or tpl.nil_list,
      MacAddress = running and M.mac(e.ip) or "", NetworkID = e.network_id, EndpointID = running and e.host_link or "",
      Gateway = running and e.gateway or "", IPAddress = running and e.ip or "", IPPrefixLen = running and e.prefix or 0,
      IPv6Gateway = "", GlobalIPv6Address = "", GlobalIPv6PrefixLen = 0, DriverOpts = tpl.nil_map }
    for _, p in ipairs(e.ports) do
      local key = p.container_port .. "/" .. p.proto
      port_map[key] = port_map[key] or json.array()
      local list = port_map[key]
      list[#list + 1] = { HostIp = p.host_ip ~= "" and p.host_ip or "0.0.0.0", HostPort = tostring(p.host_port) }
    end
  end
  if not first and not mode:match("^container:") then
    networks[mode] = { IPAMConfig = json.null, Links = tpl.nil_list, Aliases = tpl.nil_list, MacAddress = "",
      NetworkID = mode, EndpointID = "", Gateway = "", IPAddress = "", IPPrefixLen = 0, IPv6Gateway = "",
      GlobalIPv6Address = "", GlobalIPv6PrefixLen = 0, DriverOpts = tpl.nil_map }
  end
  local shown = running and first
  return { Bridge = "", SandboxID = "", SandboxKey = "", HairpinMode = false, LinkLocalIPv6Address = "",
           LinkLocalIPv6PrefixLen = 0, Ports = port_map, SecondaryIPAddresses = tpl.nil_list,
           SecondaryIPv6Addresses = tpl.nil_list, EndpointID = shown and first.host_link or "",
           Gateway = shown and first.gateway or "", GlobalIPv6Address = "", GlobalIPv6PrefixLen = 0,
           IPAddress = shown and first.ip or "", IPPrefixLen = shown and first.prefix or 0, IPv6Gateway = "",
           MacAddress = shown and M.mac(first.ip) or "", Networks = networks }, port_map
end

-- The MAC of a container's link for an address: Docker's, 02:42 and the address's bytes
-- (mdl_rtnl.c sets it so).
function M.mac(ip)
  local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return "" end
  return ("02:42:%02x:%02x:%02x:%02x"):format(tonumber(a), tonumber(b), tonumber(c), tonumber(d))
end

-- Every published port of a container, as bindings.
function M.ports(c)
  local out = {}
  for _, e in ipairs(require("mdlua.network").endpoints(c.id)) do
    for _, p in ipairs(e.ports) do out[#out + 1] = p end
  end
  return out
end

return M
