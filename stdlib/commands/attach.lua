local md = require "mdlua"
local errors = require "mdlua.errors"
local detachkeys = require "mdlua.detachkeys"

-- Attaches the terminal to a detached container (through its monitor's attach socket):
-- its output from now on, and this terminal's input as its stdin when it was started with
-- -i. Ctrl-P Ctrl-Q (or --detach-keys) detaches and leaves it running.
return {
  summary = "Attach local standard input, output, and error streams to a running container",
  usage = "mdlua attach [OPTIONS] CONTAINER",
  flags = {
    { name = "no-stdin", type = "bool", help = "Do not attach STDIN" },
    detachkeys.flag,
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("attach: requires exactly 1 argument (CONTAINER)") end
    local keys = detachkeys.option(o)
    local c = md.container.get(args[1])
    if c.status ~= "running" and c.status ~= "restarting" then
      errors.fail(("container %s is not running"):format(c.name))
    end
    local r = c:attach { stdin = not o["no-stdin"], detach_keys = keys }
    if r.detached then
      io.stderr:write("\r\nmdlua: detached from ", c.name, "\r\n")
      return 0
    end
    return r.exit_code
  end,
}
