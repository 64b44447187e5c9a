local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Log out from a registry",
  usage = "mdlua logout [SERVER]",
  flags = {},
  run = function(o, args)
    if #args > 1 then errors.fail(("logout: takes at most 1 argument (SERVER), got %d"):format(#args)) end
    local server = args[1] or "docker.io"
    if md.logout(server) then
      print("Removing login credentials for " .. server)
    else
      print("Not logged in to " .. server)
    end
    return 0
  end,
}
