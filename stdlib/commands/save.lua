local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Save images to a docker or OCI archive",
  usage = "mdlua save [OPTIONS] IMAGE [IMAGE...]",
  flags = {
    { name = "output", short = "o", type = "string", metavar = "FILE", help = "Write to FILE instead of stdout" },
    { name = "format", type = "string", default = "docker", metavar = "FORMAT", help = "docker (a docker save archive) or oci (an OCI archive)" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("save: requires at least 1 argument") end
    if o.format ~= "docker" and o.format ~= "oci" then
      errors.fail(("save: invalid --format %q: expected docker or oci"):format(o.format))
    end
    if not o.output and md.sys.isatty(1) then
      errors.fail("save: refusing to write an archive to a terminal: use -o FILE or redirect stdout")
    end
    md.image.save { images = args, output = o.output, format = o.format }
    return 0
  end,
}
