-- A RUN's mounts (stage:run{ mounts = ... }, RUN --mount) as the container's: a cache
-- mount is a directory of the state root kept between builds (ROOT/build-cache/mounts/,
-- one per id, shared by the builds that name it; sharing=locked: one step at a time, the
-- others wait; sharing=private: an instance of the id no other such step holds); a bind
-- shows a context's files or a stage's image read-only, or with rw a copy made for the
-- step, whose writes are thrown away with it (as BuildKit); a secret is a copy of the file
-- given to the build (mode 0400 unless told), made for the step in a private directory
-- and removed after it, so its content is never in the cache key, the layer (the
-- runtime's mount points are left out of a commit) or the history; tmpfs; file, inline
-- content read-only; ssh, the socket of an SSH agent given to the build (o.ssh).
-- Whatever is made for a step is undone by the functions added to
-- `undo`, whether the step succeeds or not.
local md = require "mdlua"
local errors = require "mdlua.errors"
local context = require "mdlua.build.context"
local paths = require "mdlua.build.paths"
local scheduler = require "mdlua.build.scheduler"

local M = {}

local function fail(msg) error(errors.new("invalid_argument", msg), 0) end

-- ROOT/build-cache/mounts/<digest of the id>: the directory of a cache mount.
function M.cache_dir(id)
  return md.config.root .. "/build-cache/mounts/" .. md.sys.sha256(id):gsub("^sha256:", "")
end

-- The lock of a cache mount's directory (ROOT/build-cache/locks/), taken when it is free,
-- held until the step's end; nil when another step holds it.
local function try_hold(dir, undo)
  local locks = md.config.root .. "/build-cache/locks"
  md.fs.mkdir(locks, 448)
  local lock = md.fs.try_lock(locks .. "/" .. dir:match("[^/]+$") .. ".lock")
  if lock then undo[#undo + 1] = function() lock:release() end end
  return lock ~= nil
end

local function private_dir(undo)
  local dir = md.fs.tempdir("/tmp/mdlua-build-mount-")
  md.fs.chmod(dir, 448)   -- 0700
  undo[#undo + 1] = function() md.fs.remove(dir) end
  return dir
end

-- A secret's content: o.secrets[id] is { src = FILE } or { env = NAME } (or a path).
local function secret_content(id, given)
  if type(given) == "string" then given = { src = given } end
  if given.src then
    local st = md.fs.stat(given.src)
    if not st or st.type ~= "file" then fail(("secret %s: %s is not a file"):format(id, given.src)) end
    return md.fs.read(given.src)
  end
  local v = os.getenv(given.env or id)
  if v == nil then fail(("secret %s: the environment has no %s"):format(id, given.env or id)) end
  return v
end

-- A copy of the collected entries of `root` in a private directory, owners and modes kept
-- (a bind of a context with exclusions shows what COPY would see, not the excluded files;
-- a rw bind, a copy to write in). Returns the copy's path.
local function private_copy(root, entries, undo)
  local dir = private_dir(undo) .. "/tree"
  if not (entries[1] and entries[1].name == "") then md.fs.mkdir(dir) end
  for _, e in ipairs(entries) do
    local host = e.name == "" and dir or (dir .. "/" .. e.name)
    local from = root .. "/" .. (e.rel == "" and "." or e.rel)
    if e.st.type == "directory" then md.fs.mkdir(host); md.fs.chmod(host, e.st.mode)
    elseif e.st.type == "file" then md.fs.copy(from, host); md.fs.chmod(host, e.st.mode)
    elseif e.st.type == "symlink" then md.fs.symlink(md.sys.readlink(from), host) end
    md.fs.chown(host, e.st.uid, e.st.gid)
  end
  local first = entries[1]
  return (first and first.name ~= "") and dir .. "/" .. first.name or dir
end

-- The container's mounts for `step`; `bound[i]`: what the executor found for its i-th mount
-- (a context's entries, or a stage's image). o.secrets: the build's secrets.
function M.prepare(step, bound, o, undo)
  local out = {}
  -- Locked cache mounts wait for their locks, taken in one order (so two steps never wait
  -- for each other's); a private one takes the first instance of its id nobody holds.
  local locked, held = {}, {}
  for _, m in ipairs(step.mounts or {}) do
    if m.type == "cache" and m.sharing == "locked" then locked[#locked + 1] = M.cache_dir(m.id) end
  end
  table.sort(locked)
  for _, dir in ipairs(locked) do
    if not held[dir] then
      scheduler.wait_for(o, "lock", function() return try_hold(dir, undo) end)
      held[dir] = true
    end
  end
  for i, m in ipairs(step.mounts or {}) do
    if m.type == "cache" then
      local dir = M.cache_dir(m.id)
      if m.sharing == "private" then
        local n = 0
        while not try_hold(n == 0 and dir or dir .. "-" .. n, undo) do n = n + 1 end
        if n > 0 then dir = dir .. "-" .. n end
      end
      if not md.fs.exists(dir) then
        md.fs.mkdir(md.config.root .. "/build-cache/mounts", 448)
        md.fs.mkdir(dir)
        md.fs.chmod(dir, m.mode and tonumber(m.mode, 8) or 493)   -- 0755
        md.fs.chown(dir, m.uid or 0, m.gid or 0)
      end
      out[#out + 1] = { type = "bind", source = dir, target = m.target, readonly = m.readonly }
    elseif m.type == "bind" then
      local b = bound[i]
      local src
      if b.image then
        local mnt = md.fs.tempdir("/tmp/mdlua-build-from-")
        local ok, merged = pcall(md.image.mount, b.image, mnt)
        if not ok then md.fs.remove(mnt); error(merged, 0) end
        undo[#undo + 1] = function() pcall(md.image.unmount, merged); md.fs.remove(mnt) end
        local clean, escapes = paths.clean(m.source)
        if escapes then fail(("--mount source=%s: the path is outside the stage"):format(m.source)) end
        local real, st = context.resolve(merged, clean, "--mount source=" .. m.source, true)
        if not real or not st then fail(("--mount source=%s: no such file or directory in the stage"):format(m.source)) end
        src = merged .. "/" .. (real == "" and "." or real)
        if m.rw then src = private_copy(merged, context.collect(merged, {}, real, "--mount source=" .. m.source, true), undo) end
      elseif m.rw or (#m.from.rules > 0 and #b.starts == 1 and b.entries[1] and b.entries[1].st.type == "directory") then
        src = private_copy(m.from.dir, b.entries, undo)
      else
        src = m.from.dir .. "/" .. (b.starts[1] == "" and "." or b.starts[1])
      end
      out[#out + 1] = { type = "bind", source = src, target = m.target, readonly = not m.rw }
    elseif m.type == "secret" then
      local given = (o.secrets or {})[m.id]
      if given ~= nil then
        local file = private_dir(undo) .. "/" .. m.id
        md.fs.write(file, secret_content(m.id, given), m.mode and tonumber(m.mode, 8) or 256)   -- 0400
        md.fs.chmod(file, m.mode and tonumber(m.mode, 8) or 256)
        md.fs.chown(file, m.uid or 0, m.gid or 0)
        out[#out + 1] = { type = "bind", source = file, target = m.target, readonly = true }
      elseif m.required then
        fail(("secret %s is required: give it with --secret id=%s,src=FILE"):format(m.id, m.id))
      end
    elseif m.type == "ssh" then
      -- The agent's socket itself (its owner and mode as they are): the step talks to it.
      local sock = (o.ssh or {})[m.id]
      if sock then
        local st = md.fs.stat(sock)
        if not st or st.type ~= "socket" then fail(("ssh %s: %s is not a socket (an SSH agent's)"):format(m.id, sock)) end
        out[#out + 1] = { type = "bind", source = sock, target = m.target }
      elseif m.required then
        fail(("ssh %s is required: give it with --ssh %s=SOCKET"):format(m.id, m.id))
      end
    elseif m.type == "tmpfs" then
      out[#out + 1] = { type = "tmpfs", target = m.target, ["tmpfs-size"] = m.size }
    elseif m.type == "file" then
      local file = private_dir(undo) .. "/file"
      md.fs.write(file, m.content, m.mode and tonumber(m.mode, 8) or 420)   -- 0644
      md.fs.chmod(file, m.mode and tonumber(m.mode, 8) or 420)
      out[#out + 1] = { type = "bind", source = file, target = m.target, readonly = true }
    end
  end
  return out
end

return M
