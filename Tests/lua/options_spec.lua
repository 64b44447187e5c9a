-- stdlib/mdlua/options.lua: the one table of run options, and what is made from it.
local options = require "mdlua.options"
local flags = require "mdlua.flags"
local runflags = require "mdlua.runflags"

local function with_mode(mode, fn)
  local saved = options.mode
  options.mode = mode
  local ok, err = pcall(fn)
  options.mode = saved
  if not ok then error(err, 0) end
end

describe("options table", function()
  it("has one entry per flag and per short flag, each with help", function()
    local flag_seen, short_seen = {}, {}
    for _, e in ipairs(options.entries) do
      if e.flag then
        assert_true(not flag_seen[e.flag], "flag --" .. e.flag .. " twice")
        flag_seen[e.flag] = true
        assert_true(type(e.help) == "string" and e.help ~= "", "help for --" .. e.flag)
        if e.short then
          assert_true(not short_seen[e.short], "short -" .. e.short .. " twice")
          short_seen[e.short] = true
        end
      end
      assert_true(e.lua_type ~= nil, "a known type for " .. e.path)
    end
  end)

  it("gives run/create every flag and update the ones marked for it", function()
    assert_eq(#runflags.flags, #options.flags())
    local names = {}
    for _, f in ipairs(runflags.resource_flags) do names[f.name] = true end
    assert_true(names.memory and names.cpus and names.restart and names["pids-limit"], "update's flags")
    assert_true(not names.name and not names["device-read-bps"], "update has no --name or device throttles")
  end)
end)

describe("options.from_flags", function()
  it("nests groups and leaves out what was not given", function()
    local o = flags.parse(runflags.flags, { "-m", "64m", "--cpus", "0.5", "--health-cmd", "true", "-e", "A=1", "busybox" },
                          { interspersed = false })
    local f = options.from_flags(o)
    assert_same(f.resources, { memory = "64m", cpus = 0.5 })
    assert_same(f.health, { cmd = "true" })
    assert_same(f.env, { "A=1" })
    assert_eq(f.rm, nil, "an unset bool is not a field")
    assert_eq(f.network, "bridge", "defaults stay")
  end)

  it("gives update an empty resources table when no limit was given", function()
    assert_same(runflags.resources(flags.parse(runflags.resource_flags, { "--restart", "always" })), {})
  end)
end)

describe("options.name and options.fail", function()
  it("names a flag from the CLI and a field from Lua", function()
    with_mode("cli", function() assert_eq(options.name("resources.memory"), "--memory") end)
    with_mode("lua", function() assert_eq(options.name("resources.memory"), "resources.memory") end)
    with_mode("lua", function() assert_eq(options.name("read_only"), "read_only") end)
  end)

  it("turns the CLI's words into fields for Lua", function()
    with_mode("lua", function()
      assert_error("invalid resources.memory_swap: it must be at least resources.memory", options.fail,
                   "invalid --memory-swap: it must be at least --memory")
      assert_error("invalid cap_add \"X\"", options.fail, "invalid --cap-add \"X\"")
      assert_error("--not-an-option stays", options.fail, "--not-an-option stays")
    end)
    with_mode("cli", function()
      assert_error("invalid --memory \"x\"", options.fail, "invalid --memory \"x\"")
    end)
  end)
end)

describe("options.check", function()
  local function check(o) return options.check(o, "md.run", 2) end
  it("accepts the fields, nested ones included", function()
    check { image = "busybox", cmd = { "true" }, resources = { memory = "64m", cpus = 1 }, health = { cmd = "true" },
            env = { A = "1" }, rm = true }
  end)
  it("refuses unknown fields, nested ones too, and wrong types", function()
    assert_error('md.run: unknown field "colour"', check, { image = "busybox", colour = "red" })
    assert_error('md.run: unknown field "resources.memroy"', check, { image = "busybox", resources = { memroy = "1g" } })
    assert_error('md.run: field "rm" must be a boolean, got string', check, { image = "busybox", rm = "yes" })
    assert_error('md.run: field "resources" must be a table, got string', check, { image = "busybox", resources = "64m" })
    assert_error('md.run: field "image" is required', check, { cmd = { "true" } })
  end)
end)

describe("options.check_update", function()
  local function check(o) return options.check_update(o, "c:update", 2) end
  it("takes md.run's fields, in the same places", function()
    check { resources = { memory = "128m", cpus = 1 }, restart = "always" }
  end)
  it("refuses the rest", function()
    assert_error('c:update: unknown field "resources.memroy"', check, { resources = { memroy = "1g" } })
    assert_error('c:update: unknown field "memory"', check, { memory = "1g" })
    assert_error('c:update: unknown field "image"', check, { image = "busybox" })
    assert_error('c:update: unknown field "resources.device_read_bps"', check, { resources = { device_read_bps = { "/dev/sda:1mb" } } })
    assert_error('c:update: field "resources.pids_limit" must be a number, got string', check, { resources = { pids_limit = "10" } })
    assert_error('c:update: field "resources" must be a table, got string', check, { resources = "1g" })
  end)
end)
