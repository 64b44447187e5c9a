-- stdlib/mdlua/commands.lua: where commands come from, and the check of their tables.
local commands = require "mdlua.commands"

describe("commands", function()
  it("load every built-in command and subcommand, none with a flag spelled twice", function()
    local checked = 0
    local function walk(cmd)
      checked = checked + 1
      for n in pairs(cmd.subcommands or {}) do walk(commands.subcommand(cmd, n)) end
    end
    for _, name in ipairs(commands.names()) do walk(commands.find(name)) end
    assert_true(checked > 60, "only " .. checked .. " commands checked")
  end)
end)
