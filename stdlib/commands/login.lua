local md = require "mdlua"
local errors = require "mdlua.errors"

return {
  summary = "Log in to a registry",
  usage = "mdlua login [OPTIONS] [SERVER]",
  flags = {
    { name = "username", short = "u", type = "string", help = "Username" },
    { name = "password", short = "p", type = "string", help = "Password (prefer --password-stdin)" },
    { name = "password-stdin", type = "bool", help = "Take the password from stdin" },
    { name = "tls-verify", type = "bool", default = true, help = "Require HTTPS and verify certificates (false: allow plain HTTP)" },
  },
  run = function(o, args)
    if #args > 1 then errors.fail(("login: takes at most 1 argument (SERVER), got %d"):format(#args)) end
    local password = o.password
    if o["password-stdin"] then
      if password then errors.fail("login: --password and --password-stdin are mutually exclusive") end
      if not o.username then errors.fail("login: must provide --username with --password-stdin") end
      password = (io.stdin:read("a") or ""):gsub("[\r\n]+$", "")
    end
    local user = o.username
    if not user or not password then
      if not md.sys.isatty(0) then errors.fail("login: give --username and --password-stdin (no terminal to ask on)") end
      if not user then
        io.stdout:write("Username: ")
        io.stdout:flush()
        user = io.stdin:read("l")
      end
      if not password then
        io.stdout:write("Password: ")
        io.stdout:flush()
        os.execute("stty -echo 2>/dev/null")
        password = io.stdin:read("l")
        os.execute("stty echo 2>/dev/null")
        io.stdout:write("\n")
      end
    end
    if not user or user == "" then errors.fail("login: username is required") end
    if not password or password == "" then errors.fail("login: password is required") end
    md.login { registry = args[1], username = user, password = password, tls_verify = o["tls-verify"] }
    print("Login Succeeded")
    return 0
  end,
}
