-- Published ports: Docker's -p forms parsed into bindings the engine stores
-- (Sources/MDCore/Network/PortBinding.swift), and the text `ps` and `port` show.
--   8080:80   127.0.0.1:8080:80   8080:80/udp   8000-8010:8000-8010   80 (a free host port)
--   127.0.0.1::80 (a free port on one address)
-- A binding: { proto = "tcp"|"udp", host_ip = "" (every address) | "A.B.C.D",
--              host_port = N (0: the engine picks one), container_port = N }
local M = {}

local function fail(msg)
  require("mdlua.options").fail(msg)
end

local function port_range(s, spec, what)
  local a, b = s:match("^(%d+)%-(%d+)$")
  if not a then a = s:match("^(%d+)$"); b = a end
  a, b = tonumber(a), tonumber(b)
  if not a or a < 1 or b > 65535 or a > b then
    fail(("invalid --publish %q: %s port %q is not a port 1-65535 or a range A-B"):format(spec, what, s))
  end
  return a, b
end

local function valid_ip(s)
  local parts = { s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do if tonumber(p) > 255 then return false end end
  return true
end

-- One -p value -> a list of bindings (a range gives one per port).
function M.parse(spec)
  if type(spec) ~= "string" or spec == "" then fail("invalid --publish: empty") end
  local body, proto = spec:match("^(.-)/(%a+)$")
  if not body then body, proto = spec, "tcp" end
  proto = proto:lower()
  if proto ~= "tcp" and proto ~= "udp" then
    fail(("invalid --publish %q: protocol %q is not tcp or udp"):format(spec, proto))
  end
  local fields = {}
  for f in (body .. ":"):gmatch("([^:]*):") do fields[#fields + 1] = f end
  local ip, host, container
  if #fields == 1 then container = fields[1]
  elseif #fields == 2 then host, container = fields[1], fields[2]
  elseif #fields == 3 then ip, host, container = fields[1], fields[2], fields[3]
  else fail(("invalid --publish %q: expected [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]"):format(spec)) end
  if ip == "0.0.0.0" then ip = "" end
  if ip and ip ~= "" and not valid_ip(ip) then fail(("invalid --publish %q: %q is not an IPv4 address"):format(spec, ip)) end
  local c1, c2 = port_range(container, spec, "container")
  local out = {}
  if host == nil or host == "" then
    for p = c1, c2 do out[#out + 1] = { proto = proto, host_ip = ip or "", host_port = 0, container_port = p } end
    return out
  end
  local h1, h2 = port_range(host, spec, "host")
  if h2 - h1 ~= c2 - c1 then
    fail(("invalid --publish %q: the host and container ranges differ in size"):format(spec))
  end
  for i = 0, c2 - c1 do
    out[#out + 1] = { proto = proto, host_ip = ip or "", host_port = h1 + i, container_port = c1 + i }
  end
  return out
end

-- Every -p of a container, and -P: the image's exposed ports ({"80/tcp": {}}) to free ports.
function M.bindings(list, publish_all, exposed)
  local out, seen = {}, {}
  for _, spec in ipairs(list or {}) do
    for _, b in ipairs(M.parse(spec)) do
      out[#out + 1] = b
      seen[b.container_port .. "/" .. b.proto] = true
    end
  end
  if publish_all then
    local keys = {}
    for k in pairs(exposed or {}) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local port, proto = k:match("^(%d+)/?(%a*)$")
      proto = proto ~= "" and proto or "tcp"
      if port and not seen[port .. "/" .. proto] then
        out[#out + 1] = { proto = proto, host_ip = "", host_port = 0, container_port = tonumber(port) }
      end
    end
  end
  return out
end

-- "0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp", as `docker ps` shows them.
function M.text(bindings)
  local parts = {}
  for _, b in ipairs(bindings or {}) do
    parts[#parts + 1] = ("%s:%d->%d/%s"):format(b.host_ip ~= "" and b.host_ip or "0.0.0.0", b.host_port, b.container_port, b.proto)
  end
  return table.concat(parts, ", ")
end

return M
