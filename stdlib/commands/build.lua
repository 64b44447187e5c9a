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
    local build_args = key_values(o["build-arg"], "build-arg")
    local labels = key_values(o.label, "label")
    local opts = { no_cache = o["no-cache"], build_args = build_args, tags = o.tag, labels = labels, progress = progress }
    local stage = md.build.load(args[1], { file = o.file, target = o.target, build_args = build_args })
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
