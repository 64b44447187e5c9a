local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"
local template = require "mdlua.template"

-- Docker's column names for `history --format 'table ...'`.
local headers = {
  ID = "IMAGE", CreatedSince = "CREATED", CreatedAt = "CREATED AT", CreatedBy = "CREATED BY",
  Size = "SIZE", Comment = "COMMENT",
}

return {
  summary = "Show the history of an image",
  usage = "mdlua history [OPTIONS] IMAGE",
  flags = {
    { name = "human", short = "H", type = "bool", default = true, help = "Print sizes and dates in human readable format" },
    { name = "no-trunc", type = "bool", help = "Don't truncate output" },
    { name = "quiet", short = "q", type = "bool", help = "Only show image IDs" },
    { name = "format", type = "string", metavar = "TEMPLATE", help = "Format output: a Go template, 'table TEMPLATE' or 'json'" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("history: requires exactly 1 argument (IMAGE)") end
    format.check(o.format)
    local img = md.image.get(args[1])
    local entries = {}
    for i, h in ipairs(img:history()) do
      local by = h.created_by or ""
      if not o["no-trunc"] and #by > 45 then by = by:sub(1, 44) .. "…" end
      entries[i] = {
        id = i == 1 and (o["no-trunc"] and img.id or img:short_id()) or "<missing>",
        created = o.human and format.ago(h.created) or (h.created or ""),
        created_at = h.created or "", by = by,
        size = o.human and format.size(h.size) or tostring(h.size), comment = h.comment or "",
      }
    end
    if o.quiet then
      for _, e in ipairs(entries) do print(e.id) end
      return 0
    end
    local views = {}
    for i, e in ipairs(entries) do
      views[i] = template.struct({ ID = e.id, CreatedSince = e.created, CreatedAt = e.created_at, CreatedBy = e.by,
                                   Size = e.size, Comment = e.comment })
    end
    format.rows(o.format, views, {
      headers = headers,
      default = function()
        local rows = {}
        for i, e in ipairs(entries) do rows[i] = { e.id, e.created, e.by, e.size, e.comment } end
        format.table({ "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" }, rows)
      end,
    })
    return 0
  end,
}
