-- A stack as Kubernetes manifests (`mdlua kube`), for the day it outgrows one machine:
--   a Deployment per service (a StatefulSet when it has named volumes of its own, with a
--   claim template for each), a ClusterIP Service named after the service for its ports (so
--   that the names services use for each other resolve the same), a LoadBalancer Service
--   for its published ports, a PersistentVolumeClaim for a volume services share, a
--   ConfigMap for its env files; health checks become liveness and readiness probes,
--   limits resource limits. What has no equivalent (bind mounts of host paths, depends_on
--   order) is left out with a warning. Images must be where the cluster pulls from
--   (`mdlua push`).
local md = require "mdlua"
local errors = require "mdlua.errors"
local envfile = require "mdlua.envfile"

local M = {}

-- A name Kubernetes takes (RFC 1123 label): lower case, digits and dashes.
function M.name(s)
  local n = tostring(s):lower():gsub("[^a-z0-9-]", "-"):gsub("^-+", ""):gsub("-+$", "")
  if n == "" then errors.raise("invalid_option", ("cannot make a Kubernetes name of %q"):format(tostring(s))) end
  return n:sub(1, 63)
end

-- Docker's sizes (64m, 1.5g, 512k, bytes; md.sys.parse_size) as Kubernetes quantities in
-- the largest binary unit that holds them whole (64Mi, 1536Mi, 1Gi, ...).
function M.quantity(s)
  local n, why = md.sys.parse_size(tostring(s))
  if not n then errors.raise("invalid_option", ("invalid size %q: %s"):format(tostring(s), why)) end
  for _, u in ipairs { { "Ti", 1 << 40 }, { "Gi", 1 << 30 }, { "Mi", 1 << 20 }, { "Ki", 1 << 10 } } do
    if n > 0 and n % u[2] == 0 then return (n // u[2]) .. u[1] end
  end
  return tostring(n)
end

-- Seconds from a duration ("30s", "1m30s", "500ms"), rounded up to whole seconds.
local function seconds(d)
  if not d then return nil end
  local total = 0
  for n, unit in d:gmatch("([%d%.]+)(%a+)") do
    total = total + tonumber(n) * ({ h = 3600, m = 60, s = 1, ms = 0.001 })[unit]
  end
  return math.max(1, math.ceil(total))
end

local function probe(hc)
  if not hc or hc.test[1] == "NONE" then return nil end
  local cmd = hc.test[1] == "CMD-SHELL" and { "/bin/sh", "-c", table.concat(hc.test, " ", 2) } or { table.unpack(hc.test, 2) }
  return { exec = { command = cmd }, periodSeconds = seconds(hc.interval), timeoutSeconds = seconds(hc.timeout),
           initialDelaySeconds = seconds(hc.start_period), failureThreshold = hc.retries }
end

-- "8080:80/udp", "127.0.0.1:8080:80", "80" -> {published=, target=, protocol=}; a range is
-- each of its ports.
local function ports(list)
  local out = {}
  for _, p in ipairs(list) do
    local spec, proto = p:match("^(.-)/(%a+)$")
    spec, proto = spec or p, (proto or "tcp"):upper()
    local parts = {}
    for x in (spec .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = x end
    local target, published = parts[#parts], parts[#parts - 1]
    local t1, t2 = target:match("^(%d+)%-(%d+)$")
    t1, t2 = tonumber(t1 or target), tonumber(t2 or target)
    local p1 = published and published ~= "" and tonumber(published:match("^(%d+)")) or nil
    if not t1 then errors.raise("invalid_option", ("invalid port %q"):format(p)) end
    for i = 0, t2 - t1 do
      out[#out + 1] = { target = t1 + i, published = p1 and p1 + i or nil, protocol = proto }
    end
  end
  return out
end

-- A service's container ports: each port and protocol once (a published port and an
-- exposed one may name the same).
local function container_ports(all)
  local out, seen = {}, {}
  for _, p in ipairs(all) do
    local key = p.target .. "/" .. p.protocol
    if not seen[key] then
      seen[key] = true
      out[#out + 1] = p
    end
  end
  return out
end

-- The storage a claim for stack volume `v` requests: its `size` option, else 1Gi.
local function claim_size(stack, v)
  local size = (stack.volumes[v].driver_opts or stack.volumes[v].options or {}).size
  return size and M.quantity(size) or "1Gi"
end

-- Which named volumes each service mounts, and which are shared.
local function volume_use(stack)
  local users = {}
  for n, s in pairs(stack.services) do
    for _, v in ipairs(s.volumes) do
      local src = v:match("^([^:/%.~][^:]*):")
      if src and stack.volumes[src] then
        users[src] = users[src] or {}
        users[src][n] = true
      end
    end
  end
  return users
end

local function labels_for(stack, n)
  return { ["app.kubernetes.io/name"] = M.name(n), ["app.kubernetes.io/part-of"] = M.name(stack.name) }
end

-- The manifests of a stack, as Lua tables, in a stable order. `warn(line)` hears what is left out.
function M.manifests(stack, warn)
  warn = warn or function() end
  local out = {}
  local users = volume_use(stack)
  local names = {}
  for n in pairs(stack.services) do names[#names + 1] = n end
  table.sort(names)
  local shared = {}
  for v, by in pairs(users) do
    local count = 0
    for _ in pairs(by) do count = count + 1 end
    if count > 1 then shared[v] = true end
  end
  local vnames = {}
  for v in pairs(shared) do vnames[#vnames + 1] = v end
  table.sort(vnames)
  for _, v in ipairs(vnames) do
    out[#out + 1] = { apiVersion = "v1", kind = "PersistentVolumeClaim",
      metadata = { name = M.name(v), labels = { ["app.kubernetes.io/part-of"] = M.name(stack.name) } },
      spec = { accessModes = { "ReadWriteMany" }, resources = { requests = { storage = claim_size(stack, v) } } } }
  end
  for _, n in ipairs(names) do
    local s = stack.services[n]
    local name = M.name(n)
    local lbl = labels_for(stack, n)
    local container = { name = name, image = s.image or (stack.name .. "-" .. n) }
    if s.entrypoint then
      container.command = s.entrypoint
      if s.command then container.args = s.command end
    elseif s.command then
      container.args = s.command
    end
    if #s.env > 0 then
      container.env = {}
      for i, kv in ipairs(s.env) do
        local k, v = kv:match("^([^=]*)=?(.*)$")
        container.env[i] = { name = k, value = v }
      end
    end
    if #s.env_file > 0 then
      -- What `up` gives the container: the files read as `run --env-file` reads them.
      local data = {}
      for _, path in ipairs(stack:env_files(s)) do
        for _, kv in ipairs(envfile.read(path, { what = ("services.%s.env_file"):format(n) })) do
          local k, v = kv:match("^([^=]*)=(.*)$")
          if k:match("^[%w_%.%-]+$") then data[k] = v
          else warn(("service %s: %s in %s is not a ConfigMap key: left out"):format(n, k, path)) end
        end
      end
      out[#out + 1] = { apiVersion = "v1", kind = "ConfigMap", metadata = { name = name .. "-env", labels = lbl }, data = data }
      container.envFrom = { { configMapRef = { name = name .. "-env" } } }
    end
    if s.workdir then container.workingDir = s.workdir end
    local all_ports = ports(s.ports)
    for _, e in ipairs(ports(s.expose)) do all_ports[#all_ports + 1] = e end
    local unique_ports = container_ports(all_ports)
    if #unique_ports > 0 then
      container.ports = {}
      for i, p in ipairs(unique_ports) do container.ports[i] = { containerPort = p.target, protocol = p.protocol } end
    end
    local limits = {}
    if s.resources.memory then limits.memory = M.quantity(s.resources.memory) end
    if s.resources.cpus then limits.cpu = tostring(s.resources.cpus) end
    if next(limits) then container.resources = { limits = limits } end
    local p = probe(s.healthcheck)
    if p then container.livenessProbe, container.readinessProbe = p, p end
    local sec = {}
    if s.user and s.user:match("^%d+$") then sec.runAsUser = math.tointeger(tonumber(s.user))
    elseif s.user then warn(("service %s: user %q is a name: Kubernetes takes a numeric runAsUser, left out"):format(n, s.user)) end
    if s.privileged then sec.privileged = true end
    if s.read_only then sec.readOnlyRootFilesystem = true end
    if s.cap_add or s.cap_drop then sec.capabilities = { add = s.cap_add, drop = s.cap_drop } end
    if next(sec) then container.securityContext = sec end

    local pod_volumes, claims = {}, {}
    for _, v in ipairs(s.volumes) do
      local src, dst, opts = v:match("^([^:]+):([^:]+):?(.*)$")
      if not src then
        warn(("service %s: anonymous volume %s becomes an emptyDir"):format(n, v))
        local vn = M.name("anon" .. v)
        pod_volumes[#pod_volumes + 1] = { name = vn, emptyDir = {} }
        container.volumeMounts = container.volumeMounts or {}
        table.insert(container.volumeMounts, { name = vn, mountPath = v })
      elseif stack.volumes[src] then
        container.volumeMounts = container.volumeMounts or {}
        table.insert(container.volumeMounts, { name = M.name(src), mountPath = dst, readOnly = opts:find("ro") and true or nil })
        if shared[src] then
          pod_volumes[#pod_volumes + 1] = { name = M.name(src), persistentVolumeClaim = { claimName = M.name(src) } }
        else
          claims[#claims + 1] = { metadata = { name = M.name(src) },
            spec = { accessModes = { "ReadWriteOnce" }, resources = { requests = { storage = claim_size(stack, src) } } } }
        end
      else
        warn(("service %s: bind mount %s has no place in a cluster: left out"):format(n, v))
      end
    end
    if #s.depends_on > 0 then
      warn(("service %s: depends_on has no Kubernetes equivalent; its probes and restarts take its place"):format(n))
    end
    local pod = { metadata = { labels = lbl }, spec = { containers = { container } } }
    if #pod_volumes > 0 then pod.spec.volumes = pod_volumes end
    if s.hostname then pod.spec.hostname = M.name(s.hostname) end
    local workload = { apiVersion = "apps/v1", metadata = { name = name, labels = lbl },
                       spec = { replicas = s.replicas, selector = { matchLabels = lbl }, template = pod } }
    if #claims > 0 then
      workload.kind = "StatefulSet"
      workload.spec.serviceName = name
      workload.spec.volumeClaimTemplates = claims
    else
      workload.kind = "Deployment"
    end
    out[#out + 1] = workload
    if #unique_ports > 0 then
      local svc_ports, published = {}, {}
      for i, p in ipairs(unique_ports) do
        svc_ports[i] = { name = M.name(p.protocol .. "-" .. p.target), port = p.target, targetPort = p.target, protocol = p.protocol }
      end
      for _, p in ipairs(all_ports) do
        if p.published then
          published[#published + 1] = { name = M.name(p.protocol .. "-" .. p.published), port = p.published, targetPort = p.target, protocol = p.protocol }
        end
      end
      out[#out + 1] = { apiVersion = "v1", kind = "Service", metadata = { name = name, labels = lbl },
                        spec = { selector = lbl, ports = svc_ports } }
      if #published > 0 then
        out[#out + 1] = { apiVersion = "v1", kind = "Service", metadata = { name = name .. "-published", labels = lbl },
                          spec = { type = "LoadBalancer", selector = lbl, ports = published } }
      end
    end
  end
  return out
end

-- The manifests as one YAML stream.
function M.yaml(stack, warn)
  local yaml = require "mdlua.yaml"
  local docs = {}
  for i, m in ipairs(M.manifests(stack, warn)) do
    docs[i] = yaml.encode(m, { "apiVersion", "kind", "metadata", "name", "spec" })
  end
  return table.concat(docs, "---\n")
end

return M
