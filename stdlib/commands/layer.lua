local md = require "mdlua"
local errors = require "mdlua.errors"
local json = require "mdlua.json"
local format = require "mdlua.format"

return {
  summary = "Manage layers",
  usage = "mdlua layer COMMAND",
  subcommands = {
    create = {
      summary = "Archive a directory into a layer",
      usage = "mdlua layer create DIR [COMMENT]",
      run = function(_, args)
        if #args < 1 or #args > 2 then errors.fail("layer create: requires DIR and an optional COMMENT") end
        print(md.layer.create(args[1], args[2]).id)
        return 0
      end,
    },
    ls = {
      summary = "List layers",
      usage = "mdlua layer ls [OPTIONS]",
      aliases = { "list" },
      flags = {
        { name = "quiet", short = "q", type = "bool", help = "Only show layer IDs" },
        { name = "no-trunc", type = "bool", help = "Don't truncate output" },
      },
      run = function(o)
        local users = {}
        for _, img in ipairs(md.image.list()) do
          for _, l in ipairs(img.layers) do users[l] = (users[l] or 0) + 1 end
        end
        local rows = {}
        for _, l in ipairs(md.layer.list()) do
          local id = o["no-trunc"] and l.id or l.id:sub(8, 19)
          if o.quiet then print(id) else
            rows[#rows + 1] = { id, format.ago(l.created), format.size(l.size), tostring(users[l.id] or 0), l.comment }
          end
        end
        if not o.quiet then format.table({ "LAYER ID", "CREATED", "SIZE", "IMAGES", "COMMENT" }, rows) end
        return 0
      end,
    },
    inspect = {
      summary = "Display detailed information on layers",
      usage = "mdlua layer inspect LAYER [LAYER...]",
      run = function(_, args)
        if #args == 0 then errors.fail("layer inspect: requires at least 1 argument") end
        local docs = json.array()
        for _, id in ipairs(args) do
          local l = md.layer.get(id)
          docs[#docs + 1] = { Id = l.id, Blob = l.blob, MediaType = l.media_type, BlobSize = l.blob_size,
                              TarSize = l.tar_size, Size = l.size, Created = l.created, Comment = l.comment,
                              Path = md.layer.path(l.id) }
        end
        print(json.encode(docs, { indent = "    " }))
        return 0
      end,
    },
    rm = {
      summary = "Remove layers no image uses",
      usage = "mdlua layer rm LAYER [LAYER...]",
      run = function(_, args)
        if #args == 0 then errors.fail("layer rm: requires at least 1 argument") end
        for _, id in ipairs(args) do print(md.layer.rm(id).id) end
        return 0
      end,
    },
  },
  run = function() return 0 end,
}
