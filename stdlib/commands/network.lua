local md = require "mdlua"
local errors = require "mdlua.errors"
local prompt = require "mdlua.prompt"
local format = require "mdlua.format"
local json = require "mdlua.json"

-- `mdlua network ...`: Docker's network commands over md.network (stdlib/mdlua/network.lua).

local function kv_list(list, what)
  local out = {}
  for _, s in ipairs(list or {}) do
    local k, v = s:match("^([^=]+)=?(.*)$")
    if not k then errors.fail(("invalid %s %q: expected KEY=VALUE"):format(what, s)) end
    out[k] = v
  end
  return out
end

local create = {
  summary = "Create a network",
  usage = "mdlua network create [OPTIONS] NETWORK",
  flags = {
    { name = "driver", short = "d", type = "string", default = "bridge", help = "Driver to manage the Network (bridge only)" },
    { name = "subnet", type = "string", help = "Subnet in CIDR format that represents a network segment" },
    { name = "gateway", type = "string", help = "IPv4 Gateway for the master subnet" },
    { name = "ip-range", type = "string", help = "Allocate container ip from a sub-range" },
    { name = "internal", type = "bool", help = "Restrict external access to the network" },
    { name = "label", type = "list", metavar = "K=V", help = "Set metadata on a network" },
    { name = "dns", type = "list", metavar = "IP", help = "DNS servers the network's DNS server forwards to (default: the host's)" },
    { name = "opt", short = "o", type = "list", metavar = "K=V", help = "Set driver specific options (com.docker.network.bridge.name=NAME, com.docker.network.driver.mtu=N or mtu=N)" },
  },
  run = function(o, args)
    if #args ~= 1 then errors.fail("network create: requires exactly 1 argument (NETWORK)") end
    if o.driver ~= "bridge" then errors.fail(("invalid --driver %q: only bridge is supported"):format(o.driver)) end
    local opts = kv_list(o.opt, "--opt")
    if o.dns and #o.dns > 0 then opts.dns_servers = table.concat(o.dns, ",") end
    local n = md.network.create { name = args[1], subnet = o.subnet, gateway = o.gateway, ip_range = o["ip-range"],
                                  internal = o.internal, labels = kv_list(o.label, "--label"), options = opts }
    print(n.id)
    return 0
  end,
}

local ls = {
  summary = "List networks",
  usage = "mdlua network ls [OPTIONS]",
  flags = {
    { name = "quiet", short = "q", type = "bool", help = "Only display network IDs" },
    { name = "no-trunc", type = "bool", help = "Do not truncate the output" },
    { name = "format", type = "string", help = "Format output using a Go template or json" },
    { name = "filter", short = "f", type = "list", help = "Provide filter values (name=, id=, label=)" },
  },
  run = function(o)
    local rows = {}
    md.network.get("bridge")   -- (listed from the start, as Docker's)
    for _, n in ipairs(md.network.list()) do
      local show = true
      for _, f in ipairs(o.filter or {}) do
        local k, v = f:match("^([%w_-]+)=(.*)$")
        if k == "name" then show = show and n.name:find(v, 1, true) ~= nil
        elseif k == "id" then show = show and n.id:sub(1, #v) == v
        elseif k == "label" then
          local lk, lv = v:match("^([^=]+)=?(.*)$")
          show = show and n.labels[lk] ~= nil and (lv == "" or n.labels[lk] == lv)
        elseif k == "driver" then show = show and v == n.driver
        else errors.fail(("invalid filter %q"):format(f)) end
      end
      if show then rows[#rows + 1] = n end
    end
    local trunc = not o["no-trunc"]
    if o.quiet then
      for _, n in ipairs(rows) do print(trunc and n.id:sub(1, 12) or n.id) end
      return 0
    end
    local template = require "mdlua.template"
    local views = {}
    for i, n in ipairs(rows) do
      views[i] = template.struct { ID = trunc and n.id:sub(1, 12) or n.id, Name = n.name, Driver = n.driver, Scope = "local",
                                   IPv6 = "false", Internal = tostring(n.internal), CreatedAt = n.created, Labels = "" }
    end
    format.rows(o.format, views, {
      headers = { ID = "NETWORK ID", Name = "NAME", Driver = "DRIVER", Scope = "SCOPE", IPv6 = "IPV6", Internal = "INTERNAL",
                  CreatedAt = "CREATED AT", Labels = "LABELS" },
      default = function()
        local out = {}
        for _, n in ipairs(rows) do out[#out + 1] = { trunc and n.id:sub(1, 12) or n.id, n.name, n.driver, "local" } end
        format.table({ "NETWORK ID", "NAME", "DRIVER", "SCOPE" }, out)
      end,
    })
    return 0
  end,
}

local inspect = {
  summary = "Display detailed information on one or more networks",
  usage = "mdlua network inspect [OPTIONS] NETWORK [NETWORK...]",
  flags = { { name = "format", short = "f", type = "string", help = "Format output using a Go template" } },
  run = function(o, args)
    if #args == 0 then errors.fail("network inspect: requires at least 1 argument (NETWORK)") end
    local docs = json.array()
    for _, ref in ipairs(args) do docs[#docs + 1] = md.network.get(ref):inspect() end
    if o.format then
      local t = require("mdlua.template").parse((format.prepare(o.format)))
      for _, d in ipairs(docs) do io.write(t:execute(d), "\n") end
    else
      print(json.encode(docs, { indent = "    " }))
    end
    return 0
  end,
}

local rm = {
  summary = "Remove one or more networks",
  usage = "mdlua network rm NETWORK [NETWORK...]",
  flags = { { name = "force", short = "f", type = "bool", help = "Do not error if the network does not exist" } },
  run = function(o, args)
    if #args == 0 then errors.fail("network rm: requires at least 1 argument (NETWORK)") end
    return require("mdlua.commands").each("network rm", args, function(ref)
      local ok, n = pcall(md.network.get, ref)
      if not ok then
        if o.force then return false end
        error(n, 0)
      end
      n:rm()
    end)
  end,
}

local prune = {
  summary = "Remove all unused networks",
  usage = "mdlua network prune [OPTIONS]",
  flags = { { name = "force", short = "f", type = "bool", help = "Do not prompt for confirmation" } },
  run = function(o)
    if not o.force and not prompt.confirm("WARNING! This will remove all custom networks not used by at least one container.\n"
                                          .. "Are you sure you want to continue?") then
      return 0
    end
    local removed = md.network.prune()
    if #removed > 0 then print("Deleted Networks:") end
    for _, name in ipairs(removed) do print(name) end
    return 0
  end,
}

local connect = {
  summary = "Connect a container to a network",
  usage = "mdlua network connect [OPTIONS] NETWORK CONTAINER",
  flags = {
    { name = "alias", type = "list", help = "Add network-scoped alias for the container" },
    { name = "ip", type = "string", help = "IPv4 address (e.g., 10.222.0.9)" },
  },
  run = function(o, args)
    if #args ~= 2 then errors.fail("network connect: requires exactly 2 arguments (NETWORK CONTAINER)") end
    md.network.get(args[1]):connect(args[2], { aliases = o.alias, ip = o.ip })
    return 0
  end,
}

local disconnect = {
  summary = "Disconnect a container from a network",
  usage = "mdlua network disconnect [OPTIONS] NETWORK CONTAINER",
  flags = { { name = "force", short = "f", type = "bool", help = "Force the container to disconnect from a network" } },
  run = function(_, args)
    if #args ~= 2 then errors.fail("network disconnect: requires exactly 2 arguments (NETWORK CONTAINER)") end
    md.network.get(args[1]):disconnect(args[2])
    return 0
  end,
}

return {
  summary = "Manage networks",
  usage = "mdlua network COMMAND",
  subcommands = { create = create, ls = ls, list = ls, inspect = inspect, rm = rm, remove = rm, prune = prune,
                  connect = connect, disconnect = disconnect },
  run = function() return 0 end,
}
