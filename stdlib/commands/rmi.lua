local md = require "mdlua"

return {
  summary = "Remove one or more images",
  usage = "mdlua rmi [OPTIONS] IMAGE [IMAGE...]",
  flags = {
    { name = "force", short = "f", type = "bool", help = "Force removal of the image" },
  },
  run = function(o, args)
    return require("mdlua.commands").each("rmi", args, function(ref)
      local r = md.image.remove(ref, { force = o.force })
      for _, n in ipairs(r.untagged) do
        local repo, tag = md.image.familiar(n)
        print("Untagged: " .. repo .. ":" .. tag)
      end
      for _, d in ipairs(r.deleted) do print("Deleted: " .. d) end
      return false   -- printed its own lines
    end)
  end,
}
