-- The stack commands (Compose's names): `mdlua up`, `mdlua down`, and `mdlua stack
-- up|down|ps|logs|start|stop|restart|exec|run|build|scale|config|convert`. Each takes
-- -f/--file (default: stack.lua, then compose.yaml, compose.yml, docker-compose.yml,
-- docker-compose.yaml in the current directory) and -p/--project-name.
local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

local M = {}

local defaults = { "stack.lua", "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml" }

-- The flags several commands take, by name.
local shared = {
  file = { name = "file", short = "f", type = "string", metavar = "FILE", help = "The stack file (stack.lua or a Compose file)" },
  ["project-name"] = { name = "project-name", short = "p", type = "string", metavar = "NAME",
                       help = "Project name (default: the stack's name, else its directory's)" },
  timeout = { name = "timeout", short = "t", type = "int", metavar = "SECONDS", help = "Shutdown timeout (default 10)" },
  env = { name = "env", short = "e", type = "list", metavar = "K=V", help = "Set environment variables" },
}
M.shared_flags = shared

-- A command's flags: -f and -p, then each of `list`, a shared flag's name or a flag's table.
local function flags(list)
  local out = { shared.file, shared["project-name"] }
  for _, f in ipairs(list or {}) do out[#out + 1] = type(f) == "string" and assert(shared[f], f) or f end
  return out
end

-- The stack named by -f, by a first argument that is a stack file (`mdlua up stack.lua`),
-- or found in the current directory. Returns it and the remaining arguments.
local function load(o, args)
  local file = o.file
  local rest = args
  if not file and args[1] and args[1]:match("%.lua$") or (not file and args[1] and args[1]:match("%.ya?ml$")) then
    file, rest = args[1], { table.unpack(args, 2) }
  end
  if not file then
    for _, f in ipairs(defaults) do
      if md.fs.exists(f) then file = f; break end
    end
  end
  if not file then errors.fail("no stack file: give one with -f, or have stack.lua or compose.yaml here") end
  if not md.fs.exists(file) then errors.fail("no such stack file: " .. file) end
  return md.stack.load(file, { name = o["project-name"] }), rest
end
M.load = load

local function say(line) io.stderr:write(line, "\n") end

-- Service names from the arguments, each one checked.
local function services(stack, args)
  for _, n in ipairs(args) do
    if not stack.services[n] then errors.fail("no such service: " .. n) end
  end
  return args
end

-- Interleaved logs of containers, each line after "NAME  | " (coloured on a terminal), from
-- `tail` lines back; with `follow`, until every container has stopped.
local function show_logs(containers, tail, follow, timestamps)
  local width = 0
  for _, c in ipairs(containers) do width = math.max(width, #c.name) end
  local colours = { 36, 33, 32, 35, 34, 31 }
  local tty = md.sys.isatty(1)
  local readers = {}
  for i, c in ipairs(containers) do
    local prefix = c.name .. (" "):rep(width - #c.name) .. "  | "
    if tty then prefix = ("\27[%dm%s\27[0m"):format(colours[(i - 1) % #colours + 1], prefix) end
    readers[i] = { c = c, reader = c:log_reader { tail = tail }, prefix = prefix, pending = "" }
  end
  local function drain(r)
    for _, time, text in r.reader:records() do
      local s = r.pending .. text
      r.pending = ""
      for line, nl in s:gmatch("([^\n]*)(\n?)") do
        if nl == "" then r.pending = line; break end
        io.stdout:write(r.prefix, timestamps and (time .. " ") or "", line, "\n")
      end
    end
    io.stdout:flush()
  end
  for _, r in ipairs(readers) do drain(r) end
  if not follow then return end
  while true do
    local running = false
    for _, r in ipairs(readers) do
      local ok, now = pcall(md.container.get, r.c.id)
      if ok and (now.status == "running" or now.status == "restarting") then running = true end
      drain(r)
    end
    if not running then break end
    md.sys.sleep(0.1)
  end
  for _, r in ipairs(readers) do
    if r.pending ~= "" then io.stdout:write(r.prefix, r.pending, "\n") end
  end
end

M.up = {
  summary = "Create and start a stack's containers",
  usage = "mdlua up [OPTIONS] [STACK_FILE] [SERVICE...]",
  flags = flags {
    { name = "detach", short = "d", type = "bool", help = "Start in the background and return" },
    { name = "wait", type = "bool", help = "Wait until services are running (healthy when they have a check); implies -d" },
    { name = "force-recreate", type = "bool", help = "Recreate containers even if nothing changed" },
    { name = "build", type = "bool", help = "Build the images of services with a build first (else only missing ones)" },
    { name = "scale", type = "list", metavar = "SERVICE=N", help = "Scale a service to N replicas" },
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    local replicas
    for _, kv in ipairs(o.scale or {}) do
      local s, n = kv:match("^([^=]+)=(%d+)$")
      if not s then errors.fail(("invalid --scale %q: expected SERVICE=N"):format(kv)) end
      replicas = replicas or {}
      replicas[s] = math.tointeger(tonumber(n))
    end
    stack:up { services = services(stack, rest), force_recreate = o["force-recreate"], wait = o.wait, progress = say,
               replicas = replicas, build = o.build }
    if o.detach or o.wait then return 0 end
    -- Attached, as Compose: the services' output until they have all stopped.
    show_logs(stack:selected(rest), 0, true)
    return 0
  end,
}

M.down = {
  summary = "Stop and remove a stack's containers and networks",
  usage = "mdlua down [OPTIONS] [STACK_FILE]",
  flags = flags {
    { name = "volumes", short = "v", type = "bool", help = "Remove the stack's named volumes too" },
    { name = "rmi", type = "string", metavar = "TYPE", help = "Remove images: local (built ones) or all" },
    "timeout",
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    if #rest > 0 then errors.fail("down: takes no service names") end
    if o.rmi and o.rmi ~= "local" and o.rmi ~= "all" then errors.fail(("invalid --rmi %q: expected local or all"):format(o.rmi)) end
    stack:down { volumes = o.volumes, timeout = o.timeout, rmi = o.rmi, progress = say }
    return 0
  end,
}

M.ps = {
  summary = "List a stack's containers",
  usage = "mdlua stack ps [OPTIONS] [SERVICE...]",
  flags = flags {
    { name = "all", short = "a", type = "bool", help = "Show stopped containers too" },
    { name = "quiet", short = "q", type = "bool", help = "Only display IDs" },
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    local want = {}
    for _, n in ipairs(services(stack, rest)) do want[n] = true end
    local rows = {}
    for _, c in ipairs(stack:ps { all = o.all }) do
      local service = c.labels[md.stack.LABEL.service]
      if not next(want) or want[service] then
        if o.quiet then print(c.id) else
          local list = {}
          for _, p in ipairs(c:ports()) do
            list[#list + 1] = ("%s:%s->%s/%s"):format(p.host_ip ~= "" and p.host_ip or "0.0.0.0", p.host_port, p.container_port, p.proto)
          end
          local ports = table.concat(list, ", ")
          rows[#rows + 1] = { c.name, c.image_name, '"' .. table.concat(c.command, " ") .. '"', service,
                              format.ago(c.created), format.status(c), ports }
        end
      end
    end
    if not o.quiet then format.table({ "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS" }, rows) end
    return 0
  end,
}

M.logs = {
  summary = "Show the output of a stack's containers",
  usage = "mdlua stack logs [OPTIONS] [SERVICE...]",
  flags = flags {
    { name = "follow", type = "bool", help = "Follow log output (-f is the stack file here)" },
    { name = "tail", short = "n", type = "string", default = "all", metavar = "N", help = "Lines from the end of each log" },
    { name = "timestamps", short = "t", type = "bool", help = "Show timestamps" },
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    local tail = o.tail == "all" and math.huge or math.tointeger(tonumber(o.tail))
    if not tail or tail < 0 then errors.fail(("invalid --tail %q: expected a number or all"):format(o.tail)) end
    show_logs(stack:selected(services(stack, rest)), tail, o.follow, o.timestamps)
    return 0
  end,
}

local function each(verb, summary)
  return {
    summary = summary,
    usage = ("mdlua stack %s [OPTIONS] [SERVICE...]"):format(verb),
    flags = flags(verb ~= "start" and { "timeout" } or nil),
    run = function(o, args)
      local stack, rest = load(o, args)
      stack[verb](stack, { services = services(stack, rest), timeout = o.timeout })
      return 0
    end,
  }
end
M.start = each("start", "Start a stack's stopped containers")
M.stop = each("stop", "Stop a stack's containers")
M.restart = each("restart", "Restart a stack's containers")

M.exec = {
  summary = "Run a command in a service's running container",
  usage = "mdlua stack exec [OPTIONS] SERVICE COMMAND [ARG...]",
  interspersed = false,
  flags = flags {
    { name = "index", type = "int", default = 1, metavar = "N", help = "Which replica (default 1)" },
    "env",
    { name = "user", short = "u", type = "string", help = "Username or UID" },
    { name = "workdir", short = "w", type = "string", metavar = "DIR", help = "Working directory" },
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    if #rest < 2 then errors.fail("exec: requires SERVICE and COMMAND") end
    local service = services(stack, { rest[1] })[1]
    local c = stack:service(service):containers()[o.index]
    if not c then errors.fail(("service %s has no container number %d"):format(service, o.index)) end
    local r = c:exec { cmd = { table.unpack(rest, 2) }, env = o.env, user = o.user, workdir = o.workdir }
    return r.exit_code
  end,
}

M.run = {
  summary = "Run a one-off command in a new container of a service",
  usage = "mdlua stack run [OPTIONS] SERVICE [COMMAND] [ARG...]",
  interspersed = false,
  flags = flags {
    { name = "rm", type = "bool", help = "Remove the container when it exits" },
    "env",
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    if #rest < 1 then errors.fail("run: requires SERVICE") end
    local service = services(stack, { rest[1] })[1]
    local cmd = #rest > 1 and { table.unpack(rest, 2) } or nil
    local r = stack:run(service, { cmd = cmd, rm = o.rm, env = o.env })
    return r.exit_code
  end,
}

M.build = {
  summary = "Build the images of services that have a build",
  usage = "mdlua stack build [OPTIONS] [SERVICE...]",
  flags = flags {
    { name = "no-cache", type = "bool", help = "Run every step, using no cached result" },
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    stack:build { services = services(stack, rest), no_cache = o["no-cache"], progress = say }
    return 0
  end,
}

M.scale = {
  summary = "Set the number of containers of services",
  usage = "mdlua stack scale [OPTIONS] SERVICE=N...",
  flags = flags(),
  run = function(o, args)
    local stack, rest = load(o, args)
    if #rest == 0 then errors.fail("scale: requires SERVICE=N") end
    for _, kv in ipairs(rest) do
      local s, n = kv:match("^([^=]+)=(%d+)$")
      if not s then errors.fail(("invalid %q: expected SERVICE=N"):format(kv)) end
      services(stack, { s })
      stack:scale(s, math.tointeger(tonumber(n)))
    end
    return 0
  end,
}

M.config = {
  summary = "Print the stack as mdlua reads it (JSON)",
  usage = "mdlua stack config [OPTIONS]",
  flags = flags {
    { name = "services", type = "bool", help = "Print the service names, one per line" },
  },
  run = function(o, args)
    local stack, rest = load(o, args)
    if #rest > 0 then errors.fail("config: takes no arguments") end
    if o.services then
      local names = {}
      for n in pairs(stack.services) do names[#names + 1] = n end
      table.sort(names)
      for _, n in ipairs(names) do print(n) end
      return 0
    end
    print(require("mdlua.json").encode(stack:config(), { indent = "  " }))
    return 0
  end,
}

M.convert = {
  summary = "Write a Compose file as a stack.lua to start from",
  usage = "mdlua stack convert COMPOSE_FILE",
  flags = {},
  run = function(_, args)
    if #args ~= 1 then errors.fail("convert: requires exactly 1 argument (COMPOSE_FILE)") end
    local compose = require "mdlua.stack.compose"
    local t = compose.load(args[1])
    require("mdlua.stack.model").normalise(t, ".")   -- what would not load is an error now, not later
    io.write(compose.lua(t, args[1]))
    return 0
  end,
}

return M
