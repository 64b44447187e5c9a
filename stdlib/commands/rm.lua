local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Remove one or more containers",
  usage = "mdlua rm [OPTIONS] CONTAINER [CONTAINER...]",
  flags = {
    { name = "force", short = "f", type = "bool", help = "Force the removal of a running container (uses SIGKILL)" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("rm: requires at least 1 argument") end
    local failed = {}
    for _, ref in ipairs(args) do
      local ok, err = pcall(function() md.container.get(ref):rm { force = o.force } end)
      if ok then print(ref) else failed[#failed + 1] = errors.message(err) end
    end
    if #failed > 0 then errors.fail(table.concat(failed, "; ")) end
    return 0
  end,
}
