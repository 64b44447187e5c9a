local md = require "mdlua"
local errors = require "mdlua.errors"

-- `mdlua port C [PORT[/PROTO]]`: the host addresses a container's ports are published on.
return {
  summary = "List port mappings or a specific mapping for the container",
  usage = "mdlua port CONTAINER [PRIVATE_PORT[/PROTO]]",
  run = function(_, args)
    if not args[1] then errors.fail("port: requires at least 1 argument (CONTAINER [PRIVATE_PORT[/PROTO]])") end
    local c = md.container.get(args[1])
    local want_port, want_proto
    if args[2] then
      want_port, want_proto = args[2]:match("^(%d+)/?(%a*)$")
      if not want_port then errors.fail(("invalid port %q: expected PORT[/PROTO]"):format(args[2])) end
      want_port, want_proto = tonumber(want_port), want_proto ~= "" and want_proto:lower() or "tcp"
    end
    local running = c.status == "running" or c.status == "paused"
    local list = running and require("mdlua.container_network").ports(c) or {}
    table.sort(list, function(a, b)
      if a.container_port ~= b.container_port then return a.container_port < b.container_port end
      return a.proto < b.proto
    end)
    local found = false
    for _, p in ipairs(list) do
      local host = (p.host_ip ~= "" and p.host_ip or "0.0.0.0") .. ":" .. p.host_port
      if want_port then
        if p.container_port == want_port and p.proto == want_proto then print(host); found = true end
      else
        print(("%d/%s -> %s"):format(p.container_port, p.proto, host))
      end
    end
    if want_port and not found then
      errors.fail(("no public port '%d/%s' published for %s"):format(want_port, want_proto, c.name))
    end
    return 0
  end,
}
