local md = require "mdlua"
local runflags = require "mdlua.runflags"
local errors = require "mdlua.errors"

return {
  summary = "Create and run a new container from an image",
  usage = "mdlua run [OPTIONS] IMAGE [COMMAND] [ARG...]",
  interspersed = false,
  flags = runflags.flags,
  run = function(o, args)
    md.sys.trace("run: flags parsed")
    local opts = runflags.options(o, args, "run")
    if opts.tty and opts.interactive and not opts.detach and not md.sys.isatty(0) then
      errors.fail("the input device is not a TTY: drop -t, or run from a terminal")
    end
    if opts.detach and opts.rm and opts.restart and opts.restart ~= "no" then
      errors.fail("--rm and --restart cannot be used together")
    end
    md.container.prepare_network(opts)
    local c = md.container.create(opts, nil, nil, not opts.detach)
    if opts.detach then
      local ok, err, status = c:start_detached()
      if not ok then
        if opts.rm then c:rm { force = true } end
        io.stderr:write("mdlua: ", err, "\n")
        return status
      end
      print(c.id)
      return 0
    end
    local ok, r = pcall(c.start, c, { tty = opts.tty, stdin = opts.interactive })
    md.sys.trace("run: started")
    if opts.rm then pcall(c.rm, c, { force = true }) end
    md.sys.trace("run: removed")
    if not ok then error(r, 0) end
    if r.error then
      io.stderr:write("mdlua: ", r.error, "\n")
    end
    return r.exit_code
  end,
}
