local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Remove one or more images",
  usage = "mdlua rmi [OPTIONS] IMAGE [IMAGE...]",
  flags = {
    { name = "force", short = "f", type = "bool", help = "Force removal of the image" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("rmi: requires at least 1 argument") end
    local failed = {}
    for _, ref in ipairs(args) do
      local ok, r = pcall(md.image.remove, ref, { force = o.force })
      if ok then
        for _, n in ipairs(r.untagged) do
          local repo, tag = md.image.familiar(n)
          print("Untagged: " .. repo .. ":" .. tag)
        end
        for _, d in ipairs(r.deleted) do print("Deleted: " .. d) end
      else
        failed[#failed + 1] = errors.message(r)
      end
    end
    if #failed > 0 then errors.fail(table.concat(failed, "; ")) end
    return 0
  end,
}
