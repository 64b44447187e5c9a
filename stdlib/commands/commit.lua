local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Create a new image from a container's changes",
  usage = "mdlua commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
  flags = {
    { name = "change", short = "c", type = "list", metavar = "INSTRUCTION", help = "Apply a Dockerfile instruction to the image" },
    { name = "message", short = "m", type = "string", help = "Commit message" },
    { name = "author", short = "a", type = "string", help = "Author" },
  },
  run = function(o, args)
    if #args < 1 or #args > 2 then errors.fail("commit: requires CONTAINER and an optional REPOSITORY[:TAG]") end
    local img = md.container.get(args[1]):commit { name = args[2], changes = o.change, message = o.message, author = o.author }
    print(img.id)
    return 0
  end,
}
