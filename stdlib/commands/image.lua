local md = require "mdlua"
local errors = require "mdlua.errors"
local prompt = require "mdlua.prompt"
local format = require "mdlua.format"

local inspect = {
  summary = "Display detailed information on one or more images",
  usage = "mdlua image inspect [OPTIONS] IMAGE [IMAGE...]",
  flags = {
    { name = "format", short = "f", type = "string", metavar = "TEMPLATE", help = "Format output with a Go template, or 'json'" },
  },
  run = function(o, args)
    o.type = "image"
    return require("commands.inspect").run(o, args)
  end,
}

local prune = {
  summary = "Remove unused images",
  usage = "mdlua image prune [OPTIONS]",
  flags = {
    { name = "all", short = "a", type = "bool", help = "Remove all images without a container, not just untagged ones" },
    { name = "force", short = "f", type = "bool", help = "Do not prompt for confirmation" },
  },
  run = function(o)
    local warning = o.all and "WARNING! This will remove all images without at least one container associated to them."
      or "WARNING! This will remove all dangling images."
    if not o.force and not prompt.confirm(warning .. "\nAre you sure you want to continue?") then return 0 end
    local removed = md.image.prune { all = o.all }
    if #removed > 0 then print("Deleted Images:") end
    local total = 0
    for _, img in ipairs(removed) do
      print("deleted: " .. img.id)
      total = total + img.size
    end
    print("Total reclaimed space: " .. format.size(total))
    return 0
  end,
}

local assemble = {
  summary = "Make an image from layers (bottom first)",
  usage = "mdlua image assemble [OPTIONS] NAME LAYER [LAYER...]",
  flags = {
    { name = "change", short = "c", type = "list", metavar = "INSTRUCTION", help = "Apply a Dockerfile instruction (CMD, ENV, ...)" },
  },
  run = function(o, args)
    if #args < 2 then errors.fail("image assemble: requires a NAME and at least 1 LAYER") end
    local img = md.image.assemble(args[1], { table.unpack(args, 2) }, { changes = o.change })
    print(img.id)
    return 0
  end,
}

local bootstrap = {
  summary = "Make a base image from the host: busybox (busybox-static) or debian (debootstrap)",
  usage = "mdlua image bootstrap busybox|debian [NAME]",
  flags = {
    { name = "suite", type = "string", default = "bookworm", help = "Debian suite (debian only)" },
    { name = "mirror", type = "string", default = "http://deb.debian.org/debian", help = "Debian mirror (debian only)" },
    { name = "include", type = "string", metavar = "PKG,...", help = "More Debian packages in the image (debian only): gcc,libc6-dev" },
  },
  run = function(o, args)
    local kind = args[1]
    if kind ~= "busybox" and kind ~= "debian" then
      errors.fail(("image bootstrap: expected busybox or debian, got %s"):format(kind and ("%q"):format(kind) or "nothing"))
    end
    local img = require("mdlua.bootstrap")[kind](args[2], o)
    local repo, tag = md.image.familiar(img.names[1])
    print(("%s:%s %s"):format(repo, tag, img.id))
    return 0
  end,
}

return {
  summary = "Manage images",
  usage = "mdlua image COMMAND",
  subcommands = {
    ls = "images", list = "images", rm = "rmi", tag = "tag", history = "history", load = "load",
    save = "save", import = "import", inspect = inspect, prune = prune, assemble = assemble,
    bootstrap = bootstrap,
  },
  run = function() return 0 end,
}
