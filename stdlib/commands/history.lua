local md = require "mdlua"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

return {
  summary = "Show the history of an image",
  usage = "mdlua history [OPTIONS] IMAGE",
  flags = {
    { name = "human", short = "H", type = "bool", default = true, help = "Print sizes and dates in human readable format" },
    { name = "no-trunc", type = "bool", help = "Don't truncate output" },
    { name = "quiet", short = "q", type = "bool", help = "Only show image IDs" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("history: requires exactly 1 argument (IMAGE)") end
    local img = md.image.get(args[1])
    local rows = {}
    for i, h in ipairs(img:history()) do
      local id = i == 1 and (o["no-trunc"] and img.id or img:short_id()) or "<missing>"
      if o.quiet then print(id) else
        local by = h.created_by
        if not o["no-trunc"] and #by > 45 then by = by:sub(1, 44) .. "…" end
        rows[#rows + 1] = { id, o.human and format.ago(h.created) or (h.created or ""), by,
                            o.human and format.size(h.size) or tostring(h.size), h.comment }
      end
    end
    if not o.quiet then format.table({ "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" }, rows) end
    return 0
  end,
}
