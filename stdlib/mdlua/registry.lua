-- md.pull, md.push, md.login, md.logout: registries (docs/registries.md), over the
-- engine's md._registry.
--   md.pull(ref, {platform="linux/amd64", tls_verify=true,
--                 progress=function(ev) end|true|"terminal"|"plain"|"quiet"})
--       -> the image (img.pulled = {reference=, digest=, platform=}); a progress function
--          gets each event {status=, id=, current=, total=} (Docker's JSON progress fields)
--   md.pull(ref, {all_tags=true, ...})  -> a list of images, one per tag
--   md.push(ref, {destination=, tls_verify=, progress=}) -> {reference=, digest=, size=}
--       (progress as md.pull's: a function or a mode)
--   md.login{registry=, username=, password=, tls_verify=} -> where the credentials went
--   md.logout(registry) -> false when none were stored
local md = require "mdlua"
local errors = require "mdlua.errors"
local pull_progress = require "mdlua.pull_progress"

local M = {}
local reg = errors.guard(md._registry)

-- The function that gets the events: the user's, or a drawing of them on stdout.
local function progress_function(p, fn)
  if type(p) == "function" then return p end
  if p == nil or p == false then return nil end
  if p == true then p = md.sys.isatty(1) and "terminal" or "plain" end
  if p == "terminal" or p == "plain" or p == "quiet" then return pull_progress.new(p, io.stdout) end
  errors.raise("invalid_option", fn .. ': field "progress" must be a function, true, "terminal", "plain" or "quiet"', 4)
end

-- Hands a running request's events to `progress`, then returns its result. An error in
-- `progress` stops the request (nothing of a pull is stored) and is raised as it was.
local function finish(request, progress, finish_request)
  while true do
    local ev = reg.next(request)
    if ev == nil then break end
    if progress then
      local ok, err = pcall(progress, ev)
      if not ok then
        reg.cancel(request)
        error(err, 0)
      end
    end
  end
  return (finish_request or reg.finish)(request)
end

local function check_string(v, fn, what, level)
  if v ~= nil and type(v) ~= "string" then
    errors.raise("invalid_option", ("%s: field %q must be a string, got %s"):format(fn, what, type(v)), level or 4)
  end
end

local function pull_one(ref, o, progress)
  local rec, full, digest, platform = finish(reg.pull(md.config.root, ref, o.platform, o.tls_verify ~= false), progress)
  local img = md.image.get(rec.id)
  img.pulled = { reference = full, digest = digest, platform = platform }
  return img
end

function M.pull(ref, o)
  o = errors.check_options(o, "md.pull", { "platform", "tls_verify", "progress", "all_tags" })
  if type(ref) ~= "string" then
    errors.raise("invalid_argument", "md.pull: expected an image reference (string), got " .. type(ref), 2)
  end
  check_string(o.platform, "md.pull", "platform")
  local progress = progress_function(o.progress, "md.pull")
  if not o.all_tags then return pull_one(ref, o, progress) end
  if ref:find("@", 1, true) or ref:match("[^/]*$"):find(":", 1, true) then
    errors.raise("invalid_argument", "md.pull: tag can't be used with all_tags", 2)
  end
  local out = {}
  for _, tag in ipairs(reg.tags(md.config.root, ref, o.tls_verify ~= false)) do
    out[#out + 1] = pull_one(ref .. ":" .. tag, o, progress)
  end
  return out
end

function M.push(ref, o)
  o = errors.check_options(o, "md.push", { "destination", "tls_verify", "progress" })
  if type(ref) == "table" and ref.id then ref = ref.names[1] or ref.id end
  if type(ref) ~= "string" then
    errors.raise("invalid_argument", "md.push: expected an image reference (string), got " .. type(ref), 2)
  end
  check_string(o.destination, "md.push", "destination")
  local progress = progress_function(o.progress, "md.push")
  local full, digest, size = finish(reg.push(md.config.root, ref, o.destination, o.tls_verify ~= false), progress, reg.finish_push)
  return { reference = full, digest = digest, size = size }
end

function M.login(o)
  o = errors.check_options(o, "md.login", { "registry", "username", "password", "tls_verify" })
  for _, k in ipairs { "registry", "username", "password" } do check_string(o[k], "md.login", k) end
  if not o.username or not o.password then
    errors.raise("invalid_option", "md.login: username and password are required", 3)
  end
  return reg.login(md.config.root, o.registry, o.username, o.password, o.tls_verify ~= false)
end

function M.logout(registry)
  check_string(registry, "md.logout", "registry", 3)
  return reg.logout(md.config.root, registry)
end

-- The user name stored for a registry, or nil.
function M.user(registry) return reg.user(md.config.root, registry) end

return M
