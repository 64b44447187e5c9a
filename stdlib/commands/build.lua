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

local function exists(path) return md.fs.stat(path) ~= nil end

return {
  summary = "Build an image from a build.lua script or a Dockerfile",
  usage = "mdlua build [OPTIONS] CONTEXT",
  flags = {
    { name = "file", short = "f", type = "string", metavar = "FILE", help = "The build file: a .lua script or a Dockerfile (default: CONTEXT/build.lua, else CONTEXT/Dockerfile)" },
    { name = "tag", short = "t", type = "list", metavar = "NAME[:TAG]", help = "Name the image (repeatable)" },
    { name = "build-arg", type = "list", metavar = "KEY=VALUE", help = "Set a build argument" },
    { name = "target", type = "string", metavar = "STAGE", help = "Build this stage of a Dockerfile" },
    { name = "no-cache", type = "bool", help = "Run every step, using no cached result" },
    { name = "label", type = "list", metavar = "KEY=VALUE", help = "Set a label on the image" },
    { name = "progress", type = "string", metavar = "MODE", help = "auto, plain or quiet" },
    { name = "quiet", short = "q", type = "bool", help = "Show no progress; print the image ID" },
    { name = "iidfile", type = "string", metavar = "FILE", help = "Write the image ID to FILE" },
    { name = "explain", type = "bool", help = "After the build, list every step: cached, or why it ran" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("build: requires exactly one argument (CONTEXT)") end
    local progress = o.quiet and "quiet" or o.progress or "auto"
    if progress ~= "auto" and progress ~= "plain" and progress ~= "quiet" then
      errors.fail(("invalid --progress %q: expected auto, plain or quiet"):format(progress))
    end
    local dir = args[1]
    local st = md.fs.stat(dir)
    if not st or st.type ~= "directory" then errors.fail(("build: the context %s is not a directory"):format(dir)) end
    local file = o.file
    if not file then
      if exists(dir .. "/build.lua") then file = dir .. "/build.lua"
      elseif exists(dir .. "/Dockerfile") then file = dir .. "/Dockerfile"
      else errors.fail(("build: no build.lua or Dockerfile in %s (give one with -f)"):format(dir)) end
    elseif not exists(file) then
      errors.fail(("build: no such file: %s"):format(file))
    end
    local build_args = key_values(o["build-arg"], "build-arg")
    local labels = key_values(o.label, "label")
    local ctx = md.build.context(dir)
    local stage
    local opts = { no_cache = o["no-cache"], build_args = build_args, tags = o.tag, labels = labels, progress = progress }
    if file:match("%.lua$") then
      if o.target then errors.fail("build: --target is for Dockerfiles; a build.lua returns the stage it builds") end
      local chunk, err = loadfile(file, "t")
      if not chunk then errors.fail("build: " .. err) end
      md.build.args = build_args
      -- The script gets the context; what it returns is built with the flags' options.
      stage = chunk(ctx)
      if not md.build.is_stage(stage) then errors.fail(("build: %s must return a stage (md.build.from ...)"):format(file)) end
    else
      local dockerfile = require "mdlua.build.dockerfile"
      local f = io.open(file, "rb")
      if not f then errors.fail("build: cannot read " .. file) end
      local text = f:read("a")
      f:close()
      local name = file:match("[^/]+$")
      stage = dockerfile.stages(dockerfile.parse(text, name), {
        build = md.build, context = ctx, build_args = build_args, target = o.target, file = name,
        image_env = function(image)
          local ok, img = pcall(md.image.get, image)
          return ok and (img:config().config or {}).Env or nil
        end,
      })
    end
    local img, report = md.build.run(stage, opts)
    md.build.finish(nil, opts)
    if o.explain then
      local rows = {}
      for i, st in ipairs(report.steps) do
        rows[i] = { st.where, st.cached and "CACHED" or "RAN", st.cached and "" or (st.reason or ""), st.instruction }
      end
      md.format.table({ "LINE", "RESULT", "WHY", "STEP" }, rows)
    end
    if o.iidfile then md.fs.write(o.iidfile, img.id) end
    if progress == "quiet" then print(img.id) end
    return 0
  end,
}
