local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
  usage = "mdlua tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  run = function(_, args)
    if #args ~= 2 then errors.fail("tag: requires exactly 2 arguments (SOURCE_IMAGE TARGET_IMAGE)") end
    md.image.get(args[1]):tag(args[2])
    return 0
  end,
}
