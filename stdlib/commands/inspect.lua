local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local format = require "mdlua.format"
local template = require "mdlua.template"

-- Docker's fields of the inspect documents, for --format: a field Docker has evaluates
-- (to "<no value>" when mdlua leaves it out); any other is an error naming it, as in
-- Docker. See docs/templates.md.
local config_fields = { "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
  "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image",
  "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels", "StopSignal",
  "StopTimeout", "Shell" }
local container_schema = {
  fields = { "Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath",
    "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile",
    "ExecIDs", "HostConfig", "GraphDriver", "SizeRw", "SizeRootFs", "Mounts", "Config", "NetworkSettings" },
  State = { fields = { "Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error",
    "StartedAt", "FinishedAt", "Health" } },
  Config = { fields = config_fields },
  HostConfig = { fields = { "Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy",
    "AutoRemove", "VolumeDriver", "VolumesFrom", "ConsoleSize", "Annotations", "CapAdd", "CapDrop", "CgroupnsMode",
    "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "Cgroup", "Links", "OomScoreAdj",
    "PidMode", "Privileged", "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt", "StorageOpt", "Tmpfs", "UTSMode",
    "UsernsMode", "ShmSize", "Sysctls", "Runtime", "Isolation", "CpuShares", "Memory", "NanoCpus", "CgroupParent",
    "BlkioWeight", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems",
    "Devices", "DeviceCgroupRules", "MemoryReservation", "MemorySwap", "MemorySwappiness", "OomKillDisable",
    "PidsLimit", "Ulimits", "MaskedPaths", "ReadonlyPaths", "Init" } },
  NetworkSettings = { fields = { "Bridge", "SandboxID", "SandboxKey", "Ports", "Networks", "IPAddress", "Gateway",
    "MacAddress", "IPPrefixLen", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPv6Gateway", "EndpointID" } },
}
local image_schema = {
  fields = { "Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "DockerVersion", "Author", "Config",
    "Architecture", "Variant", "Os", "OsVersion", "Size", "VirtualSize", "GraphDriver", "RootFS", "Metadata",
    "ManifestDigest" },
  Config = { fields = config_fields },
  RootFS = { fields = { "Type", "Layers" } },
  Metadata = { fields = { "LastTagTime" } },
}

local function mark(t, schema)
  if type(t) ~= "table" or t == json.null or json.is_array(t) then return t end
  template.struct(t, schema.fields)
  for k, sub in pairs(schema) do
    if k ~= "fields" then mark(t[k], sub) end
  end
  return t
end

local function shape(doc)
  return mark(doc, doc.State and container_schema or image_schema)
end

return {
  summary = "Return low-level information on containers or images",
  usage = "mdlua inspect [OPTIONS] NAME|ID [NAME|ID...]",
  flags = {
    { name = "format", short = "f", type = "string", metavar = "TEMPLATE", help = "Format output with a Go template, or 'json'" },
    { name = "type", type = "string", metavar = "TYPE", help = "container or image (default: whichever matches)" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("inspect: requires at least 1 argument") end
    local docs = json.array()
    for _, ref in ipairs(args) do
      local doc
      if o.type ~= "image" then
        local ok, c = pcall(md.container.get, ref)
        if ok then doc = c:inspect() end
      end
      if not doc and o.type ~= "container" then
        local ok, img = pcall(md.image.get, ref)
        if ok then doc = img:inspect() end
      end
      if not doc then
        errors.fail(o.type == "image" and ("no such image: " .. ref) or ("no such object: " .. ref))
      end
      docs[#docs + 1] = doc
    end
    if o.format and o.format ~= "json" then
      local t = template.parse((format.prepare(o.format)))
      local out = {}
      for i, d in ipairs(docs) do out[i] = t:execute(shape(d)) .. "\n" end
      io.write(table.concat(out))
    else
      print(json.encode(docs, { indent = "    " }))
    end
    return 0
  end,
}
