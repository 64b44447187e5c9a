-- stdlib/mdlua/envfile.lua: the one reader of `run --env-file`, a stack service's
-- `env_file` and `mdlua kube`'s ConfigMaps, with Docker's rules.
local envfile = require "mdlua.envfile"

local function file(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

describe("env files", function()
  it("takes values as written, bare names from the environment", function()
    local path = file('\239\187\191A=1\n# a comment\n\n   B=two words  \nQ="quoted" # kept\nEMPTY=\nBARE\nUNSET\nWIN=crlf\r\nE=a=b\n')
    local vars = { BARE = "from host" }
    local got = envfile.read(path, { lookup = function(n) return vars[n] end })
    os.remove(path)
    assert_same(got, { "A=1", "B=two words  ", 'Q="quoted" # kept', "EMPTY=", "BARE=from host", "WIN=crlf", "E=a=b" })
  end)

  it("names the file and line of a bad name", function()
    local path = file("A=1\nB C=2\n")
    assert_error(path .. ", line 2: invalid variable name \"B C\"", envfile.read, path)
    os.remove(path)
    path = file("=value\n")
    assert_error("--env-file: " .. path .. ", line 1: invalid variable name \"\"", envfile.read, path)
    os.remove(path)
  end)

  it("says which file is missing, in its user's words", function()
    local msg = assert_error("services.web.env_file: /nonexistent/app.env", envfile.read, "/nonexistent/app.env",
                             { what = "services.web.env_file" })
    assert_true(msg:find("No such file", 1, true) ~= nil, msg)
  end)
end)
