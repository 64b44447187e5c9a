-- `mdlua kube`: a stack as Kubernetes manifests (stdlib/mdlua/stack/kube.lua), on stdout or
-- one file per object in a directory (-o).
local md = require "mdlua"
local errors = require "mdlua.errors"
local cli = require "mdlua.stack.cli"

return {
  summary = "Write a stack as Kubernetes manifests (kubectl apply -f)",
  usage = "mdlua kube [OPTIONS] [STACK_FILE]",
  flags = {
    cli.shared_flags.file, cli.shared_flags["project-name"],
    { name = "output", short = "o", type = "string", metavar = "DIR", help = "Write one file per object into DIR" },
  },
  run = function(o, args)
    local stack, rest = cli.load(o, args)
    if #rest > 0 then errors.fail("kube: takes at most one argument (STACK_FILE)") end
    local kube = require "mdlua.stack.kube"
    local function warn(line) io.stderr:write("mdlua: warning: ", line, "\n") end
    if not o.output then
      io.write(kube.yaml(stack, warn))
      return 0
    end
    local yaml = require "mdlua.yaml"
    md.fs.mkdir(o.output)
    for _, m in ipairs(kube.manifests(stack, warn)) do
      local path = ("%s/%s-%s.yaml"):format(o.output, m.kind:lower(), m.metadata.name)
      md.fs.write(path, yaml.encode(m, { "apiVersion", "kind", "metadata", "name", "spec" }))
      print(path)
    end
    return 0
  end,
}
