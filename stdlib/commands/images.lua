local md = require "mdlua"
local format = require "mdlua.format"
local template = require "mdlua.template"
local errors = require "mdlua.errors"

-- Docker's column names for `images --format 'table ...'`.
local headers = {
  ID = "IMAGE ID", Repository = "REPOSITORY", Tag = "TAG", Digest = "DIGEST", CreatedSince = "CREATED",
  CreatedAt = "CREATED AT", Size = "SIZE", VirtualSize = "SIZE", SharedSize = "SHARED SIZE",
  UniqueSize = "UNIQUE SIZE", Containers = "CONTAINERS",
}

-- A shell glob (Go's path.Match: * and ? do not cross '/') as an anchored Lua pattern.
local function glob(p)
  return "^" .. p:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", "[^/]*"):gsub("%?", "[^/]") .. "$"
end

-- The predicate of `--filter` flags, as Docker combines them: values of one key are
-- alternatives, except labels, which must all match; different keys must all match.
local function filters(list)
  local by = {}
  for _, f in ipairs(list) do
    local k, v = f:match("^([%w_-]+)=(.*)$")
    if not k then errors.fail(("invalid filter %q: expected KEY=VALUE"):format(f)) end
    if not ({ dangling = true, label = true, before = true, since = true, reference = true })[k] then
      errors.fail(("invalid filter '%s'"):format(k))
    end
    if k == "dangling" and v ~= "true" and v ~= "false" then
      errors.fail(("invalid filter 'dangling=%s': expected true or false"):format(v))
    end
    by[k] = by[k] or {}
    table.insert(by[k], v)
  end
  local function created_of(ref) return md.image.get(ref).created end
  local before = by.before and created_of(by.before[#by.before])
  local since = by.since and created_of(by.since[#by.since])
  -- `name`: the row's tag (a full NAME:TAG), or nil for a row of a digest only, whose
  -- `digest` is given: Docker matches a pattern against either reference and its repository.
  return function(img, name, repo, tag, digest)
    if by.dangling then
      local want = by.dangling[#by.dangling] == "true"
      if (#img.names == 0) ~= want then return false end
    end
    if before and not (img.created < before) then return false end
    if since and not (img.created > since) then return false end
    if by.reference then
      if not name and not digest then return false end
      local refs = name and { repo .. ":" .. tag, repo, name } or { repo .. "@" .. digest, repo }
      local any = false
      for _, p in ipairs(by.reference) do
        local pat = glob(p)
        for _, r in ipairs(refs) do
          if r:match(pat) then any = true end
        end
      end
      if not any then return false end
    end
    if by.label then
      local labels = ((img:config() or {}).config or {}).Labels or {}
      for _, l in ipairs(by.label) do
        local k, v = l:match("^([^=]+)=(.*)$")
        if k then
          if labels[k] ~= v then return false end
        elseif labels[l] == nil then
          return false
        end
      end
    end
    return true
  end
end

return {
  summary = "List images",
  usage = "mdlua images [OPTIONS] [REFERENCE]",
  flags = {
    { name = "all", short = "a", type = "bool", help = "Show all images (default hides intermediate images)" },
    { name = "quiet", short = "q", type = "bool", help = "Only show image IDs" },
    { name = "digests", type = "bool", help = "Show digests" },
    { name = "no-trunc", type = "bool", help = "Don't truncate output" },
    { name = "format", type = "string", metavar = "TEMPLATE", help = "Format output: a Go template, 'table TEMPLATE' or 'json'" },
    { name = "filter", short = "f", type = "list", metavar = "FILTER",
      help = "Filter output: dangling=true|false, label=KEY[=VALUE], before=IMAGE, since=IMAGE, reference=PATTERN" },
  },
  run = function(o, args)
    local keep = filters(o.filter or {})
    local rows, seen = {}, {}
    for _, img in ipairs(md.image.list()) do
      local id = o["no-trunc"] and img.id or img:short_id()
      -- The digest of each repository (Docker's RepoDigests), and a row for a repository
      -- the image has a digest but no tag of (pulled by digest), as Docker shows it.
      local digest_of, tagged, names = {}, {}, {}
      for _, d in ipairs(img.digests or {}) do
        local repo, digest = md.image.familiar_digest(d)
        digest_of[repo] = digest_of[repo] or digest
      end
      for _, n in ipairs(img.names) do
        names[#names + 1] = n
        tagged[(md.image.familiar(n))] = true
      end
      for _, d in ipairs(img.digests or {}) do
        local repo = md.image.familiar_digest(d)
        if not tagged[repo] then
          tagged[repo] = true
          names[#names + 1] = { repo = repo }
        end
      end
      if #names == 0 then names[1] = false end
      for _, n in ipairs(names) do
        local repo, tag, untagged = "<none>", "<none>", false
        if type(n) == "table" then repo, n, untagged = n.repo, false, true elseif n then repo, tag = md.image.familiar(n) end
        local match = (not args[1] or repo == args[1] or (repo .. ":" .. tag) == args[1]
          or (n and n == args[1])) and keep(img, n or nil, repo, tag, untagged and digest_of[repo] or nil)
        if match then
          rows[#rows + 1] = { repo = repo, tag = tag, id = id, digest = digest_of[repo] or "<none>", created = img.created,
                              size = img.size, image = img }
        end
      end
    end
    if o.quiet then
      for _, r in ipairs(rows) do
        if not seen[r.id] then seen[r.id] = true; print(r.id) end
      end
      return 0
    end
    if o.format and o.format ~= "table" then
      local views = {}
      for i, r in ipairs(rows) do
        views[i] = template.struct({ Repository = r.repo, Tag = r.tag, ID = r.id, Digest = r.digest,
          CreatedSince = format.ago(r.created), CreatedAt = r.created, Size = format.size(r.size),
          VirtualSize = format.size(r.size), SharedSize = "N/A", UniqueSize = "N/A", Containers = "N/A" })
      end
      format.rows(o.format, views, { headers = headers })
      return 0
    end
    local header = { "REPOSITORY", "TAG" }
    if o.digests then header[#header + 1] = "DIGEST" end
    for _, h in ipairs { "IMAGE ID", "CREATED", "SIZE" } do header[#header + 1] = h end
    local out = {}
    for _, r in ipairs(rows) do
      local row = { r.repo, r.tag }
      if o.digests then row[#row + 1] = r.digest end
      row[#row + 1] = r.id
      row[#row + 1] = format.ago(r.created)
      row[#row + 1] = format.size(r.size)
      out[#out + 1] = row
    end
    format.table(header, out)
    return 0
  end,
}
