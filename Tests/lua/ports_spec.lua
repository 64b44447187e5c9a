-- stdlib/mdlua/ports.lua: Docker's -p forms, -P, and the PORTS text.
local ports = require "mdlua.ports"

local function b(proto, ip, host, container) return { proto = proto, host_ip = ip, host_port = host, container_port = container } end

describe("-p parsing", function()
  it("takes HOST:CONTAINER", function()
    assert_same(ports.parse("8080:80"), { b("tcp", "", 8080, 80) })
  end)
  it("takes IP:HOST:CONTAINER and 0.0.0.0 as every address", function()
    assert_same(ports.parse("127.0.0.1:8080:80"), { b("tcp", "127.0.0.1", 8080, 80) })
    assert_same(ports.parse("0.0.0.0:8080:80"), { b("tcp", "", 8080, 80) })
  end)
  it("takes /udp and /tcp", function()
    assert_same(ports.parse("5353:53/udp"), { b("udp", "", 5353, 53) })
    assert_same(ports.parse("80/TCP"), { b("tcp", "", 0, 80) })
  end)
  it("takes a bare container port as a free host port (0), also on one address", function()
    assert_same(ports.parse("80"), { b("tcp", "", 0, 80) })
    assert_same(ports.parse("127.0.0.1::80"), { b("tcp", "127.0.0.1", 0, 80) })
  end)
  it("expands ranges port by port", function()
    assert_same(ports.parse("8000-8002:9000-9002"),
      { b("tcp", "", 8000, 9000), b("tcp", "", 8001, 9001), b("tcp", "", 8002, 9002) })
    assert_same(ports.parse("7000-7001"), { b("tcp", "", 0, 7000), b("tcp", "", 0, 7001) })
  end)
  it("refuses malformed forms, naming the value (the flag from the CLI, the field from Lua)", function()
    local options = require "mdlua.options"
    local saved = options.mode
    options.mode = "cli"
    assert_error('invalid --publish "x:80"', ports.parse, "x:80")
    assert_error('invalid --publish "80/sctp"', ports.parse, "80/sctp")
    assert_error('invalid --publish "1:2:3:4"', ports.parse, "1:2:3:4")
    assert_error('invalid --publish "70000:80"', ports.parse, "70000:80")
    assert_error('invalid --publish "0:80"', ports.parse, "0:80")
    assert_error('invalid --publish "8000-8001:80"', ports.parse, "8000-8001:80")
    assert_error('invalid --publish "300.1.1.1:80:80"', ports.parse, "300.1.1.1:80:80")
    assert_error('invalid --publish "9-8:9-8"', ports.parse, "9-8:9-8")
    options.mode = "lua"
    assert_error('invalid ports "x:80"', ports.parse, "x:80")
    options.mode = saved
  end)
end)

describe("-P", function()
  it("publishes every exposed port not given with -p, sorted by key", function()
    local out = ports.bindings({ "8080:80" }, true, { ["80/tcp"] = {}, ["53/udp"] = {}, ["443/tcp"] = {} })
    assert_same(out, { b("tcp", "", 8080, 80), b("tcp", "", 0, 443), b("udp", "", 0, 53) })
  end)
end)

describe("PORTS text", function()
  it("reads as docker ps shows it", function()
    assert_eq(ports.text { b("tcp", "", 8080, 80), b("udp", "127.0.0.1", 53, 53) },
      "0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp")
  end)
end)
