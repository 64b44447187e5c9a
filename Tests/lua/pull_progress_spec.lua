-- stdlib/mdlua/pull_progress.lua: Docker's progress lines drawn from events.
local pull_progress = require "mdlua.pull_progress"

-- A file that keeps what is written, and a clock the test moves.
local function sink()
  local f = { text = "" }
  function f:write(s) self.text = self.text .. s end
  function f:flush() end
  return f
end

describe("pull progress", function()
  it("writes Docker's sizes in decimal units", function()
    assert_eq(pull_progress.size(10), "10B")
    assert_eq(pull_progress.size(512000), "512.0kB")
    assert_eq(pull_progress.size(1234567), "1.2MB")
    assert_eq(pull_progress.size(2500000000), "2.5GB")
  end)
  it("draws a bar 50 wide", function()
    assert_eq(pull_progress.bar(0, 100), "Downloading [" .. (" "):rep(50) .. "] 0B/100B")
    assert_eq(pull_progress.bar(50, 100), "Downloading [" .. ("="):rep(24) .. ">" .. (" "):rep(25) .. "] 50B/100B")
    assert_eq(pull_progress.bar(100, 100), "Downloading [" .. ("="):rep(49) .. ">] 100B/100B")
    assert_eq(pull_progress.bar(1000, 2000, "Pushing"), "Pushing [" .. ("="):rep(24) .. ">" .. (" "):rep(25) .. "] 1.0kB/2.0kB")
  end)
  it("prints a line per state change when plain, no bytes", function()
    local out = sink()
    local draw = pull_progress.new("plain", out)
    draw { status = "1: Pulling from test/bb" }
    draw { id = "abc", status = "Waiting" }
    draw { id = "abc", status = "Downloading", current = 5, total = 10 }
    draw { id = "abc", status = "Downloading", current = 10, total = 10 }
    draw { id = "abc", status = "Pushing", current = 10, total = 10 }
    draw { id = "abc", status = "Pull complete" }
    draw { id = "abc", status = "Pull complete" }
    draw { status = "Digest: sha256:00" }
    assert_eq(out.text, "1: Pulling from test/bb\nabc: Waiting\nabc: Pull complete\nDigest: sha256:00\n")
  end)
  it("rewrites the layers' lines in place on a terminal, bytes at most 20 times a second", function()
    local out, now = sink(), 0
    local draw = pull_progress.new("terminal", out, function() return now end)
    draw { status = "1: Pulling from test/bb" }
    draw { id = "a", status = "Waiting" }
    draw { id = "b", status = "Waiting" }
    out.text = ""
    now = 1
    draw { id = "a", status = "Downloading", current = 1, total = 2 }
    assert_eq(out.text, "\27[2A\r\27[2Ka: " .. pull_progress.bar(1, 2) .. "\n\r\27[2Kb: Waiting\n")
    out.text = ""
    now = 1.01
    draw { id = "b", status = "Downloading", current = 1, total = 4 }
    assert_eq(out.text, "", "too soon after the last drawing")
    now = 1.07
    draw { id = "b", status = "Downloading", current = 2, total = 4 }
    assert_eq(out.text, "\27[2A\r\27[2Ka: " .. pull_progress.bar(1, 2) .. "\n\r\27[2Kb: " .. pull_progress.bar(2, 4) .. "\n")
    out.text = ""
    draw { id = "a", status = "Pull complete" }
    assert_true(out.text:find("a: Pull complete\n", 1, true) ~= nil, "a state is drawn at once")
    out.text = ""
    draw { status = "Digest: sha256:00" }
    draw { id = "c", status = "Pushed" }
    assert_eq(out.text, "Digest: sha256:00\n\r\27[2Kc: Pushed\n", "a line of its own starts the layers' lines anew")
  end)
  it("draws nothing when quiet", function()
    local out = sink()
    pull_progress.new("quiet", out) { status = "x" }
    assert_eq(out.text, "")
  end)
end)
