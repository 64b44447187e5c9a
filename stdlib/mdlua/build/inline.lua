-- Files given inline, by name and content (a Dockerfile's COPY <<EOF): a source a COPY
-- reads as it reads a context, with nothing on the host. Each file is a regular file, mode
-- 0644, root's (as BuildKit makes a heredoc's file), unless the COPY's chmod or chown.
local errors = require "mdlua.errors"

local M = {}

local Inline = {}
Inline.__index = Inline
Inline.__name = "mdlua.build.inline"
function Inline:__tostring() return "inline files" end

function M.is(v) return getmetatable(v) == Inline end

local function fail(msg) error(errors.new("invalid_argument", msg), 0) end

-- md.build.inline({ ["name"] = "content", ... }, o): a name is a file's name, not a path.
-- o.context: a context (md.build.context) the other names a COPY gives are read from (a
-- Dockerfile's COPY <<EOF file.txt /dir/).
function M.new(files, o)
  o = errors.check_options(o, "md.build.inline", { "context" })
  if o.context ~= nil and not (getmetatable(o.context) and getmetatable(o.context).__name == "mdlua.build.context") then
    errors.raise("invalid_argument", "md.build.inline: context: expected a context (md.build.context)", 3)
  end
  if type(files) ~= "table" or next(files) == nil then
    errors.raise("invalid_argument", "md.build.inline: expected a table of NAME = CONTENT", 3)
  end
  local out = {}
  for name, content in pairs(files) do
    if type(name) ~= "string" or name == "" or name == "." or name == ".." or name:find("/", 1, true) then
      errors.raise("invalid_argument", ("md.build.inline: %q: expected a file name, not a path"):format(tostring(name)), 3)
    end
    if type(content) ~= "string" then
      errors.raise("invalid_argument", ("md.build.inline: %s: expected the content as a string"):format(name), 3)
    end
    out[name] = content
  end
  return setmetatable({ files = out, context = o.context }, Inline)
end

-- The entries a source name stands for, as context.collect gives them (one file each; its
-- content in `content`, for the digest and the layer).
function M.collect(self, src, shown)
  local content = self.files[src]
  if not content then fail(("%s: no such inline file"):format(shown)) end
  local st = { type = "file", mode = 420, uid = 0, gid = 0, size = #content }   -- 0644
  return { { rel = src, name = src, st = st, content = content } }, { src }
end

M.Inline = Inline
return M
