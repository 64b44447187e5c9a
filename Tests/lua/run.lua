-- The Lua unit tests of the stdlib: runs every *_spec.lua next to this file, under mdlua.
--
--   MDLUA_STDLIB=stdlib .build/debug/mdlua Tests/lua/run.lua [PATTERN...]
--
-- A spec file uses describe(name, fn), it(name, fn) and the assertions below, all globals.
-- PATTERNs (plain substrings) keep only the tests whose full name ("describe it") has one.
-- Prints one line per failure and a summary; exits 1 when a test failed, else 0.
-- See docs/testing.md, "Lua unit tests".

local dir = (arg and arg[0] or "Tests/lua/run.lua"):match("^(.*)/[^/]*$") or "."
local patterns = { table.unpack(arg or {}) }

local passed, failed, failures = 0, 0, {}
local stack = {}

local function full_name(name)
  local parts = {}
  for _, d in ipairs(stack) do parts[#parts + 1] = d end
  parts[#parts + 1] = name
  return table.concat(parts, " ")
end

local function selected(name)
  if #patterns == 0 then return true end
  for _, p in ipairs(patterns) do
    if name:find(p, 1, true) then return true end
  end
  return false
end

function describe(name, fn)
  stack[#stack + 1] = name
  fn()
  stack[#stack] = nil
end

function it(name, fn)
  local full = full_name(name)
  if not selected(full) then return end
  local ok, err = xpcall(fn, function(e)
    if type(e) == "table" and e.message then e = e.message end
    -- The message and the frames in spec files (not the runner's, nor mdlua's).
    local lines = { tostring(e) }
    for line in debug.traceback("", 2):gmatch("[^\n]+") do
      if line:find("_spec%.lua:") then lines[#lines + 1] = "  " .. line:gsub("^%s+", "") end
    end
    return table.concat(lines, "\n")
  end)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    failures[#failures + 1] = { name = full, err = err }
  end
end

-- Assertions ------------------------------------------------------------------------

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function dump(v, depth)
  depth = depth or 0
  if type(v) ~= "table" or depth > 4 then return show(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = "[" .. show(k) .. "]=" .. dump(v[k], depth + 1) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function fail(msg) error(msg, 3) end

function assert_eq(actual, expected, what)
  if actual ~= expected then
    fail(("%sexpected %s, got %s"):format(what and (what .. ": ") or "", show(expected), show(actual)))
  end
end

function assert_same(actual, expected, what)
  if not deep_equal(actual, expected) then
    fail(("%sexpected %s, got %s"):format(what and (what .. ": ") or "", dump(expected), dump(actual)))
  end
end

function assert_true(v, what)
  if not v then fail((what or "assertion") .. " is not true") end
end

-- Calls fn(...) and expects it to raise an error whose message contains `text` (plain).
-- Returns the message.
function assert_error(text, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then fail(("expected an error with %s, got none"):format(show(text))) end
  local msg = type(err) == "table" and err.message or tostring(err)
  if text and not msg:find(text, 1, true) then
    fail(("expected an error with %s, got %s"):format(show(text), show(msg)))
  end
  return msg
end

-- Run -------------------------------------------------------------------------------

local files = {}
for _, name in ipairs(md.sys.listdir(dir)) do
  if name:match("_spec%.lua$") then files[#files + 1] = name end
end
table.sort(files)

local started = os.clock()
for _, name in ipairs(files) do
  local chunk, err = loadfile(dir .. "/" .. name)
  if not chunk then
    failed = failed + 1
    failures[#failures + 1] = { name = name, err = err }
  else
    stack = { (name:gsub("_spec%.lua$", "")) }
    local ok, e = xpcall(chunk, debug.traceback)
    if not ok then
      failed = failed + 1
      failures[#failures + 1] = { name = name .. " (loading)", err = e }
    end
  end
end

for _, f in ipairs(failures) do
  io.stdout:write("FAIL ", f.name, "\n  ", (tostring(f.err):gsub("\n", "\n  ")), "\n")
end
io.stdout:write(("%d passed, %d failed (%d files, %.2f s)\n"):format(passed, failed, #files, os.clock() - started))
os.exit(failed == 0 and 0 or 1)
