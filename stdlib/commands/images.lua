local md = require "mdlua"
local format = require "mdlua.format"
local template = require "mdlua.template"

-- Docker's column names for `images --format 'table ...'`.
local headers = {
  ID = "IMAGE ID", Repository = "REPOSITORY", Tag = "TAG", Digest = "DIGEST", CreatedSince = "CREATED",
  CreatedAt = "CREATED AT", Size = "SIZE", VirtualSize = "SIZE", SharedSize = "SHARED SIZE",
  UniqueSize = "UNIQUE SIZE", Containers = "CONTAINERS",
}

return {
  summary = "List images",
  usage = "mdlua images [OPTIONS] [REFERENCE]",
  flags = {
    { name = "all", short = "a", type = "bool", help = "Show all images (default hides intermediate images)" },
    { name = "quiet", short = "q", type = "bool", help = "Only show image IDs" },
    { name = "digests", type = "bool", help = "Show digests" },
    { name = "no-trunc", type = "bool", help = "Don't truncate output" },
    { name = "format", type = "string", metavar = "TEMPLATE", help = "Format output: a Go template, 'table TEMPLATE' or 'json'" },
  },
  run = function(o, args)
    local rows, seen = {}, {}
    for _, img in ipairs(md.image.list()) do
      local id = o["no-trunc"] and img.id or img:short_id()
      local names = #img.names > 0 and img.names or { false }
      for _, n in ipairs(names) do
        local repo, tag = "<none>", "<none>"
        if n then repo, tag = md.image.familiar(n) end
        local match = not args[1] or repo == args[1] or (repo .. ":" .. tag) == args[1]
          or (n and n == args[1])
        if match then
          rows[#rows + 1] = { repo = repo, tag = tag, id = id, digest = img.manifest, created = img.created,
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
        views[i] = template.struct({ Repository = r.repo, Tag = r.tag, ID = r.id, Digest = r.digest or "<none>",
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
