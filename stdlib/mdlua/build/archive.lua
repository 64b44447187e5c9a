-- ADD of a local archive: what is one (as Docker: by its content, not its name; a tar,
-- plain or compressed with gzip, bzip2, xz or zstd), and its unpacking by GNU tar into a
-- build's staging directory, owners and modes kept. GNU tar refuses members that climb
-- out with "..", strips a leading "/", and makes a symlink that could lead out only after
-- every file is written, so nothing is written outside the directory. Not a hot path: an
-- ADD of an archive runs it once per build that misses the cache.
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}

local magics = {
  { "\x1f\x8b", "gzip" },
  { "BZh", "bzip2" },
  { "\xfd7zXZ\x00", "xz" },
  { "\x28\xb5\x2f\xfd", "zstd" },
}

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The compression of a file ("gzip", ..., "none" for a plain tar), or nil when it is not
-- a tar archive.
function M.kind(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local head = f:read(512) or ""
  f:close()
  for _, m in ipairs(magics) do
    if head:sub(1, #m[1]) == m[1] then
      -- A compressed file is an archive when what it holds reads as a tar.
      local ok = os.execute(("tar -tf %s >/dev/null 2>&1"):format(quote(path)))
      return ok and m[2] or nil
    end
  end
  if #head == 512 and head:sub(258, 262) == "ustar" then return "none" end
  return nil
end

function M.is_tar(path) return M.kind(path) ~= nil end

-- Unpacks the archive at `path` into the directory `dir` (made if missing).
function M.extract(path, dir)
  md.fs.mkdir(dir)
  local cmd = ("tar -x --same-owner --same-permissions --numeric-owner --no-overwrite-dir -f %s -C %s 2>&1")
    :format(quote(path), quote(dir))
  local p = io.popen(cmd)
  local out = p:read("a")
  local ok = p:close()
  if not ok then
    error(errors.new("invalid_argument", ("ADD %s: unpacking failed: %s"):format(path:match("[^/]+$"),
      (out:match("([^\n]+)\n?$") or "tar failed"))), 0)
  end
end

return M
