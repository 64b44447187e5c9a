-- The flags `run` and `create` share (and `update`'s), and their translation into the
-- fields of md.container.create: all of it from the one table of options (options.lua).
local errors = require "mdlua.errors"
local options = require "mdlua.options"

local M = {}

M.flags = options.flags()
M.resource_flags = options.flags { update = true }

-- The resource fields from parsed flags (an empty table when none was given).
function M.resources(o)
  return options.from_flags(o).resources or {}
end

-- Fields from parsed flags and positionals (IMAGE [COMMAND [ARG...]]). From here on, errors
-- about an option name its flag (options.name).
function M.options(o, args, command)
  if not args[1] then errors.fail(command .. ": requires at least 1 argument (IMAGE [COMMAND [ARG...]])") end
  options.mode = "cli"
  local out = options.from_flags(o)
  out.image = args[1]
  local cmd = { table.unpack(args, 2) }
  if #cmd > 0 then out.cmd = cmd end
  return out
end

return M
