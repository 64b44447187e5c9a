-- --detach-keys as Docker reads them: a comma-separated list of keys, each a single
-- character or ctrl-X with X one of a-z, @, [, \, ], ^, _ ("ctrl-p,ctrl-q" is the default).
-- Returns the bytes the terminal sends for them, or nil and a message.
local M = {}

local ctrl = { ["@"] = 0, ["["] = 27, ["\\"] = 28, ["]"] = 29, ["^"] = 30, ["_"] = 31 }

function M.parse(spec)
  if spec == nil or spec == "" then return nil end
  local out = {}
  for key in (spec .. ","):gmatch("([^,]*),") do
    if #key == 1 then
      out[#out + 1] = key
    else
      local x = key:lower():match("^ctrl%-(.)$")
      local code = x and (x:match("^%l$") and x:byte() - 96 or ctrl[x])
      if not code then
        return nil, ("invalid detach keys %q: unknown key %q (a character, or ctrl- and one of a-z @ [ \\ ] ^ _)"):format(spec, key)
      end
      out[#out + 1] = string.char(code)
    end
  end
  return table.concat(out)
end

-- For a command's flags: the bytes, or a one-line error (exit 125) for a bad value.
function M.option(o)
  local keys, err = M.parse(o["detach-keys"])
  if err then require("mdlua.errors").fail(err) end
  return keys
end

M.flag = { name = "detach-keys", type = "string", metavar = "KEYS",
           help = "Override the key sequence for detaching a container (default ctrl-p,ctrl-q)" }

return M
