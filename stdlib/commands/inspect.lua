local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local format = require "mdlua.format"

return {
  summary = "Return low-level information on containers or images",
  usage = "mdlua inspect [OPTIONS] NAME|ID [NAME|ID...]",
  flags = {
    { name = "format", short = "f", type = "string", metavar = "TEMPLATE", help = "Format output with a Go-like template" },
    { name = "type", type = "string", metavar = "TYPE", help = "container or image (default: whichever matches)" },
  },
  run = function(o, args)
    if #args == 0 then errors.fail("inspect: requires at least 1 argument") end
    local docs = json.array()
    for _, ref in ipairs(args) do
      local doc
      if o.type ~= "image" then
        local ok, c = pcall(md.container.get, ref)
        if ok then doc = c:inspect() end
      end
      if not doc and o.type ~= "container" then
        local ok, img = pcall(md.image.get, ref)
        if ok then doc = img:inspect() end
      end
      if not doc then
        errors.fail(o.type == "image" and ("no such image: " .. ref) or ("no such object: " .. ref))
      end
      docs[#docs + 1] = doc
    end
    if o.format then
      for _, d in ipairs(docs) do print(format.template(o.format, d)) end
    else
      print(json.encode(docs, { indent = "    " }))
    end
    return 0
  end,
}
