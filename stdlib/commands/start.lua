local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local detachkeys = require "mdlua.detachkeys"

return {
  summary = "Start a created container",
  usage = "mdlua start [OPTIONS] CONTAINER",
  flags = {
    { name = "attach", short = "a", type = "bool", help = "Attach STDOUT/STDERR and forward signals" },
    { name = "interactive", short = "i", type = "bool", help = "Attach the container's STDIN" },
    detachkeys.flag,
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("start: requires exactly 1 argument (CONTAINER)") end
    local c = md.container.get(args[1])
    if c.status == "paused" then
      errors.fail(("container %s is paused: cannot start a paused container, try unpause instead"):format(c.name))
    end
    if not o.attach and c.status == "running" then
      -- As Docker: starting a running container does nothing, and succeeds.
      print(args[1])
      return 0
    end
    if not o.attach then
      c:start_detached()
      print(args[1])
      return 0
    end
    local cfg = c.config
    local keys = detachkeys.option(o)
    if cfg.tty and o.interactive and not cfg.rm and md.sys.isatty(0) then
      -- As run -it (stdlib/commands/run.lua): under its monitor, attached, so that the
      -- detach keys can leave it running.
      local f = io.open(c:dir() .. "/attach.hold", "w")
      if f then f:close() end
      c:start_detached()
      local r = c:attach { stdin = true, detach_keys = keys }
      if r.detached then
        io.stderr:write("\r\nmdlua: detached from ", c.name, "\r\n")
        return 0
      end
      return r.exit_code
    end
    local ok, r = pcall(c.start, c, { tty = cfg.tty, stdin = o.interactive or cfg.interactive })
    if cfg.rm then pcall(c.rm, c, { force = true }) end
    if not ok then error(r, 0) end
    if r.warning then io.stderr:write("mdlua: ", r.warning, "\n") end
    return r.exit_code
  end,
}
