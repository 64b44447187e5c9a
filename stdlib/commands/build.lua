local md = require "mdlua"
local errors = require "mdlua.errors"

-- KEY=VALUE flags as a map; a bare KEY takes the value from the environment, as Docker.
local function key_values(list, flag)
  local out = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if not k then
      if kv == "" then errors.fail(("invalid --%s %q: expected KEY=VALUE"):format(flag, kv)) end
      k, v = kv, os.getenv(kv)
    end
    if v ~= nil then out[k] = v end
  end
  return out
end

-- --secret id=ID,src=FILE | id=ID,env=VAR (type=file|env as Docker's; a bare id=ID reads
-- the variable ID, as BuildKit).
local function secrets(list)
  local out = {}
  for _, spec in ipairs(list or {}) do
    local kv = {}
    for field in spec:gmatch("[^,]+") do
      local k, v = field:match("^([^=]+)=(.*)$")
      if not k then errors.fail(("invalid --secret %q: expected id=ID,src=FILE"):format(spec)) end
      kv[k] = v
    end
    local id = kv.id
    if not id or id == "" or not id:match("^[%w_.-]+$") then errors.fail(("invalid --secret %q: expected id=ID,src=FILE"):format(spec)) end
    for k in pairs(kv) do
      if k ~= "id" and k ~= "src" and k ~= "source" and k ~= "env" and k ~= "type" then
        errors.fail(("invalid --secret %q: unknown key %q"):format(spec, k))
      end
    end
    local src = kv.src or kv.source
    if kv.type and kv.type ~= "file" and kv.type ~= "env" then errors.fail(("invalid --secret %q: type is file or env"):format(spec)) end
    if kv.type == "env" and not kv.env then kv.env, src = src or id, nil end
    if src then
      local st = md.fs.stat(src)
      if not st or st.type ~= "file" then errors.fail(("invalid --secret %q: %s is not a file"):format(spec, src)) end
      out[id] = { src = src }
    else
      out[id] = { env = kv.env or id }
    end
  end
  return out
end

-- --ssh default | ID=SOCKET: the SSH agents RUN --mount=type=ssh can reach ("default" alone:
-- $SSH_AUTH_SOCK, as Docker). Only an agent's socket: no key files.
local function ssh_agents(list)
  local out = {}
  for _, spec in ipairs(list or {}) do
    local id, sock = spec:match("^([^=]+)=(.*)$")
    if not id then id, sock = spec, os.getenv("SSH_AUTH_SOCK") end
    if not id:match("^[%w_.-]+$") then errors.fail(("invalid --ssh %q: expected default or ID=SOCKET"):format(spec)) end
    if not sock or sock == "" then errors.fail(("invalid --ssh %q: SSH_AUTH_SOCK is not set: give ID=SOCKET"):format(spec)) end
    local st = md.fs.stat(sock)
    if not st or st.type ~= "socket" then
      errors.fail(("invalid --ssh %q: %s is not a socket (an SSH agent's; key files are not supported)"):format(spec, sock))
    end
    out[id] = sock
  end
  return out
end

-- -o type=docker|oci,dest=FILE
local function outputs(list)
  local out = {}
  for _, spec in ipairs(list or {}) do
    local kv = {}
    for field in spec:gmatch("[^,]+") do
      local k, v = field:match("^([^=]+)=(.*)$")
      if not k then errors.fail(("invalid --output %q: expected type=docker|oci,dest=FILE"):format(spec)) end
      kv[k] = v
    end
    for k in pairs(kv) do
      if k ~= "type" and k ~= "dest" then errors.fail(("invalid --output %q: unknown key %q"):format(spec, k)) end
    end
    if kv.type ~= "docker" and kv.type ~= "oci" then
      errors.fail(("invalid --output %q: type must be docker or oci"):format(spec))
    end
    if not kv.dest or kv.dest == "" or kv.dest == "-" then errors.fail(("invalid --output %q: dest=FILE is required"):format(spec)) end
    out[#out + 1] = kv
  end
  return out
end

return {
  summary = "Build an image from a build.lua script or a Dockerfile",
  usage = "mdlua build [OPTIONS] CONTEXT",
  flags = {
    { name = "file", short = "f", type = "string", metavar = "FILE", help = "The build file: a .lua script or a Dockerfile (default: CONTEXT/build.lua, else CONTEXT/Dockerfile)" },
    { name = "tag", short = "t", type = "list", metavar = "NAME[:TAG]", help = "Name the image (repeatable)" },
    { name = "build-arg", type = "list", metavar = "KEY=VALUE", help = "Set a build argument" },
    { name = "target", type = "string", metavar = "STAGE", help = "Build this stage of a Dockerfile" },
    { name = "no-cache", type = "bool", help = "Run every step, using no cached result" },
    { name = "pull", type = "bool", help = "Pull every base image again (without it, only missing ones are pulled)" },
    { name = "label", type = "list", metavar = "KEY=VALUE", help = "Set a label on the image" },
    { name = "progress", type = "string", metavar = "MODE", help = "auto, plain or quiet" },
    { name = "quiet", short = "q", type = "bool", help = "Show no progress; print the image ID" },
    { name = "iidfile", type = "string", metavar = "FILE", help = "Write the image ID to FILE" },
    { name = "explain", type = "bool", help = "After the build, list every step: cached, or why it ran" },
    { name = "secret", type = "list", metavar = "id=ID,src=FILE", help = "A secret RUN --mount=type=secret can read (src=FILE or env=VAR); never in the image" },
    { name = "ssh", type = "list", metavar = "default|ID=SOCKET", help = "An SSH agent RUN --mount=type=ssh can reach (default: $SSH_AUTH_SOCK)" },
    { name = "output", short = "o", type = "list", metavar = "type=docker|oci,dest=FILE", help = "Also write the image to an archive" },
    { name = "timestamp", type = "string", metavar = "SECONDS", help = "The time of everything the build makes (default: SOURCE_DATE_EPOCH)" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("build: requires exactly one argument (CONTEXT)") end
    local progress = o.quiet and "quiet" or o.progress or "auto"
    if progress ~= "auto" and progress ~= "plain" and progress ~= "quiet" then
      errors.fail(("invalid --progress %q: expected auto, plain or quiet"):format(progress))
    end
    local build_args = key_values(o["build-arg"], "build-arg")
    local labels = key_values(o.label, "label")
    local timestamp
    if o.timestamp then
      timestamp = math.tointeger(tonumber(o.timestamp))
      if not timestamp or timestamp < 0 then errors.fail(("invalid --timestamp %q: expected seconds since 1970"):format(o.timestamp)) end
    end
    local exports = outputs(o.output)
    local opts = { no_cache = o["no-cache"], build_args = build_args, tags = o.tag, labels = labels, progress = progress,
                   secrets = secrets(o.secret), ssh = ssh_agents(o.ssh), timestamp = timestamp }
    local pull = o.pull and "always" or "missing"
    local stage, file = md.build.load(args[1], { file = o.file, target = o.target, build_args = build_args, pull = pull,
                                                 quiet = progress == "quiet" })
    -- (A Dockerfile's bases were pulled as it was read; a script's are pulled as they run.)
    opts.pull = file:match("%.lua$") and pull or "missing"
    local img, report = md.build.run(stage, opts)
    md.build.finish(nil, opts)
    if o.explain then
      local rows = {}
      for i, st in ipairs(report.steps) do
        rows[i] = { st.where, st.cached and "CACHED" or "RAN", st.cached and "" or (st.reason or ""), st.instruction }
      end
      md.format.table({ "LINE", "RESULT", "WHY", "STEP" }, rows)
    end
    for _, e in ipairs(exports) do md.image.save { images = { img.id }, output = e.dest, format = e.type } end
    if o.iidfile then md.fs.write(o.iidfile, img.id) end
    if progress == "quiet" then print(img.id) end
    return 0
  end,
}
