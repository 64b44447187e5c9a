local md = require "mdlua"
local errors = require "mdlua.errors"

-- "web:/etc/hosts" -> "web", "/etc/hosts"; a host path -> nil
local function split(arg)
  local c, p = arg:match("^([%w][%w_.%-]*):(.*)$")
  if c and p ~= "" then return c, p end
  return nil, arg
end

return {
  summary = "Copy files/folders between a container and the local filesystem",
  usage = "mdlua cp CONTAINER:SRC_PATH DEST_PATH | SRC_PATH CONTAINER:DEST_PATH",
  run = function(_, args)
    if #args ~= 2 then errors.fail("cp: requires exactly 2 arguments") end
    local sc, sp = split(args[1])
    local dc, dp = split(args[2])
    if (sc and dc) or (not sc and not dc) then
      errors.fail("cp: exactly one of the two paths must be CONTAINER:PATH")
    end
    if sc then md.container.get(sc):copy_from(sp, dp) else md.container.get(dc):copy_to(sp, dp) end
    return 0
  end,
}
