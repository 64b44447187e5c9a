local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

-- Docker's container inspect document.
local function container_document(c)
  local spec = c:config()
  local extra = json.decode(c.extra)
  local running = c.status == "running"
  return {
    Id = c.id,
    Created = c.created,
    Path = spec.process.args[1],
    Args = json.array({ table.unpack(spec.process.args, 2) }),
    State = {
      Status = c.status, Running = running, Paused = c.status == "paused", Restarting = c.status == "restarting",
      OOMKilled = c.oom_killed, Dead = false, Pid = running and c.pid or 0, ExitCode = c.exit_code, Error = c.error,
      StartedAt = c.started_at ~= "" and c.started_at or "0001-01-01T00:00:00Z",
      FinishedAt = c.finished_at ~= "" and c.finished_at or "0001-01-01T00:00:00Z",
      Health = (function()
        local ok, h = pcall(json.decode, c.health or "null")
        if ok and type(h) == "table" then return h end
      end)(),
    },
    Image = c.image,
    Name = "/" .. c.name,
    RestartCount = c.restart_count,
    Config = {
      Hostname = spec.hostname, User = spec.annotations["io.mdlua.user"] or "", Tty = spec.process.terminal,
      OpenStdin = extra.interactive or false, Env = spec.process.env, Cmd = spec.process.args, Image = c.image_name,
      WorkingDir = spec.process.cwd, StopSignal = spec.annotations["io.mdlua.stop-signal"],
      Healthcheck = spec.annotations["io.mdlua.healthcheck"] and json.decode(spec.annotations["io.mdlua.healthcheck"]) or nil,
    },
    HostConfig = {
      AutoRemove = extra.rm or false, ReadonlyRootfs = spec.root.readonly or false,
      RestartPolicy = { Name = spec.annotations["io.mdlua.restart"]:match("^[%a-]+"),
                        MaximumRetryCount = tonumber(spec.annotations["io.mdlua.restart"]:match(":(%d+)$")) or 0 },
      Init = spec.annotations["io.mdlua.init"] == "true", CapAdd = json.array(), CapDrop = json.array(),
      NetworkMode = "none",
    },
    Mounts = json.array(),
    NetworkSettings = { Networks = {} },
    LogPath = c:dir() .. "/container.log",
  }
end

return {
  summary = "Return low-level information on containers or images",
  usage = "mdlua inspect [OPTIONS] NAME|ID [NAME|ID...]",
  flags = {
    { name = "format", short = "f", type = "string", metavar = "TEMPLATE", help = "Format output with a Go-like template" },
    { name = "type", type = "string", metavar = "TYPE", help = "container or image (default: whichever matches)" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("inspect: requires at least 1 argument") end
    local docs = json.array()
    for _, ref in ipairs(args) do
      local doc
      if o.type ~= "image" then
        local ok, c = pcall(md.container.get, ref)
        if ok then doc = container_document(c) end
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
    if o.format then
      for _, d in ipairs(docs) do print(format.template(o.format, d)) end
    else
      print(json.encode(docs, { indent = "    " }))
    end
    return 0
  end,
}
