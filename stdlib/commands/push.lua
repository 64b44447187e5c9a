local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Upload an image to a registry",
  usage = "mdlua push [OPTIONS] NAME[:TAG] [DESTINATION]",
  flags = {
    { name = "quiet", short = "q", type = "bool", help = "Suppress verbose output" },
    { name = "tls-verify", type = "bool", default = true, help = "Require HTTPS and verify certificates (false: allow plain HTTP)" },
    { name = "digestfile", type = "string", metavar = "FILE", help = "Write the digest of the pushed image to FILE" },
  },
  run = function(o, args)
    if #args < 1 or #args > 2 then errors.fail(("push: requires 1 or 2 arguments (NAME[:TAG] [DESTINATION]), got %d"):format(#args)) end
    local r = md.push(args[1], { destination = args[2], tls_verify = o["tls-verify"],
                                 progress = o.quiet and "quiet" or (md.sys.isatty(1) and "terminal" or "plain") })
    if o.digestfile then
      local f = assert(io.open(o.digestfile, "w"))
      f:write(r.digest)
      f:close()
    end
    if o.quiet then print(r.reference) end
    return 0
  end,
}
