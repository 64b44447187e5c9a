local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Download an image from a registry",
  usage = "mdlua pull [OPTIONS] NAME[:TAG|@DIGEST]",
  flags = {
    { name = "all-tags", short = "a", type = "bool", help = "Download all tagged images in the repository" },
    { name = "platform", type = "string", metavar = "OS/ARCH[/VARIANT]", help = "Set platform if server is multi-platform capable" },
    { name = "quiet", short = "q", type = "bool", help = "Suppress verbose output" },
    { name = "tls-verify", type = "bool", default = true, help = "Require HTTPS and verify certificates (false: allow plain HTTP)" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail(("pull: requires exactly 1 argument (NAME[:TAG|@DIGEST]), got %d"):format(#args)) end
    local ref = args[1]
    local progress = o.quiet and "quiet" or (md.sys.isatty(1) and "terminal" or "plain")
    if not o["all-tags"] and not ref:find("@", 1, true) and not ref:match("[^/]*$"):find(":", 1, true) and not o.quiet then
      print("Using default tag: latest")
    end
    local r = md.pull(ref, { platform = o.platform, tls_verify = o["tls-verify"], progress = progress,
                             all_tags = o["all-tags"] or nil })
    local images = r.pulled and { r } or r
    for _, img in ipairs(images) do print(img.pulled.reference) end
    return 0
  end,
}
