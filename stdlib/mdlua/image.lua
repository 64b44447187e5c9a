-- md.image: images as Lua objects, over the image binding (md._image, ImageBinding.swift).
--   md.image.list()            every image
--   md.image.get(ref)          by name, name@digest, ID or unique ID prefix (error if none)
--   md.image.load(path)        from a docker or OCI archive, or an OCI layout directory
--   md.image.save{images=..., output=path, format="docker"|"oci"}
--   md.image.import(path, {name=, changes={}, message=})
--   md.image.assemble(name, {layer ids}, {changes={}, config={}})
--   md.image.rm(ref, {force=})  untag a name, or delete an image (md.image.remove: the old name)
--   md.image.prune{all=false}
-- Image objects: img.id, img.names, img.digests (RepoDigests: "NAME@sha256:..."), img.layers,
-- img.size, img.created, img.manifest_digest,
-- and methods img:tag(name), img:config(), img:manifest(), img:history(), img:inspect(),
-- img:rm{force=}.
local md = require "mdlua"
local json = require "mdlua.json"
local changes = require "mdlua.changes"
local errors = require "mdlua.errors"

local M = {}
-- The binding's errors as errors.lua's tables (code not_found, conflict, engine).
local store = errors.guard(md._image, { remove = "md.image.rm" })
local layer_store = errors.guard(md._layer)

local function root() return md.config.root end

-- "docker.io/library/busybox:latest" -> "busybox", "latest"
function M.familiar(name)
  local n = name:gsub("^docker%.io/library/([^/]+)$", "%1"):gsub("^docker%.io/library/([^/:]+:)", "%1")
  n = n:gsub("^docker%.io/", "")
  local repo, tag = n:match("^(.*):([%w_][%w_.%-]*)$")
  return repo or n, tag or "latest"
end

-- "docker.io/library/busybox@sha256:..." (an entry of img.digests) -> "busybox", "sha256:..."
function M.familiar_digest(entry)
  local name, digest = entry:match("^(.*)@(.*)$")
  return (M.familiar(name or entry)), digest
end

local Image = {}
Image.__index = Image
Image.__name = "mdlua.image"

function Image:__tostring()
  local name = self.names[1] and table.concat({ M.familiar(self.names[1]) }, ":") or "<none>"
  local repo, tag = M.familiar(self.names[1] or "")
  if self.names[1] then name = repo .. ":" .. tag end
  return ("image %s (%s)"):format(self.id:sub(8, 19), name)
end

-- The record's `manifest` (the manifest's digest) is `manifest_digest`: `manifest` is the
-- method.
local function wrap(record)
  if type(record.manifest) == "string" then
    record.manifest_digest = record.manifest
    record.manifest = nil
  end
  return setmetatable(record, Image)
end

function Image:short_id() return self.id:sub(8, 19) end

function Image:tag(name)
  local r = store.tag(root(), self.id, name)
  self.names = r.names
  return self
end

function Image:config()
  if not self._config then self._config = json.decode(store.blob(root(), self.id)) end
  return self._config
end

function Image:manifest()
  return json.decode(store.blob(root(), self.manifest_digest))
end

-- The build history, newest first as `docker history` shows it, with each entry's layer size.
function Image:history()
  local cfg = self:config()
  local sizes = {}
  for i, id in ipairs(self.layers) do sizes[i] = layer_store.get(root(), id).size end
  local entries, layer = {}, 0
  for _, h in ipairs(cfg.history or {}) do
    local size = 0
    if not h.empty_layer then
      layer = layer + 1
      size = sizes[layer] or 0
    end
    table.insert(entries, 1, { created = h.created, created_by = h.created_by or "", comment = h.comment or "",
                                size = size, empty_layer = h.empty_layer == true })
  end
  if #entries == 0 then
    for i = #self.layers, 1, -1 do
      entries[#entries + 1] = { created = cfg.created, created_by = "", comment = "", size = sizes[i], empty_layer = false }
    end
  end
  return entries
end

-- Docker's `image inspect` document.
function Image:inspect()
  local cfg = self:config()
  local tags, digests = json.array(), json.array()
  for _, n in ipairs(self.names) do
    local repo, tag = M.familiar(n)
    tags[#tags + 1] = repo .. ":" .. tag
  end
  for _, d in ipairs(self.digests or {}) do
    local repo, digest = M.familiar_digest(d)
    digests[#digests + 1] = repo .. "@" .. digest
  end
  return {
    Id = self.id,
    RepoTags = tags,
    RepoDigests = digests,
    Parent = "",
    Comment = (cfg.history and #cfg.history > 0 and cfg.history[#cfg.history].comment) or "",
    Created = cfg.created or json.null,
    Author = cfg.author or "",
    Config = cfg.config or {},
    Architecture = cfg.architecture or "",
    Os = cfg.os or "",
    Size = self.size,
    RootFS = { Type = "layers", Layers = json.array({ table.unpack(self.layers) }) },
    Metadata = { LastTagTime = self.added },
    ManifestDigest = self.manifest_digest,
  }
end

-- As md.image.rm with the image's name: the one md.image.get was given, else its first
-- (the ID for an image without one). An image with several names loses that name; with
-- one, it is deleted.
local got_by = setmetatable({}, { __mode = "k" })   -- image object -> the name md.image.get was given
function Image:rm(opts)
  return M.rm(got_by[self] or self.names[1] or self.id, opts)
end

function M.list(o)
  errors.check_options(o, "md.image.list", {})
  local out = {}
  for i, r in ipairs(store.list(root())) do out[i] = wrap(r) end
  return out
end

function M.get(ref)
  if type(ref) == "table" and getmetatable(ref) == Image then ref = ref.id end
  if type(ref) ~= "string" then
    errors.raise("invalid_argument", "md.image.get: expected an image reference (string), got " .. type(ref), 2)
  end
  local img = wrap(store.get(root(), ref))
  -- The name it was got by (not an ID or a prefix of one), for img:rm.
  local hex = ref:gsub("^sha256:", "")
  if not (hex:match("^%x+$") and img.id:sub(8, 7 + #hex) == hex) then got_by[img] = ref end
  return img
end

function M.load(path)
  local out = {}
  for i, r in ipairs(store.load(root(), path)) do out[i] = wrap(r) end
  return out
end

function M.save(opts)
  if opts == nil then errors.raise("invalid_option", "md.image.save: expected a table of options") end
  errors.check_options(opts, "md.image.save", { "images", "image", "output", "format" })
  local refs = opts.images or { opts.image }
  store.save(root(), refs, opts.output, opts.format or "docker")
end

-- Untags a name, or deletes an image given by ID (with o.force: one a container uses, or
-- one with several names).
function M.rm(ref, opts)
  opts = errors.check_options(opts, "md.image.rm", { "force" })
  if type(ref) == "table" and getmetatable(ref) == Image then ref = ref.id end
  return store.remove(root(), ref, opts.force)
end
-- Deprecated: the old name of md.image.rm.
M.remove = M.rm

function M.prune(opts)
  opts = errors.check_options(opts, "md.image.prune", { "all" })
  local out = {}
  for i, r in ipairs(store.prune(root(), opts.all)) do out[i] = wrap(r) end
  return out
end

-- A config for a new image: defaults, then opts.config (a table merged into `config`),
-- then opts.changes (checked before anything is written); one history entry per layer.
local function new_config(opts, history)
  local c = { Env = json.array { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" } }
  for k, v in pairs(opts.config or {}) do c[k] = v end
  changes.apply(c, opts.changes)
  return json.encode { config = c, history = json.array(history) }
end

local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

function M.assemble(name, layer_ids, opts)
  opts = errors.check_options(opts, "md.image.assemble", { "changes", "config" })
  local history, ids = {}, {}
  for i, id in ipairs(layer_ids) do
    local l = layer_store.get(root(), id)
    ids[i] = l.id
    history[i] = { created = l.created, created_by = "mdlua layer create (" .. l.id:sub(8, 19) .. ")",
                   comment = l.comment ~= "" and l.comment or nil }
  end
  return wrap(store.assemble(root(), ids, new_config(opts, history), name and { name } or {}))
end

function M.import(path, opts)
  opts = errors.check_options(opts, "md.image.import", { "name", "changes", "message" })
  local history = { { created = now(), created_by = "mdlua import " .. path,
                      comment = opts.message ~= "" and opts.message or nil } }
  return wrap(store.import(root(), path, new_config(opts, history), opts.name and { opts.name } or {}))
end

-- Mounts an image's overlay rootfs under dir (dir/upper, dir/work, dir/merged).
function M.mount(ref, dir) return store.mount(root(), ref, dir) end
function M.unmount(merged) return store.unmount(merged) end

return M
