local md = require "mdlua"
local errors = require "mdlua.errors"

-- Attaches to a detached container's output: what it writes from now on, until it stops.
-- (Its stdin is not attached: a detached container's stdin is /dev/null.)
return {
  summary = "Attach to a running container's output until it stops",
  usage = "mdlua attach CONTAINER",
  run = function(_, args)
    if #args ~= 1 then errors.fail("attach: requires exactly 1 argument (CONTAINER)") end
    local c = md.container.get(args[1])
    if c.status ~= "running" and c.status ~= "restarting" then
      errors.fail(("container %s is not running"):format(c.name))
    end
    return require("commands.logs").run({ follow = true, tail = "0", timestamps = false }, { c.id })
  end,
}
