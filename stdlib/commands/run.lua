local md = require "mdlua"
local runflags = require "mdlua.runflags"
local errors = require "mdlua.errors"
local detachkeys = require "mdlua.detachkeys"

-- run's flags are create's and --detach-keys.
local flags = { table.unpack(runflags.flags) }
flags[#flags + 1] = detachkeys.flag

-- run -it: the container starts under its monitor (as with -d) and this terminal attaches
-- to it, so that the detach keys (Ctrl-P Ctrl-Q) can leave it running: in the foreground,
-- mdlua is the container's monitor and the container dies with it (docs/containers.md,
-- "Supervision"). attach.hold asks the monitor to keep the first output for this client
-- (Sources/MDCore/Container/Monitor.swift). With --rm the monitor removes the container when
-- it ends, detached from or not, as Docker does; the status is then its die event's.
local function exit_from_events(id)
  local code
  for _, name in ipairs { "/events.log.1", "/events.log" } do
    local f = io.open(md.config.root .. name)
    if f then
      for line in f:lines() do
        if line:find(id, 1, true) and line:find('"Action":"die"', 1, true) then
          code = tonumber(line:match('"exitCode":"(%d+)"')) or code
        end
      end
      f:close()
    end
  end
  return code
end

local function run_attached(opts, keys)
  local c = md.container.create(opts)
  local f = io.open(c:dir() .. "/attach.hold", "w")
  if f then f:close() end
  local ok, err = pcall(c.start_detached, c)
  if not ok then
    if opts.rm then pcall(c.rm, c, { force = true }) end
    error(err, 0)
  end
  local r = c:attach { stdin = true, detach_keys = keys }
  if r.detached then
    io.stderr:write("\r\nmdlua: detached from ", c.name, "\r\n")
    return 0
  end
  if opts.rm then
    -- The monitor removes it after recording the exit: returned once it is gone.
    local deadline = md.sys.monotonic() + 5
    while pcall(md.container.get, c.id) and md.sys.monotonic() < deadline do md.sys.sleep(0.01) end
  end
  if r.removed then
    local code = exit_from_events(c.id)
    if code then return code end
    io.stderr:write("mdlua: container ", c.name, " was removed before its exit status could be read\n")
    return 125
  end
  return r.exit_code
end

return {
  summary = "Create and run a new container from an image",
  usage = "mdlua run [OPTIONS] IMAGE [COMMAND] [ARG...]",
  interspersed = false,
  flags = flags,
  run = function(o, args)
    md.sys.trace("run: flags parsed")
    local keys = detachkeys.option(o)
    local opts = runflags.options(o, args, "run")
    if opts.tty and opts.interactive and not opts.detach and not md.sys.isatty(0) then
      errors.fail("the input device is not a TTY: drop -t, or run from a terminal")
    end
    if opts.detach and opts.rm and opts.restart and opts.restart ~= "no" then
      errors.fail("--rm and --restart cannot be used together")
    end
    if opts.tty and opts.interactive and not opts.detach then return run_attached(opts, keys) end
    md.container.prepare_network(opts)
    local c = md.container.create(opts, nil, nil, not opts.detach)
    if opts.detach then
      local ok, err = pcall(c.start_detached, c)
      if not ok then
        if opts.rm then pcall(c.rm, c, { force = true }) end
        error(err, 0)
      end
      print(c.id)
      return 0
    end
    local ok, r = pcall(c.start, c, { tty = opts.tty, stdin = opts.interactive })
    md.sys.trace("run: started")
    if opts.rm then pcall(c.rm, c, { force = true }) end
    md.sys.trace("run: removed")
    if not ok then error(r, 0) end
    if r.warning then io.stderr:write("mdlua: ", r.warning, "\n") end
    return r.exit_code
  end,
}
