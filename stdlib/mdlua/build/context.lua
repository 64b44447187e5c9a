-- The build context: a host directory that COPY steps read, minus what `exclude` (and the
-- directory's .dockerignore) leaves out. Nothing outside it is ever read: a source path that
-- climbs out (`../x`) or goes through a symlink that points out is refused, and symlinks
-- inside a copied directory are copied as symlinks, never followed.
local md = require "mdlua"
local errors = require "mdlua.errors"
local paths = require "mdlua.build.paths"

local M = {}

local Context = {}
Context.__index = Context
Context.__name = "mdlua.build.context"
function Context:__tostring() return "build context " .. self.dir end

function M.is(v) return getmetatable(v) == Context end

local function fail(msg) error(errors.new("invalid_argument", msg), 0) end

local function absolute(dir)
  if dir:sub(1, 1) == "/" then return dir end
  local cwd = os.getenv("PWD") or "."
  return cwd .. "/" .. dir
end

-- md.build.context(dir, { exclude = { patterns }, dockerignore = true }).
function M.new(dir, o)
  o = errors.check_options(o, "md.build.context", { "exclude", "dockerignore" })
  if type(dir) ~= "string" then errors.raise("invalid_argument", "md.build.context: expected a directory", 3) end
  local abs = absolute(dir)
  local st = md.fs.stat(abs)
  if not st or st.type ~= "directory" then errors.raise("invalid_argument", "md.build.context: not a directory: " .. dir, 3) end
  local rules = {}
  if o.dockerignore ~= false and md.fs.exists(abs .. "/.dockerignore") then
    rules = paths.parse_ignore(md.fs.read(abs .. "/.dockerignore"))
  end
  for _, p in ipairs(o.exclude or {}) do
    local negate = p:sub(1, 1) == "!"
    rules[#rules + 1] = { pattern = paths.clean(negate and p:sub(2) or p), negate = negate }
  end
  return setmetatable({ dir = (paths.clean(abs) == "" and "/" or "/" .. paths.clean(abs)), rules = rules }, Context)
end

-- Follows the symlinks of `rel` (cleaned) inside the root `dir`, component by component;
-- refuses one that leads out. With `chroot` (an image's tree), an absolute target is read
-- inside the root, as the kernel would in a container. Returns the real relative path and
-- its lstat.
local function resolve(dir, rel, shown, chroot)
  local parts = {}
  for c in rel:gmatch("[^/]+") do parts[#parts + 1] = c end
  local done, hops = "", 0
  local i = 1
  while i <= #parts do
    local cur = done == "" and parts[i] or done .. "/" .. parts[i]
    local st = md.fs.lstat(dir .. "/" .. cur)
    if not st then return nil end
    if st.type == "symlink" then
      hops = hops + 1
      if hops > 40 then fail(("%s: too many levels of symbolic links"):format(shown)) end
      local target = md.sys.readlink(dir .. "/" .. cur)
      local landed
      if target and chroot and target:sub(1, 1) == "/" then landed = paths.clean(target)
      else landed = target and paths.link_target(cur, target) end
      if not landed then fail(("%s: %s is a symlink that points outside the build context"):format(shown, cur)) end
      local rest = { table.unpack(parts, i + 1) }
      parts = {}
      for c in landed:gmatch("[^/]+") do parts[#parts + 1] = c end
      for _, c in ipairs(rest) do parts[#parts + 1] = c end
      done, i = "", 1
    else
      done = cur
      i = i + 1
    end
  end
  return done, md.fs.lstat(dir .. "/" .. (done == "" and "." or done))
end
M.resolve = resolve

-- The entries a source path names, as { rel = path in the root, name = where it goes
-- relative to the destination, st = lstat }, directories walked (sorted), excluded paths
-- left out. `root` is a directory on the host (a context's or a mounted stage's);
-- `rules`, the exclusions (none for a stage). Globs match in the last component.
function M.collect(root, rules, src, shown, chroot)
  local clean, escapes = paths.clean(src)
  if escapes then fail(("%s: the path is outside the build context"):format(shown)) end
  local starts = {}
  local parent, last = clean:match("^(.*)/([^/]*)$")
  if not parent then parent, last = "", clean end
  if paths.has_glob(last) then
    local pdir = resolve(root, parent, shown, chroot)
    local names = pdir and md.sys.listdir(root .. "/" .. (pdir == "" and "." or pdir)) or {}
    local pat = paths.glob_pattern(last)
    for _, n in ipairs(names) do
      local rel = (pdir == "" and n or pdir .. "/" .. n)
      if n:match(pat) and not paths.ignored(rules, rel) then starts[#starts + 1] = rel end
    end
    if #starts == 0 then fail(("%s: no source files were specified"):format(shown)) end
  else
    local real, st = resolve(root, clean, shown, chroot)
    if not real or not st then fail(("%s: no such file or directory in the build context"):format(shown)) end
    if real ~= "" and paths.ignored(rules, real) then fail(("%s: excluded from the build context"):format(shown)) end
    starts[1] = real
  end
  local out = {}
  local function walk(rel, name)
    local st = md.fs.lstat(root .. "/" .. (rel == "" and "." or rel))
    out[#out + 1] = { rel = rel, name = name, st = st }
    if st.type == "directory" then
      for _, n in ipairs(md.sys.listdir(root .. "/" .. (rel == "" and "." or rel)) or {}) do
        local child = rel == "" and n or rel .. "/" .. n
        if not paths.ignored(rules, child) then walk(child, name == "" and n or name .. "/" .. n) end
      end
    end
  end
  for _, rel in ipairs(starts) do
    local st = md.fs.lstat(root .. "/" .. (rel == "" and "." or rel))
    -- A directory's contents go into the destination; anything else under its own name.
    walk(rel, st.type == "directory" and "" or rel:match("[^/]+$"))
  end
  return out, starts
end

-- A digest of what the entries hold: names, types, modes, link targets and file contents
-- (never times), so the cache sees a changed file and nothing else; an inline file's
-- content is its `content` (build/inline.lua). Also returns each
-- entry's own digest, to tell which one changed.
function M.digest(root, entries)
  local lines, each = {}, {}
  for _, e in ipairs(entries) do
    local st = e.st
    local content = ""
    if e.content then content = md.sys.sha256(e.content)
    elseif st.type == "file" then content = md.fs.sha256(root .. "/" .. e.rel)
    elseif st.type == "symlink" then content = md.sys.readlink(root .. "/" .. e.rel) or "" end
    local line = ("%s %s %o %s"):format(e.rel, st.type, st.mode, content)
    lines[#lines + 1] = line
    each[e.rel] = md.sys.sha256(line)
  end
  return md.sys.sha256(table.concat(lines, "\n")), each
end

M.Context = Context
return M
