-- stdlib/mdlua/format.lua: sizes, times, columns and --format output.
local format = require "mdlua.format"
local template = require "mdlua.template"

-- A file-like object collecting what is written.
local function sink()
  local s = { parts = {} }
  function s:write(...) for _, p in ipairs { ... } do self.parts[#self.parts + 1] = p end return self end
  function s:text() return table.concat(self.parts) end
  return s
end

describe("format.size", function()
  it("uses Docker's SI units", function()
    assert_eq(format.size(0), "0B")
    assert_eq(format.size(999), "999B")
    assert_eq(format.size(1000), "1kB")
    assert_eq(format.size(4260000), "4.26MB")
    assert_eq(format.size(1234567890), "1.23GB")
  end)

  it("writes a given number of decimals (a pull's progress)", function()
    assert_eq(format.size(10, 1), "10B")
    assert_eq(format.size(512000, 1), "512.0kB")
    assert_eq(format.size(4260000, 1), "4.3MB")
    assert_eq(format.size(4260000, 2), "4.26MB")
  end)
end)

describe("md.sys.parse_size (the engine's one size parser)", function()
  it("reads Docker's units, powers of 1024, any case, b or ib after the unit", function()
    local cases = { ["4096"] = 4096, ["100b"] = 100, ["512k"] = 512 * 1024, ["512KB"] = 512 * 1024, ["64KiB"] = 64 * 1024,
                    ["1.5g"] = 1610612736, ["10 GB"] = 10 * 2 ^ 30, ["2t"] = 2 * 2 ^ 40, ["1p"] = 2 ^ 50, ["0"] = 0 }
    for text, bytes in pairs(cases) do assert_eq(md.sys.parse_size(text), math.tointeger(bytes), text) end
  end)

  it("counts a bare number in the unit asked for, never one with b", function()
    assert_eq(md.sys.parse_size("64", 1024 * 1024), 64 * 1024 * 1024)
    assert_eq(md.sys.parse_size("64b", 1024 * 1024), 64)
    assert_eq(md.sys.parse_size("64k", 1024 * 1024), 64 * 1024)
  end)

  it("gives mdlua kube its quantities, in the largest binary unit that holds them whole", function()
    local kube = require "mdlua.stack.kube"
    assert_same({ kube.quantity("64m"), kube.quantity("1.5g"), kube.quantity("1024m"), kube.quantity("100"), kube.quantity("3KB") },
                { "64Mi", "1536Mi", "1Gi", "100", "3Ki" })
    assert_error('invalid size "lots": expected a size like 100m or 1g', kube.quantity, "lots")
  end)

  it("says why it refuses one", function()
    for _, text in ipairs { "", "lots", "1x", "-1", "1.", ".5m", "1ib", "1 2m", "m" } do
      local n, why = md.sys.parse_size(text)
      assert_eq(n, nil, text)
      assert_eq(why, "expected a size like 100m or 1g", text)
    end
    assert_same({ md.sys.parse_size("99999999999999t") }, { nil, "too large" })
    assert_same({ md.sys.parse_size("9223372036854775808") }, { nil, "too large" })
  end)
end)

describe("format.duration", function()
  it("says it as Docker does", function()
    assert_eq(format.duration(0), "Less than a second")
    assert_eq(format.duration(1), "1 second")
    assert_eq(format.duration(59), "59 seconds")
    assert_eq(format.duration(60), "About a minute")
    assert_eq(format.duration(3600), "About an hour")
    assert_eq(format.duration(3 * 86400), "3 days")
    assert_eq(format.duration(3 * 365 * 86400), "3 years")
  end)
end)

describe("format.parse_time", function()
  it("reads RFC 3339 with fractions and offsets", function()
    assert_eq(format.parse_time("1970-01-01T00:00:00Z"), 0)
    assert_eq(format.parse_time("2026-11-29T03:52:07.12Z"), 1795924327)
    assert_eq(format.parse_time("1970-01-01T01:00:00+01:00"), 0)
    assert_eq(format.parse_time("yesterday"), nil)
  end)
end)

describe("format.table", function()
  it("pads columns with three spaces, the last one not", function()
    local out = sink()
    format.table({ "A", "LONGER" }, { { "xxxx", "y" } }, out)
    assert_eq(out:text(), "A      LONGER\nxxxx   y\n")
  end)
end)

describe("format.prepare", function()
  it("takes the table prefix off and makes \\t and \\n tabs and newlines", function()
    local src, tbl = format.prepare("table {{.A}}\\t{{.B}}\\n")
    assert_eq(src, "{{.A}}\t{{.B}}\n"); assert_eq(tbl, true)
    src, tbl = format.prepare("  {{.A}} ")
    assert_eq(src, "{{.A}}"); assert_eq(tbl, false)
  end)
end)

describe("format.tabwrite", function()
  it("aligns tab-ended cells with a minimum width of 10 and padding 3", function()
    assert_eq(format.tabwrite("NAMES\tSTATUS\nc1\tUp 2 seconds\n"), "NAMES     STATUS\nc1        Up 2 seconds\n")
    assert_eq(format.tabwrite("a-very-long-name\tx\nb\ty\n"), "a-very-long-name   x\nb                  y\n")
  end)
  it("leaves lines without tabs alone", function()
    assert_eq(format.tabwrite("plain\n"), "plain\n")
  end)
end)

describe("format.rows", function()
  local rows = { template.struct { Names = "web", Status = "Up 2 seconds" }, template.struct { Names = "db", Status = "Exited (0)" } }
  local headers = { Names = "NAMES", Status = "STATUS" }

  it("runs the template once per row", function()
    local out = sink()
    format.rows("{{.Names}}: {{.Status}}", rows, { out = out })
    assert_eq(out:text(), "web: Up 2 seconds\ndb: Exited (0)\n")
  end)

  it("prints a table with Docker's headers", function()
    local out = sink()
    format.rows("table {{.Names}}\\t{{.Status}}", rows, { out = out, headers = headers })
    assert_eq(out:text(), "NAMES     STATUS\nweb       Up 2 seconds\ndb        Exited (0)\n")
  end)

  it("prints the header of an empty table", function()
    local out = sink()
    format.rows("table {{.Names}}", {}, { out = out, headers = headers })
    assert_eq(out:text(), "NAMES\n")
  end)

  it("keeps header functions as Docker does: {{upper .Names}} heads NAMES", function()
    local out = sink()
    format.rows("table {{lower .Names}}\\t{{truncate .Status 4}}", rows, { out = out, headers = headers })
    assert_eq(out:text(), "NAMES     STATUS\nweb       Up 2\ndb        Exit\n")
  end)

  it("prints one JSON object a line for json", function()
    local out = sink()
    format.rows("json", rows, { out = out })
    assert_eq(out:text(), '{"Names":"web","Status":"Up 2 seconds"}\n{"Names":"db","Status":"Exited (0)"}\n')
  end)

  it("calls the default for no format and for table alone", function()
    local called = 0
    format.rows(nil, rows, { default = function() called = called + 1 end })
    format.rows("table", rows, { default = function() called = called + 1 end })
    assert_eq(called, 2)
  end)

  it("prints nothing when a row fails, and names the field", function()
    local out = sink()
    assert_error([[template: :1:12: executing "" at <.Nope>: can't evaluate field Nope]], format.rows,
      "{{.Names}}{{.Nope}}", rows, { out = out })
    assert_eq(out:text(), "")
  end)

  it("fails on a bad template before printing", function()
    assert_error("template: :1:0: unclosed action", format.rows, "{{.Names", rows, { out = sink() })
    assert_error("template: :1:0: unclosed action", format.check, "{{.Names")
    format.check("{{.Names}}"); format.check(nil); format.check("json")
  end)
end)

describe("format.template", function()
  it("renders one value", function()
    assert_eq(format.template("{{.A}}\\t{{.B}}", { A = 1, B = "x" }), "1\tx")
    assert_eq(format.template("json", { A = 1 }), '{"A":1}')
  end)
end)
