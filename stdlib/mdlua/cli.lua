-- The command line: global options, then a subcommand, a script, -e chunks, stdin, or
-- the REPL. Returns the process exit status.
--
-- Exit statuses: a subcommand's own; 125 when a subcommand fails (a bad flag, an engine
-- error, a Lua error), built-in or from MDLUA_PATH alike, with one line (the traceback at
-- --log-level debug); 1 for an error in a script, an -e chunk or stdin, with its traceback,
-- as `lua` does. An error raised with errors.fail keeps its one line and its status.
local md = require "mdlua"
local errors = require "mdlua.errors"
local flags = require "mdlua.flags"
local log = require "mdlua.log"

local M = {}

M.global_flags = {
  { name = "root", type = "string", metavar = "DIR",
    help = "State root (default $MDLUA_ROOT or /var/lib/mdlua)" },
  { name = "runroot", type = "string", metavar = "DIR",
    help = "Run state root (default $MDLUA_RUNROOT, ROOT/run when --root or $MDLUA_ROOT is given, or /run/mdlua)" },
  { name = "log-level", type = "string", metavar = "LEVEL",
    help = "Log level: debug, info, warn or error (default warn)" },
  { name = "execute", short = "e", type = "list", metavar = "CHUNK",
    help = "Run a Lua chunk (repeatable); then the script, if one is given" },
  { name = "help", short = "h", type = "bool", help = "Print help" },
  { name = "version", short = "v", type = "bool", help = "Print version information" },
}

function M.version_line()
  return ("mdlua version %s (%s, commit %s)"):format(md.version, md.lua_release, md.commit)
end

local function nonempty(s) if s and s ~= "" then return s end end

-- md.config: where state lives and how loud to be, for every binding that needs it.
local function configure(opts)
  local root = nonempty(opts.root) or nonempty(os.getenv("MDLUA_ROOT"))
  local runroot = nonempty(opts.runroot) or nonempty(os.getenv("MDLUA_RUNROOT"))
    or (root and root .. "/run") or "/run/mdlua"
  md.config = { root = root or "/var/lib/mdlua", runroot = runroot }
  local level = opts["log-level"] or nonempty(os.getenv("MDLUA_LOG_LEVEL")) or "warn"
  local ok, err = log.set_level(level)
  if not ok then errors.fail(err) end
  md.config.log_level = level
  md.log = log
end

local traceback = errors.traceback

-- Runs a chunk as a user script: errors print with their traceback and give status 1.
local function run_chunk(chunk, err)
  if not chunk then
    io.stderr:write("mdlua: ", err, "\n")
    return 1
  end
  local ok, e = xpcall(chunk, traceback, table.unpack(arg or {}))
  -- A build script: what it returned (a stage) and the stages it tagged are built now.
  local build = package.loaded["mdlua.build"]
  if ok and build then ok, e = xpcall(build.finish, traceback, e) end
  if ok then return 0 end
  io.stderr:write("mdlua: ", errors.message(e), "\n")
  return errors.status(e) or 1
end

local function run_script(path, args)
  arg = { [0] = path, table.unpack(args) }
  arg[-1] = "mdlua"
  if path == "-" then
    return run_chunk(load(io.read("a"), "=stdin", "t"))
  end
  return run_chunk(loadfile(path, "t"))
end

function M.unknown_command(name)
  local commands = require "mdlua.commands"
  local hint = commands.suggest(name)
  errors.fail(("unknown command %q%s; 'mdlua help' lists the commands")
    :format(name, hint and (" (did you mean %q?)"):format(hint) or ""))
end

-- Commands that work without the state root.
local rootless = { help = true, version = true, completion = true }

-- A built-in command that cannot read the state root would see no containers and no
-- images and say so wrongly ("no such image"): it fails first, in one line (status 125).
-- A root not made yet is fine (the first command makes it). Opening a directory for
-- reading needs the permission listing it does, and costs one system call.
function M.check_root()
  local root = md.config.root
  for i, dir in ipairs { root, root .. "/containers", root .. "/layers", root .. "/blobs" } do
    local f, err, errno = io.open(dir, "r")
    if f then
      f:close()
    elseif errno ~= 2 then  -- ENOENT
      local why = (tostring(err):match(": ([^:]+)$") or tostring(err)):lower()
      errors.fail(("cannot read the state root %s: %s%s"):format(root, why,
        md.sys.geteuid() ~= 0 and " (run as root)" or ""))
    elseif i == 1 then
      break
    end
  end
end

local function run_command(name, argv)
  local commands = require "mdlua.commands"
  local cmd = commands.find(name)
  if not cmd then M.unknown_command(name) end
  -- A command group (`image`, `layer`): the first argument names the subcommand.
  while cmd.subcommands do
    local sub = argv[1]
    if sub == nil or sub == "--help" or sub == "-h" or sub == "help" then
      print(commands.help(cmd))
      return sub == nil and 125 or 0
    end
    local next_cmd = commands.subcommand(cmd, sub)
    if not next_cmd then
      errors.fail(("unknown command %q for \"mdlua %s\"; 'mdlua %s --help' lists them"):format(sub, cmd.name, cmd.name))
    end
    cmd, argv = next_cmd, { table.unpack(argv, 2) }
  end
  local spec = { table.unpack(cmd.flags) }
  local short_h = true
  for _, f in ipairs(spec) do if f.short == "h" then short_h = false end end
  spec[#spec + 1] = { name = "help", short = short_h and "h" or nil, type = "bool" }
  local opts, args = flags.parse(spec, argv, { interspersed = cmd.interspersed })
  if opts.help then
    print(commands.help(cmd))
    return 0
  end
  if cmd.origin == "built-in" and not rootless[cmd.name] then M.check_root() end
  return cmd.run(opts, args) or 0
end

local function main(argv)
  local opts, rest = flags.parse(M.global_flags, argv, { interspersed = false })
  configure(opts)
  if opts.version then
    print(M.version_line())
    return 0
  end
  if opts.help then
    return run_command("help", {})
  end
  for i, chunk in ipairs(opts.execute) do
    local status = run_chunk(load(chunk, "=(command line)", "t"))
    if status ~= 0 then return status end
  end

  local first = rest[1]
  if first == nil then
    if #opts.execute > 0 then return 0 end
    if md.sys.isatty(0) then return require("mdlua.repl").run() end
    return run_script("-", {})
  end
  local args = { table.unpack(rest, 2) }
  if first == "-" or first:match("%.lua$") or first:find("/", 1, true) then
    return run_script(first, args)
  end
  return run_command(first, args)
end

-- Errors of the CLI itself (bad flags, failed commands) are one line and status 125;
-- at --log-level debug, every error also shows where it was raised (for a bug, a string
-- error, that is the one way to find it).
local function capture(e)
  if errors.is(e) then
    if log.level == "debug" and not e.traceback then e.traceback = debug.traceback(e.message, 2) end
    return e
  end
  return { message = tostring(e), traceback = debug.traceback(tostring(e), 2) }
end

function M.main(argv)
  local ok, status = xpcall(main, capture, argv)
  if ok then return math.tointeger(status) or 0 end
  local e = status
  -- "md.image.get: no such image: x" names the Lua function for scripts; a CLI user wants
  -- only what went wrong.
  io.stderr:write("mdlua: ", (e.message:gsub("^md%.[%w_.:]+: ", "")), "\n")
  if e.traceback and log.level == "debug" then io.stderr:write(e.traceback, "\n") end
  return errors.status(e) or 125
end

return M
