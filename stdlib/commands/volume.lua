local md = require "mdlua"
local errors = require "mdlua.errors"
local prompt = require "mdlua.prompt"
local json = require "mdlua.json"
local format = require "mdlua.format"
local template = require "mdlua.template"

-- --filter dangling=true|false, label=KEY[=VALUE], name=TEXT (Docker's volume filters).
local function filters(list, cmd)
  local fs = {}
  for _, f in ipairs(list or {}) do
    local k, v = f:match("^([%w-]+)=(.*)$")
    if k == "dangling" and (v == "true" or v == "false" or v == "1" or v == "0") then
      fs[#fs + 1] = function(vol) return (#vol:users() == 0) == (v == "true" or v == "1") end
    elseif k == "label" and v ~= "" then
      local lk, lv = v:match("^([^=]+)=(.*)$")
      fs[#fs + 1] = function(vol)
        if lk then return vol.labels[lk] == lv end
        return vol.labels[v] ~= nil
      end
    elseif k == "name" and v ~= "" then
      fs[#fs + 1] = function(vol) return vol.name:find(v, 1, true) ~= nil end
    else
      errors.fail(("%s: invalid --filter %q: expected dangling=true|false, label=KEY[=VALUE] or name=TEXT"):format(cmd, f))
    end
  end
  return function(vol)
    for _, f in ipairs(fs) do if not f(vol) then return false end end
    return true
  end
end

local function plain(v)
  if v == template.nil_list or v == template.nil_map then return json.null end
  return v
end

return {
  summary = "Manage volumes",
  usage = "mdlua volume COMMAND",
  subcommands = {
    create = {
      summary = "Create a volume",
      usage = "mdlua volume create [OPTIONS] [VOLUME]",
      flags = {
        { name = "label", short = "l", type = "list", metavar = "K=V", help = "Set metadata for a volume" },
        { name = "opt", short = "o", type = "list", metavar = "K=V",
          help = "Driver options: type=tmpfs|ext4|none, device=, o=, size= (a limit)" },
        { name = "driver", short = "d", type = "string", default = "local", help = "Volume driver name (only local)" },
        { name = "name", type = "string", help = "Volume name" },
      },
      run = function(o, args)
        if #args > 1 then errors.fail("volume create: at most 1 argument (VOLUME)") end
        if o.name and args[1] and o.name ~= args[1] then
          errors.fail(("volume create: conflicting names %q and %q"):format(o.name, args[1]))
        end
        if o.driver ~= "local" then errors.fail(("volume create: unknown driver %q: only local"):format(o.driver)) end
        local v = md.volume.create { name = args[1] or o.name, labels = o.label, options = o.opt }
        print(v.name)
        return 0
      end,
    },
    ls = {
      summary = "List volumes",
      usage = "mdlua volume ls [OPTIONS]",
      aliases = { "list" },
      flags = {
        { name = "quiet", short = "q", type = "bool", help = "Only display volume names" },
        { name = "filter", short = "f", type = "list", metavar = "FILTER", help = "dangling=true|false, label=K[=V], name=TEXT" },
        { name = "format", type = "string", metavar = "TEMPLATE", help = "Format output with a Go template" },
      },
      run = function(o)
        local keep = filters(o.filter, "volume ls")
        local rows = {}
        for _, v in ipairs(md.volume.list()) do
          if keep(v) then
            if o.quiet then print(v.name)
            else rows[#rows + 1] = { Driver = v.driver, Name = v.name, Mountpoint = v.mountpoint, Scope = "local",
                                     Labels = v.labels } end
          end
        end
        if o.quiet then return 0 end
        if o.format then
          local t = template.parse((format.prepare(o.format)))
          for _, r in ipairs(rows) do
            local labels = {}
            for k, val in pairs(r.Labels) do labels[#labels + 1] = k .. "=" .. val end
            table.sort(labels)
            r.Labels = table.concat(labels, ",")
            io.write(t:execute(r), "\n")
          end
          return 0
        end
        local out = {}
        for i, r in ipairs(rows) do out[i] = { r.Driver, r.Name } end
        format.table({ "DRIVER", "VOLUME NAME" }, out)
        return 0
      end,
    },
    inspect = {
      summary = "Display detailed information on volumes",
      usage = "mdlua volume inspect [OPTIONS] VOLUME [VOLUME...]",
      flags = {
        { name = "format", short = "f", type = "string", metavar = "TEMPLATE", help = "Format output with a Go template" },
      },
      run = function(o, args)
        if #args == 0 then errors.fail("volume inspect: requires at least 1 argument") end
        local docs = json.array()
        for _, name in ipairs(args) do docs[#docs + 1] = md.volume.get(name):inspect() end
        if o.format and o.format ~= "json" then
          local t = template.parse((format.prepare(o.format)))
          for _, d in ipairs(docs) do io.write(t:execute(d), "\n") end
        else
          for _, d in ipairs(docs) do d.Labels, d.Options = plain(d.Labels), plain(d.Options) end
          print(json.encode(docs, { indent = "    " }))
        end
        return 0
      end,
    },
    rm = {
      summary = "Remove one or more volumes",
      usage = "mdlua volume rm [OPTIONS] VOLUME [VOLUME...]",
      aliases = { "remove" },
      flags = {
        { name = "force", short = "f", type = "bool", help = "Do not report a volume that does not exist" },
      },
      run = function(o, args)
        return require("mdlua.commands").each("volume rm", args, function(name)
          local ok, err = pcall(md.volume.rm, name)
          if ok then return end
          if o.force and errors.is(err) and err.code == "not_found" then return false end
          error(err, 0)
        end)
      end,
    },
    prune = {
      summary = "Remove unused volumes",
      usage = "mdlua volume prune [OPTIONS]",
      flags = {
        { name = "all", short = "a", type = "bool", help = "Remove all unused volumes, not just anonymous ones" },
        { name = "filter", type = "list", metavar = "FILTER", help = "label=K[=V]" },
        { name = "force", short = "f", type = "bool", help = "Do not prompt for confirmation" },
      },
      run = function(o)
        local filter = filters(o.filter, "volume prune")
        local warning = o.all and "WARNING! This will remove all local volumes not used by at least one container."
          or "WARNING! This will remove anonymous local volumes not used by at least one container."
        if not o.force and not prompt.confirm(warning .. "\nAre you sure you want to continue?") then return 0 end
        local removed, freed = md.volume.prune { all = o.all, filter = filter }
        if #removed > 0 then
          print("Deleted Volumes:")
          for _, n in ipairs(removed) do print(n) end
          print()
        end
        print("Total reclaimed space: " .. format.size(freed))
        return 0
      end,
    },
  },
  run = function() return 0 end,
}
