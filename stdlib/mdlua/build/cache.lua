-- The build cache: a step's key is a digest of everything its result depends on (the
-- parent's key, the step's description, the digests of the files it reads), and the result
-- is the image the step made. Entries are small JSON files under ROOT/build-cache/,
-- written atomically (md.fs.write renames a temporary file), one per key; an entry whose
-- image is gone is a miss. A second file per (parent, step) remembers the inputs of the last
-- build, so a miss can say which file changed.
local md = require "mdlua"
local json = require "mdlua.json"

local M = {}

local function dir() return md.config.root .. "/build-cache" end
local function hex(d) return (d:gsub("^sha256:", "")) end

-- A description as a string that is the same for the same step: JSON, keys sorted.
function M.describe(t) return json.encode(t) end

function M.key(parent_key, description, inputs)
  return md.sys.sha256(table.concat({ parent_key, description, inputs or "" }, "\n"))
end

-- The parent and the step without the files they read: where the last inputs are kept.
function M.probe(parent_key, description) return md.sys.sha256(parent_key .. "\n" .. description .. "\nprobe") end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local ok, v = pcall(json.decode, s)
  return ok and type(v) == "table" and v or nil
end

local function write(name, value)
  md.fs.mkdir(dir(), 448)   -- 0700, as the rest of the state root
  md.fs.write(dir() .. "/" .. name .. ".json", json.encode(value), 384)
end

-- The image of an entry whose image still exists, or nil.
function M.lookup(key)
  local e = read(dir() .. "/" .. hex(key) .. ".json")
  if not e or type(e.image) ~= "string" then return nil end
  local ok, img = pcall(md.image.get, e.image)
  if not ok then return nil end
  return img, e
end

-- Whether a key was built before (config steps, which make no image of their own).
function M.seen(key) return read(dir() .. "/" .. hex(key) .. ".json") ~= nil end

function M.store(key, image_id, step)
  write(hex(key), { image = image_id, step = step, created = os.date("!%Y-%m-%dT%H:%M:%SZ") })
end

-- The inputs ({ path = digest }) recorded for a probe, and recording them.
function M.last_inputs(probe)
  local e = read(dir() .. "/" .. hex(probe) .. ".json")
  return e and e.inputs
end
function M.remember_inputs(probe, inputs)
  write(hex(probe), { inputs = next(inputs) and inputs or json.array() })
end

-- Which inputs differ between two { path = digest } maps, as a short sentence.
function M.changed(before, now)
  local changed = {}
  for p, d in pairs(now) do
    if before[p] ~= d then changed[#changed + 1] = p end
  end
  for p in pairs(before) do
    if now[p] == nil then changed[#changed + 1] = p .. " (removed)" end
  end
  table.sort(changed)
  if #changed == 0 then return nil end
  local shown = { table.unpack(changed, 1, 5) }
  return "changed: " .. table.concat(shown, ", ") .. (#changed > 5 and (" and %d more"):format(#changed - 5) or "")
end

return M
