-- md.build: builds as Lua values (docs/builds.md).
--   md.build.from(image)            a stage on an image (md.build.scratch(): on nothing)
--   md.build.context(dir, o)        files a COPY can read (o.exclude; .dockerignore)
--   md.build.inline(files, o)       files given by content, for a COPY (COPY <<EOF)
--   md.build.load(dir, o)           the stage DIR's build.lua or Dockerfile describes
--   md.build.run(stage, o)          builds it: the image, and a report of every step
-- A stage's methods (run, copy, env, workdir, ...) return new stages (build/stage.lua); a
-- stage given :tag(name) is built when the script that made it ends, if it was not before.
local md = require "mdlua"
local errors = require "mdlua.errors"
local stage = require "mdlua.build.stage"
local context = require "mdlua.build.context"
local executor = require "mdlua.build.executor"
local progress = require "mdlua.build.progress"

local M = {}

function M.from(image)
  if type(image) ~= "string" or image == "" then
    errors.raise("invalid_argument", "md.build.from: expected an image name or ID", 2)
  end
  if image == "scratch" then return stage.new("scratch") end
  return stage.new(image)
end

function M.scratch() return stage.new("scratch") end

function M.context(dir, o) return context.new(dir, o) end

function M.inline(files, o) return require("mdlua.build.inline").new(files, o) end

-- The stage DIR's build.lua or Dockerfile describes (build/file.lua): o.file, o.target,
-- o.build_args. Returns the stage and the file read.
function M.load(dir, o)
  o = errors.check_options(o, "md.build.load", { "file", "target", "build_args", "pull", "quiet" })
  if type(dir) ~= "string" then errors.raise("invalid_argument", "md.build.load: expected a directory", 2) end
  return require("mdlua.build.file").load(dir, o)
end

M.is_stage = stage.is

-- Tagged stages not built yet, in the order they were tagged.
local pending = {}
function M.pending(s) pending[#pending + 1] = s end

local option_names = { "no_cache", "build_args", "progress", "tags", "labels", "quiet", "secrets", "ssh", "timestamp", "pull" }

-- Builds `s`: o.no_cache, o.build_args (a map), o.tags (more names), o.labels (a map, on the
-- final image), o.progress ("auto", "plain", "quiet" or a function(kind, event)), o.secrets
-- ({ ID = { src = FILE } or { env = NAME } }: what RUN's secret mounts show), o.ssh ({ ID =
-- SOCKET }: the SSH agents RUN's ssh mounts reach), o.timestamp
-- (seconds since 1970: the time of every image, history entry and file the build makes,
-- for an image that is the same whenever the same inputs are built; default
-- SOURCE_DATE_EPOCH from the environment), o.pull ("missing": a base image the store lacks
-- is pulled, "always": every base is pulled again, "never": the default from Lua).
-- Returns the image and the report: { steps = { { instruction, cached, reason, image,
-- seconds, where } } }.
function M.run(s, o)
  o = errors.check_options(o, "md.build.run", option_names)
  if not stage.is(s) then errors.raise("invalid_argument", "md.build.run: expected a stage (md.build.from)", 2) end
  -- A built stage is no longer pending.
  for i = #pending, 1, -1 do
    if pending[i] == s then table.remove(pending, i) end
  end
  if o.labels and next(o.labels) then s = stage.add(s, { kind = "label", value = (function()
    local out = {}
    for k, v in pairs(o.labels) do out[#out + 1] = { k, v } end
    table.sort(out, function(a, b) return a[1] < b[1] end)
    return out
  end)(), where = "--label" }) end
  if o.secrets ~= nil then
    if type(o.secrets) ~= "table" then errors.raise("invalid_argument", "md.build.run: secrets: expected a table { ID = { src = FILE } }", 2) end
    for id, v in pairs(o.secrets) do
      if type(id) ~= "string" or not (type(v) == "string" or (type(v) == "table" and (type(v.src) == "string" or type(v.env) == "string"))) then
        errors.raise("invalid_argument", ("md.build.run: secrets.%s: expected { src = FILE } or { env = NAME }"):format(tostring(id)), 2)
      end
    end
  end
  if o.ssh ~= nil then
    if type(o.ssh) ~= "table" then errors.raise("invalid_argument", "md.build.run: ssh: expected a table { ID = SOCKET }", 2) end
    for id, v in pairs(o.ssh) do
      if type(id) ~= "string" or type(v) ~= "string" then
        errors.raise("invalid_argument", ("md.build.run: ssh.%s: expected an agent's socket path"):format(tostring(id)), 2)
      end
    end
  end
  local timestamp = o.timestamp
  if timestamp == nil and os.getenv("SOURCE_DATE_EPOCH") and os.getenv("SOURCE_DATE_EPOCH") ~= "" then
    timestamp = math.tointeger(tonumber(os.getenv("SOURCE_DATE_EPOCH")))
    if not timestamp or timestamp < 0 then errors.fail("invalid SOURCE_DATE_EPOCH: expected seconds since 1970") end
  end
  if timestamp ~= nil and (math.type(timestamp) ~= "integer" or timestamp < 0) then
    errors.raise("invalid_argument", "md.build.run: timestamp: expected seconds since 1970 (an integer)", 2)
  end
  if o.pull ~= nil and o.pull ~= "missing" and o.pull ~= "always" and o.pull ~= "never" then
    errors.raise("invalid_argument", "md.build.run: pull: expected \"missing\", \"always\" or \"never\"", 2)
  end
  local report = { steps = {} }
  local show = type(o.progress) == "function" and o.progress or progress.printer(o.progress or "auto")
  local ok, state = pcall(executor.build, s, {
    no_cache = o.no_cache, build_args = o.build_args, secrets = o.secrets, ssh = o.ssh, timestamp = timestamp, pull = o.pull,
    progress = function(kind, e)
      if kind == "done" then
        report.steps[#report.steps + 1] = { instruction = e.instruction, cached = e.cached == true, reason = e.reason,
                                            image = e.image, seconds = e.seconds, where = e.step.where,
                                            stage = e.stage.name }
      end
      show(kind, e)
    end,
  })
  if not ok then
    show("failed", {})
    error(state, 0)
  end
  if not state.image then errors.fail("md.build.run: the stage has no steps and no base image: nothing to build") end
  local img = md.image.get(state.image)
  -- The stage's own names and o.tags (mdlua build -t): each one "Tagged" in the progress.
  local names = {}
  for _, list in ipairs { s.tags or {}, o.tags or {} } do
    for _, name in ipairs(list) do img:tag(name); names[#names + 1] = name end
  end
  report.image = img
  show("image", { image = img, tags = names })
  return md.image.get(img.id), report
end

-- After a script: builds what it returned (a stage) and every tagged stage still pending.
function M.finish(returned, o)
  local out
  if stage.is(returned) then out = M.run(returned, o) end
  while #pending > 0 do
    local s = table.remove(pending, 1)
    M.run(s, o)
  end
  return out
end

return M
