local md = require "mdlua"
local errors = require "mdlua.errors"

-- "web:/etc/hosts" -> "web", "/etc/hosts"; a host path -> nil
local function split(arg)
  local c, p = arg:match("^([%w][%w_.%-]*):(.*)$")
  if c and p ~= "" then return c, p end
  return nil, arg
end

-- As docker cp: CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH. "-" is a
-- tar stream: of SRC_PATH on stdout, or from stdin extracted into the directory DEST_PATH.
-- Paths in the container are resolved inside its root (`..` stops at the root) and read
-- what the container sees (its /etc/hostname, hosts, resolv.conf).
return {
  summary = "Copy files/folders between a container and the local filesystem",
  usage = "mdlua cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|- | SRC_PATH|- CONTAINER:DEST_PATH",
  flags = {
    { name = "archive", short = "a", type = "bool", help = "Archive mode (copy all uid/gid information)" },
    { name = "follow-link", short = "L", type = "bool", help = "Always follow symbol link in SRC_PATH" },
  },
  run = function(o, args)
    if #args ~= 2 then errors.fail("cp: requires exactly 2 arguments") end
    local sc, sp = split(args[1])
    local dc, dp = split(args[2])
    if (sc and dc) or (not sc and not dc) then
      errors.fail("cp: exactly one of the two paths must be CONTAINER:PATH")
    end
    local opts = { archive = o.archive, follow_link = o["follow-link"] }
    if sc then
      if dp == "-" and md.sys.isatty(1) then errors.fail("cp: the tar stream would go to a terminal: redirect stdout") end
      md.container.get(sc):copy_from(sp, dp, opts)
    else
      md.container.get(dc):copy_to(sp, dp, opts)
    end
    return 0
  end,
}
