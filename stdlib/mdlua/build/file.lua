-- A context's build file as a stage: a build.lua script (it gets the context and returns
-- the stage) or a Dockerfile (build/dockerfile.lua, on the same md.build API). `mdlua
-- build` and a stack service's `build` both come here.
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}

local function exists(path) return md.fs.stat(path) ~= nil end

local function bad(message) errors.raise("invalid_argument", message) end

-- o.file: the build file (default DIR/build.lua, else DIR/Dockerfile); o.target: a
-- Dockerfile's stage; o.build_args: a map; o.pull ("missing", "always"): a Dockerfile's base
-- images pulled as its FROMs are read (o.quiet: without a word). Returns the stage and the
-- file read.
function M.load(dir, o)
  o = o or {}
  local st = md.fs.stat(dir)
  if not st or st.type ~= "directory" then bad(("build: the context %s is not a directory"):format(dir)) end
  local file = o.file
  if not file then
    if exists(dir .. "/build.lua") then file = dir .. "/build.lua"
    elseif exists(dir .. "/Dockerfile") then file = dir .. "/Dockerfile"
    else bad(("build: no build.lua or Dockerfile in %s (give one with -f)"):format(dir)) end
  elseif not exists(file) then
    errors.raise("not_found", ("build: no such file: %s"):format(file))
  end
  local build_args = o.build_args or {}
  local ctx = md.build.context(dir)
  if file:match("%.lua$") then
    if o.target then bad("build: a target is for Dockerfiles; a build.lua returns the stage it builds") end
    local chunk, err = loadfile(file, "t")
    if not chunk then bad("build: " .. err) end
    md.build.args = build_args
    local stage = chunk(ctx)
    if not md.build.is_stage(stage) then bad(("build: %s must return a stage (md.build.from ...)"):format(file)) end
    return stage, file
  end
  local dockerfile = require "mdlua.build.dockerfile"
  local pulled = {}
  local f = io.open(file, "rb")
  if not f then bad("build: cannot read " .. file) end
  local text = f:read("a")
  f:close()
  local name = file:match("[^/]+$")
  return dockerfile.stages(dockerfile.parse(text, name), {
    build = md.build, context = ctx, build_args = build_args, target = o.target, file = name,
    image_config = function(image)
      local ok, img = pcall(md.image.get, image)
      local missing = not ok and errors.is(img) and img.code == "not_found"
      if (o.pull == "always" and not pulled[image]) or (o.pull == "missing" and missing) then
        -- Pulled now: its Env and ONBUILD triggers are part of the Dockerfile's meaning.
        if not o.quiet then io.stderr:write("Pulling ", image, "\n") end
        img = md.pull(image)
        pulled[image], ok = true, true
      end
      return ok and (img:config().config or {}) or nil
    end,
  }), file
end

return M
