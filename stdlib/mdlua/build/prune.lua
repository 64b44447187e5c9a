-- `builder prune`: what the build cache holds and its removal. The cache is its records
-- (ROOT/build-cache/<key>.json: a step's image; beside them the inputs each step read
-- last), the cache mounts (ROOT/build-cache/mounts/) and the images its records point at
-- that have no name (a build's intermediate images). Dangling: a record whose image is
-- gone, and the intermediate images no container uses (the records that point at them go
-- with them). --all: every record, and the cache mounts. --keep-storage: the oldest
-- records (and their intermediate images) go first, until what is left takes no more.
local md = require "mdlua"
local json = require "mdlua.json"

local M = {}

local function dir() return md.config.root .. "/build-cache" end

-- The records: { key, file, image, created }, oldest first; and the other files (inputs).
local function records()
  local out, others = {}, {}
  for _, name in ipairs(md.sys.listdir(dir()) or {}) do
    local key = name:match("^(%x+)%.json$")
    if key then
      local path = dir() .. "/" .. name
      local ok, v = pcall(function() return json.decode(md.fs.read(path)) end)
      if ok and type(v) == "table" and v.step ~= nil then
        out[#out + 1] = { key = key, file = path, image = type(v.image) == "string" and v.image or nil,
                          created = type(v.created) == "string" and v.created or "" }
      else
        others[#others + 1] = path
      end
    end
  end
  table.sort(out, function(a, b) if a.created ~= b.created then return a.created < b.created end return a.key < b.key end)
  return out, others
end

-- The intermediate images (no name) among the records' images: { [id] = true }, and the
-- bytes of the layers only they hold.
local function intermediates(recs)
  local images, pointed = {}, {}
  for _, r in ipairs(recs) do if r.image then pointed[r.image] = true end end
  local users, only = {}, {}
  for _, img in ipairs(md.image.list()) do
    images[img.id] = img
    for _, l in ipairs(img.layers) do users[l] = (users[l] or 0) + 1 end
  end
  local set = {}
  for id in pairs(pointed) do
    local img = images[id]
    if img and #img.names == 0 then set[id] = true end
  end
  local layer_size = {}
  for _, l in ipairs(md.layer.list()) do layer_size[l.id] = l.size end
  local held = {}
  for id in pairs(set) do
    for _, l in ipairs(images[id].layers) do only[l] = (only[l] or 0) + 1 end
  end
  local bytes = 0
  for l, n in pairs(only) do
    if n == users[l] and not held[l] then held[l] = true; bytes = bytes + (layer_size[l] or 0) end
  end
  return set, bytes, images
end

-- What the build cache takes: its directory and the layers only intermediate images hold.
function M.usage()
  local recs = records()
  local _, bytes = intermediates(recs)
  return md.fs.size(dir()) + bytes
end

local function in_use_by_container()
  local used = {}
  for _, c in ipairs(md.container.list { all = true }) do used[c.image] = true end
  return used
end

-- Removes what o says (all, keep_storage: bytes); returns the keys of the records removed.
function M.prune(o)
  o = o or {}
  if not md.fs.exists(dir()) then return {} end
  local recs, others = records()
  local set, _, images = intermediates(recs)
  local used = in_use_by_container()
  local removed = {}
  local function drop(r)
    if r.image and set[r.image] and not used[r.image] and images[r.image] then
      local ok = pcall(md.image.rm, r.image)
      if ok then images[r.image] = nil end
    end
    md.fs.remove(r.file)
    removed[#removed + 1] = r.key
  end
  local candidates = {}
  for _, r in ipairs(recs) do
    local dangling = r.image and (not images[r.image] or (set[r.image] and not used[r.image]))
    if o.all or dangling then candidates[#candidates + 1] = r end
  end
  for _, r in ipairs(candidates) do
    if o.keep_storage and M.usage() <= o.keep_storage then break end
    drop(r)
  end
  if o.all and not (o.keep_storage and M.usage() <= o.keep_storage) then
    for _, f in ipairs(others) do md.fs.remove(f) end
    for _, m in ipairs(md.sys.listdir(dir() .. "/mounts") or {}) do
      md.fs.remove(dir() .. "/mounts/" .. m)
      removed[#removed + 1] = "mount " .. m
    end
  end
  return removed
end

return M
