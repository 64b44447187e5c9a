-- Paths of a build: cleaning, globs (as Dockerfile COPY sources and .dockerignore lines
-- take them) and the walk of a tree that refuses to leave it. Pure functions of strings,
-- except walk, which reads the host tree through md.fs and md.sys.
local M = {}

-- "a/./b//c/" -> "a/b/c"; ".." components are kept only when they go above the start,
-- which the caller refuses (returns the cleaned path and whether it escapes).
function M.clean(path)
  local out = {}
  local escapes = false
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      if #out > 0 then out[#out] = nil else escapes = true end
    elseif part ~= "." then
      out[#out + 1] = part
    end
  end
  return table.concat(out, "/"), escapes
end

-- A glob (one component's * ? [..]) as an anchored Lua pattern.
function M.glob_pattern(glob)
  local out, i = { "^" }, 1
  while i <= #glob do
    local c = glob:sub(i, i)
    if c == "*" then out[#out + 1] = "[^/]*"
    elseif c == "?" then out[#out + 1] = "[^/]"
    elseif c == "[" then
      local close = glob:find("]", i + 2, true)
      if not close then out[#out + 1] = "%[" else
        local class = glob:sub(i + 1, close - 1):gsub("^!", "^"):gsub("%%", "%%%%")
        out[#out + 1] = "[" .. class .. "]"
        i = close
      end
    elseif c == "\\" and i < #glob then
      i = i + 1
      out[#out + 1] = "%" .. glob:sub(i, i)
    elseif c:match("[%^%$%(%)%%%.%+%-%]]") then out[#out + 1] = "%" .. c
    else out[#out + 1] = c end
    i = i + 1
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

function M.has_glob(s) return s:find("[%*%?%[]") ~= nil end

-- Does `path` (cleaned, relative) match the .dockerignore-style `pattern` (cleaned)? "**"
-- matches any number of components; a pattern that matches a directory matches what is
-- under it.
function M.match(pattern, path)
  local pp, parts = {}, {}
  for c in pattern:gmatch("[^/]+") do pp[#pp + 1] = c end
  for c in path:gmatch("[^/]+") do parts[#parts + 1] = c end
  local function m(i, j)
    if i > #pp then return true end   -- the pattern matched a prefix: a directory and its contents
    if pp[i] == "**" then
      for k = j, #parts + 1 do
        if m(i + 1, k) then return true end
      end
      return false
    end
    if j > #parts then return false end
    if not parts[j]:match(M.glob_pattern(pp[i])) then return false end
    return m(i + 1, j + 1)
  end
  return m(1, 1)
end

-- .dockerignore lines: comments, blank lines, "!" exceptions; the last matching line wins.
function M.parse_ignore(text)
  local out = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local negate = line:sub(1, 1) == "!"
      if negate then line = line:sub(2):match("^%s*(.-)$") end
      local p = M.clean(line)
      if p ~= "" then out[#out + 1] = { pattern = p, negate = negate } end
    end
  end
  return out
end

function M.ignored(rules, path)
  local hit = false
  for _, r in ipairs(rules) do
    if M.match(r.pattern, path) then hit = not r.negate end
  end
  return hit
end

-- Where a symlink at `rel` (relative to the root, cleaned) pointing at `target` lands,
-- relative to the root; nil when it leaves the root.
function M.link_target(rel, target)
  if target:sub(1, 1) == "/" then return nil end
  local dir = rel:match("^(.*)/[^/]*$") or ""
  local p, escapes = M.clean((dir ~= "" and dir .. "/" or "") .. target)
  if escapes then return nil end
  return p
end

return M
