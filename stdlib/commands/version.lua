local md = require "mdlua"

return {
  summary = "Show the mdlua version",
  usage = "mdlua version",
  run = function()
    print(require("mdlua.cli").version_line())
    return 0
  end,
}
