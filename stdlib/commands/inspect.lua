local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local format = require "mdlua.format"
local template = require "mdlua.template"

-- Docker's fields of the inspect documents, for --format: a field Docker has and mdlua
-- leaves out takes Go's zero value (template.fields); any other is an error naming it, as
-- in Docker. See docs/templates.md.
local config_fields = template.fields [[
  Hostname:s Domainname:s User:s AttachStdin:b AttachStdout:b AttachStderr:b ExposedPorts:m Tty:b
  OpenStdin:b StdinOnce:b Env:l Cmd:l Healthcheck:p ArgsEscaped:b Image:s Volumes:m WorkingDir:s
  Entrypoint:l NetworkDisabled:b MacAddress:s OnBuild:l Labels:m StopSignal:s StopTimeout:p Shell:l ]]
local container_schema = {
  fields = template.fields [[
    Id:s Created:s Path:s Args:l State:p Image:s ResolvConfPath:s HostnamePath:s HostsPath:s LogPath:s
    Name:s RestartCount:i Driver:s Platform:s MountLabel:s ProcessLabel:s AppArmorProfile:s ExecIDs:l
    HostConfig:p GraphDriver:p SizeRw:p SizeRootFs:p Mounts:l Config:p NetworkSettings:p ]],
  State = { fields = template.fields [[
    Status:s Running:b Paused:b Restarting:b OOMKilled:b Dead:b Pid:i ExitCode:i Error:s StartedAt:s
    FinishedAt:s Health:p ]],
    Health = { fields = template.fields "Status:s FailingStreak:i Log:l" } },
  Config = { fields = config_fields,
             Healthcheck = { fields = template.fields "Test:l Interval:i Timeout:i StartPeriod:i StartInterval:i Retries:i" } },
  HostConfig = { fields = template.fields [[
    Binds:l ContainerIDFile:s LogConfig:p NetworkMode:s PortBindings:m RestartPolicy:p AutoRemove:b
    VolumeDriver:s VolumesFrom:l ConsoleSize:l Annotations:m CapAdd:l CapDrop:l CgroupnsMode:s Dns:l
    DnsOptions:l DnsSearch:l ExtraHosts:l GroupAdd:l IpcMode:s Cgroup:s Links:l OomScoreAdj:i PidMode:s
    Privileged:b PublishAllPorts:b ReadonlyRootfs:b SecurityOpt:l StorageOpt:m Tmpfs:m UTSMode:s
    UsernsMode:s ShmSize:i Sysctls:m Runtime:s Isolation:s CpuShares:i Memory:i NanoCpus:i
    CgroupParent:s BlkioWeight:i BlkioWeightDevice:l BlkioDeviceReadBps:l BlkioDeviceWriteBps:l
    BlkioDeviceReadIOps:l BlkioDeviceWriteIOps:l CpuPeriod:i CpuQuota:i CpuRealtimePeriod:i
    CpuRealtimeRuntime:i CpusetCpus:s CpusetMems:s Devices:l DeviceCgroupRules:l DeviceRequests:l
    MemoryReservation:i MemorySwap:i MemorySwappiness:p OomKillDisable:p PidsLimit:p Ulimits:l CpuCount:i
    CpuPercent:i IOMaximumIOps:i IOMaximumBandwidth:i MaskedPaths:l ReadonlyPaths:l Init:p ]],
    LogConfig = { fields = template.fields "Type:s Config:m" },
    RestartPolicy = { fields = template.fields "Name:s MaximumRetryCount:i" } },
  GraphDriver = { fields = template.fields "Name:s Data:m" },
  NetworkSettings = { fields = template.fields [[
    Bridge:s SandboxID:s SandboxKey:s Ports:m Networks:m IPAddress:s Gateway:s MacAddress:s
    IPPrefixLen:i GlobalIPv6Address:s GlobalIPv6PrefixLen:i IPv6Gateway:s EndpointID:s HairpinMode:b
    LinkLocalIPv6Address:s LinkLocalIPv6PrefixLen:i SecondaryIPAddresses:l SecondaryIPv6Addresses:l ]] },
}
local image_schema = {
  fields = template.fields [[
    Id:s RepoTags:l RepoDigests:l Parent:s Comment:s Created:s DockerVersion:s Author:s Config:p
    Architecture:s Variant:s Os:s OsVersion:s Size:i VirtualSize:i GraphDriver:p RootFS:p Metadata:p
    ManifestDigest:s ]],
  Config = { fields = config_fields },
  RootFS = { fields = template.fields "Type:s Layers:l" },
  Metadata = { fields = template.fields "LastTagTime:s" },
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

-- For the JSON output: Go's nil slices and maps (template.nil_list, template.nil_map in
-- the document, [] and map[] in a template) are null, as in Docker's JSON.
local function plain(v)
  if v == template.nil_list or v == template.nil_map then return json.null end
  if type(v) ~= "table" or v == json.null then return v end
  local out = json.is_array(v) and json.array() or {}
  for k, x in pairs(v) do out[k] = plain(x) end
  return out
end

return {
  summary = "Return low-level information on containers or images",
  usage = "mdlua inspect [OPTIONS] NAME|ID [NAME|ID...]",
  flags = {
    { name = "format", short = "f", type = "string", metavar = "TEMPLATE", help = "Format output with a Go template, or 'json'" },
    { name = "type", type = "string", metavar = "TYPE", help = "container or image (default: whichever matches)" },
    { name = "size", short = "s", type = "bool", help = "Display total file sizes if the type is container" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("inspect: requires at least 1 argument") end
    local docs = json.array()
    for _, ref in ipairs(args) do
      local doc
      if o.type ~= "image" then
        local ok, c = pcall(md.container.get, ref)
        if ok then doc = c:inspect{ size = o.size } end
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
      print(json.encode(plain(docs), { indent = "    " }))
    end
    return 0
  end,
}
