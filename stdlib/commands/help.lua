local md = require "mdlua"
local commands = require "mdlua.commands"
local errors = require "mdlua.errors"

local function overview()
  local cli = require "mdlua.cli"
  local lines = {
    "Usage:  mdlua [GLOBAL OPTIONS] COMMAND [ARG...]",
    "        mdlua [GLOBAL OPTIONS] SCRIPT.lua [ARG...]",
    "        mdlua [GLOBAL OPTIONS] -e CHUNK | -",
    "        mdlua                       (a REPL with the runtime loaded)",
    "",
    "A container engine whose whole surface is Lua.",
    "",
    "Commands:",
  }
  local names = commands.names()
  local width = 0
  for _, n in ipairs(names) do width = math.max(width, #n) end
  for _, n in ipairs(names) do
    local ok, cmd = pcall(commands.find, n)
    local summary = ok and cmd and cmd.summary or ("(cannot load: " .. errors.message(cmd) .. ")")
    lines[#lines + 1] = ("  %-" .. width .. "s   %s"):format(n, summary)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Global options:"
  lines[#lines + 1] = require("mdlua.flags").usage(cli.global_flags)
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Run 'mdlua help COMMAND' or 'mdlua COMMAND --help' for more on a command."
  lines[#lines + 1] = "Add your own commands as NAME.lua in a directory on MDLUA_PATH."
  return table.concat(lines, "\n")
end

return {
  summary = "Show help for mdlua or one of its commands",
  usage = "mdlua help [COMMAND]",
  run = function(_, args)
    if args[1] then
      local cmd = commands.find(args[1])
      if not cmd then require("mdlua.cli").unknown_command(args[1]) end
      print(commands.help(cmd))
    else
      print(overview())
    end
    return 0
  end,
  overview = overview,
}
