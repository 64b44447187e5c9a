-- md.layer: layers made from host directories, and what the store holds.
--   md.layer.create(dir, comment)  archive a directory into a layer; returns it
--   md.layer.list(), md.layer.get(id), md.layer.rm(id), md.layer.path(id), md.layer.prune()
--   (md.layer.remove: the old name of md.layer.rm)
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}
-- The binding's errors as errors.lua's tables (code not_found, conflict, engine).
local store = errors.guard(md._layer, { remove = "md.layer.rm" })

local function root() return md.config.root end

local Layer = {}
Layer.__index = Layer
Layer.__name = "mdlua.layer"
function Layer:__tostring()
  return ("layer %s (%d bytes%s)"):format(self.id:sub(8, 19), self.size,
    self.comment ~= "" and (", " .. self.comment) or "")
end
local function wrap(l) return setmetatable(l, Layer) end

function M.create(dir, comment)
  if type(dir) ~= "string" then errors.raise("invalid_argument", "md.layer.create: expected a directory path", 2) end
  return wrap(store.create(root(), dir, comment))
end
function M.list()
  local out = {}
  for i, l in ipairs(store.list(root())) do out[i] = wrap(l) end
  return out
end
function M.get(id) return wrap(store.get(root(), id)) end
function M.rm(id)
  if type(id) == "table" and getmetatable(id) == Layer then id = id.id end
  return wrap(store.remove(root(), id))
end
-- Removes every layer no image uses, kept ones too (`system prune -a`). Returns the layers
-- removed. (One an image takes meanwhile is refused by rm and stays.)
function M.prune()
  local used = {}
  for _, img in ipairs(require("mdlua.image").list()) do
    for _, id in ipairs(img.layers) do used[id] = true end
  end
  local removed = {}
  for _, l in ipairs(M.list()) do
    if not used[l.id] then
      local ok, gone = pcall(M.rm, l.id)
      if ok then removed[#removed + 1] = gone end
    end
  end
  return removed
end
-- Deprecated: the old name of md.layer.rm.
M.remove = M.rm
function M.path(id) return store.path(root(), id) end
function M.import(path) return wrap(store.import(root(), path)) end

return M
