local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Load images from a docker or OCI archive (or an OCI layout directory)",
  usage = "mdlua load [OPTIONS]",
  flags = {
    { name = "input", short = "i", type = "string", metavar = "FILE", help = "Read from FILE or directory instead of stdin" },
    { name = "quiet", short = "q", type = "bool", help = "Suppress the load output" },
  },
  run = function(o, args)
    if #args > 0 then errors.fail("load: takes no arguments (use -i FILE)") end
    if not o.input and md.sys.isatty(0) then
      errors.fail("load: refusing to read an archive from a terminal: use -i FILE or redirect stdin")
    end
    for _, img in ipairs(md.image.load(o.input or "-")) do
      if not o.quiet then
        if #img.names == 0 then print("Loaded image ID: " .. img.id) end
        for _, n in ipairs(img.names) do
          local repo, tag = md.image.familiar(n)
          print("Loaded image: " .. repo .. ":" .. tag)
        end
      end
    end
    return 0
  end,
}
