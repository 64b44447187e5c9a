local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Import a root filesystem tar as a one-layer image",
  usage = "mdlua import [OPTIONS] FILE|- [REPOSITORY[:TAG]]",
  flags = {
    { name = "change", short = "c", type = "list", metavar = "INSTRUCTION", help = "Apply a Dockerfile instruction (CMD, ENV, ...)" },
    { name = "message", short = "m", type = "string", help = "Set a commit message for the imported image" },
  },
  run = function(o, args)
    if #args < 1 or #args > 2 then errors.fail("import: requires 1 or 2 arguments (FILE|- [REPOSITORY[:TAG]])") end
    if args[1] == "-" and md.sys.isatty(0) then
      errors.fail("import: refusing to read a tar from a terminal: give a FILE or redirect stdin")
    end
    local img = md.image.import(args[1], { name = args[2], changes = o.change, message = o.message })
    print(img.id)
    return 0
  end,
}
