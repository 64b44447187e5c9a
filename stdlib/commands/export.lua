local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Export a container's filesystem as a tar archive",
  usage = "mdlua export [OPTIONS] CONTAINER",
  flags = {
    { name = "output", short = "o", type = "string", metavar = "FILE", help = "Write to FILE instead of stdout" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("export: requires exactly 1 argument (CONTAINER)") end
    if not o.output and md.sys.isatty(1) then
      errors.fail("export: refusing to write an archive to a terminal: use -o FILE or redirect stdout")
    end
    md.container.get(args[1]):export(o.output)
    return 0
  end,
}
