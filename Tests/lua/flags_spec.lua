-- stdlib/mdlua/flags.lua: Docker's flag forms.
local flags = require "mdlua.flags"

local spec = {
  { name = "interactive", short = "i", type = "bool" },
  { name = "tty", short = "t", type = "bool" },
  { name = "detach", short = "d", type = "bool" },
  { name = "rm", type = "bool" },
  { name = "name", type = "string" },
  { name = "env", short = "e", type = "list" },
  { name = "cpus", type = "number" },
  { name = "time", short = "T", type = "int", default = 10 },
}

local function parse(argv, opts) return flags.parse(spec, argv, opts) end

describe("flags.parse", function()
  it("combines short bools: -it", function()
    local o, args = parse { "-it", "busybox" }
    assert_eq(o.interactive, true); assert_eq(o.tty, true); assert_eq(o.detach, false)
    assert_same(args, { "busybox" })
  end)

  it("takes a short value joined, with =, or separate: -eA=1 -e=B=2 -e C=3", function()
    local o = parse { "-eA=1", "-e=B=2", "-e", "C=3" }
    assert_same(o.env, { "A=1", "B=2", "C=3" })
  end)

  it("takes a short value after bools in one word: -ite A=1", function()
    local o = parse { "-ite", "A=1" }
    assert_true(o.interactive and o.tty); assert_same(o.env, { "A=1" })
  end)

  it("takes --name=x and --name x, the last one winning", function()
    assert_eq(parse({ "--name=x" }).name, "x")
    assert_eq(parse({ "--name", "y" }).name, "y")
    assert_eq(parse({ "--name=x", "--name", "z" }).name, "z")
    assert_eq(parse({ "--name=" }).name, "")
  end)

  it("reads --rm=false, --rm=true, --rm", function()
    assert_eq(parse({ "--rm=false" }).rm, false)
    assert_eq(parse({ "--rm=true" }).rm, true)
    assert_eq(parse({ "--rm" }).rm, true)
    assert_eq(parse({}).rm, false)
    assert_error('invalid argument "maybe" for "--rm" flag', parse, { "--rm=maybe" })
  end)

  it("stops at --", function()
    local o, args = parse { "-d", "--", "-it", "--name=x" }
    assert_eq(o.detach, true); assert_eq(o.interactive, false); assert_eq(o.name, nil)
    assert_same(args, { "-it", "--name=x" })
  end)

  it("stops at the first positional argument with interspersed = false", function()
    local o, args = parse({ "-d", "busybox", "sh", "-c", "ls -l" }, { interspersed = false })
    assert_eq(o.detach, true)
    assert_same(args, { "busybox", "sh", "-c", "ls -l" })
    local _, mixed = parse { "busybox", "-d" }
    assert_same(mixed, { "busybox" })
  end)

  it("converts ints and numbers, keeping defaults", function()
    assert_eq(parse({}).time, 10)
    assert_eq(math.type(parse({ "-T", "3" }).time), "integer")
    assert_eq(parse({ "--cpus", "0.5" }).cpus, 0.5)
    assert_error("expected an integer", parse, { "-T", "1.5" })
    assert_error("expected a number", parse, { "--cpus=lots" })
  end)

  it("names unknown flags and missing values", function()
    assert_error("unknown flag: --nope", parse, { "--nope" })
    assert_error("unknown shorthand flag: 'z' in -iz", parse, { "-iz" })
    assert_error("flag needs an argument: --name", parse, { "--name" })
  end)

  it("prints a usage table", function()
    local u = flags.usage { { name = "all", short = "a", type = "bool", help = "Show all" },
                            { name = "format", type = "string", metavar = "TEMPLATE", help = "Format" } }
    assert_eq(u, "  -a, --all               Show all\n      --format TEMPLATE   Format")
  end)
end)
