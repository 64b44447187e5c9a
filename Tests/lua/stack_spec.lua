-- stdlib/mdlua/stack/: a stack's definition checked and normalised, the start order, and
-- the container options made from a service. No containers here (Tests/CLITests/StackTests.swift runs them).
local model = require "mdlua.stack.model"
local order = require "mdlua.stack.order"
local stack = require "mdlua.stack"

local function message(fn, ...)
  local ok, e = pcall(fn, ...)
  assert_true(not ok, "expected an error")
  return type(e) == "table" and e.message or tostring(e)
end

describe("stack model", function()
  it("splits a command string as a shell splits words", function()
    assert_same(model.split_words([[sh -c 'echo "a b"' x\ y ""]]), { "sh", "-c", 'echo "a b"', "x y", "" })
    assert_true(message(model.split_words, "echo 'open"):find("unterminated", 1, true) ~= nil, "an open quote")
  end)

  it("takes Compose's spellings and gives one shape", function()
    local s = model.normalise({ services = {
      web = { image = "busybox", environment = { B = "2", A = 1 }, working_dir = "/srv", command = "httpd -f",
              depends_on = { db = { condition = "service_healthy" }, cache = "started" }, deploy = { replicas = 2 },
              healthcheck = { test = "wget -q localhost", interval = 2, retries = 5 } },
      db = { image = "busybox" }, cache = { image = "busybox" } } }, "/x")
    local web = s.services.web
    assert_same(web.env, { "A=1", "B=2" })
    assert_eq(web.workdir, "/srv")
    assert_same(web.command, { "httpd", "-f" })
    assert_eq(web.replicas, 2)
    assert_same(web.depends_on, { { service = "cache", condition = "started" }, { service = "db", condition = "healthy" } })
    assert_same(web.healthcheck, { test = { "CMD-SHELL", "wget -q localhost" }, interval = "2s", retries = 5 })
    assert_same(web.networks, { { name = "default", aliases = {} } })
    assert_eq(s.services.db.replicas, 1)
  end)

  it("refuses what it does not know, naming it", function()
    assert_same(message(model.normalise, { services = { web = { image = "x", imagee = "y" } } }), 'services.web: unknown key "imagee"')
    assert_same(message(model.normalise, { services = { web = { command = "x" } } }), "services.web: needs an image or a build")
    assert_same(message(model.normalise, { services = { web = { image = "x", depends_on = { "db" } } } }),
              'services.web.depends_on: no service "db"')
    assert_same(message(model.normalise, { services = { web = { image = "x", depends_on = { db = "ready" } }, db = { image = "x" } } }),
              'services.web.depends_on.db: unknown condition "ready" (started, healthy or completed)')
    assert_same(message(model.normalise, { servces = {} }), 'stack: unknown key "servces"')
    assert_same(message(model.normalise, { services = {} }), "stack: no services")
    assert_true(message(model.normalise, { services = { web = { image = "x", container_name = "w" } } }):find("not supported", 1, true) ~= nil,
                "container_name")
    assert_same(message(model.normalise, { services = { web = { image = "x", networks = { "back" } } } }),
              'services.web.networks: no network "back" in the stack\'s networks')
  end)

  it("reads a build as a context or Compose's table, paths from the stack's directory", function()
    local s = model.normalise({ services = {
      a = { build = "./app" },
      b = { build = { context = "ctx", dockerfile = "docker/Dockerfile.b", args = { "X=1", "MDLUA_TEST_UNSET_ARG" }, target = "final" } },
      c = { build = { context = "/abs", args = { Y = 2 } }, image = "mine:1" } } }, "/x")
    assert_same(s.services.a.build, { context = "/x/app", args = {} })
    assert_same(s.services.b.build, { context = "/x/ctx", file = "/x/ctx/docker/Dockerfile.b", args = { X = "1" }, target = "final" })
    assert_same(s.services.c.build, { context = "/abs", args = { Y = "2" } })
    assert_same(message(model.normalise, { services = { a = { build = { context = ".", cache_from = { "x" } } } } }),
                'services.a.build: unknown key "cache_from" (context, dockerfile, args, target)')
    assert_same(message(model.normalise, { services = { a = { build = 3 } } }),
                "services.a.build: expected a context directory or a table")
    assert_same(message(model.normalise, { services = { a = { build = { dockerfile = "" } } } }),
                "services.a.build.dockerfile: expected a string")
  end)

  it("makes project names as Compose does", function()
    assert_eq(model.project_name("My App.v2"), "myappv2")
    assert_eq(model.project_name("-_x"), "x")
  end)
end)

describe("stack order", function()
  local function services(deps)
    local t = {}
    for n, d in pairs(deps) do
      local list = {}
      for _, x in ipairs(d) do list[#list + 1] = { service = x } end
      t[n] = { depends_on = list }
    end
    return t
  end
  it("starts dependencies first, in levels", function()
    local s = services { web = { "db", "cache" }, worker = { "db" }, db = {}, cache = {}, proxy = { "web" } }
    assert_same(order.levels(s), { { "cache", "db" }, { "web", "worker" }, { "proxy" } })
    assert_same(order.levels(s, { web = true }), { { "cache", "db" }, { "web" } })
  end)
  it("names a cycle", function()
    local s = services { a = { "b" }, b = { "c" }, c = { "a" }, d = {} }
    assert_eq(message(order.levels, s), "dependency cycle: a -> b -> c -> a")
  end)
end)

describe("stack container options", function()
  local st = stack.new({ name = "demo", services = {
    web = { image = "busybox", entrypoint = { "/bin/sh", "-c" }, command = { "echo hi" }, ports = { "8080:80" },
            volumes = { "data:/data", "./src:/src:ro", "/abs:/abs" }, labels = { tier = "front" },
            networks = { front = { aliases = { "www" } }, back = {} },
            healthcheck = { test = { "CMD", "wget", "-q", "http://x/a b" } } } },
    networks = { front = {}, back = {} }, volumes = { data = {} } }, { dir = "/proj" })
  it("names containers, networks and volumes after the project", function()
    local o = st:container_options(st.services.web, 2)
    assert_eq(o.name, "demo-web-2")
    assert_eq(o.network, "demo_back")
    assert_same(o.network_alias, { "web" })
    assert_same(o.volumes, { "demo_data:/data", "/proj/src:/src:ro", "/abs:/abs" })
    assert_eq(o.entrypoint, "/bin/sh")
    assert_same(o.cmd, { "-c", "echo hi" })
    assert_eq(o.health.cmd, "wget -q 'http://x/a b'")
    local l = st:labelled_options(st.services.web, 2, "abc", false).label
    assert_same(l, { "com.docker.compose.project=demo", "com.docker.compose.service=web", "com.docker.compose.container-number=2",
                   "com.docker.compose.config-hash=abc", "com.docker.compose.oneoff=False", "tier=front" })
  end)
  it("refuses a volume the stack does not declare", function()
    assert_eq(message(st.volume_spec, st, "logs:/var/log"), 'volume "logs" is not in the stack\'s volumes')
  end)
  it("takes -p over the stack's name", function()
    assert_same(stack.new({ name = "a", services = { x = { image = "busybox" } } }, { name = "B_2" }).name, "b_2")
  end)
end)
