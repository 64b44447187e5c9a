-- stdlib/mdlua/build/: the Dockerfile parser and frontend, paths and globs, cache keys.
local dockerfile = require "mdlua.build.dockerfile"
local paths = require "mdlua.build.paths"
local cache = require "mdlua.build.cache"
local steps = require "mdlua.build.steps"
local context = require "mdlua.build.context"
local build = require "mdlua.build"

local function cmds(list)
  local out = {}
  for _, i in ipairs(list) do out[#out + 1] = i.cmd .. "@" .. i.line .. ":" .. i.args end
  return out
end

describe("dockerfile.parse", function()
  it("joins continuation lines, drops comments inside them, keeps the first line's number", function()
    local t = dockerfile.parse("FROM busybox\n# comment\nRUN a \\\n  # inner comment\n\n  && b\nCMD x\n")
    assert_same(cmds(t), { "FROM@1:busybox", "RUN@3:a   && b", "CMD@7:x" })
  end)

  it("reads the escape directive: a backtick continues lines, a backslash is plain", function()
    local t = dockerfile.parse("# escape=`\nFROM busybox\nRUN dir c:\\ `\n  x\n")
    assert_same(cmds(t), { "FROM@2:busybox", "RUN@3:dir c:\\   x" })
  end)

  it("ignores the syntax directive and takes instruction names in any case", function()
    local t = dockerfile.parse("# syntax=docker/dockerfile:1\nfrom busybox\nrun true\n")
    assert_same(cmds(t), { "FROM@2:busybox", "RUN@3:true" })
  end)

  it("takes --flags before the arguments", function()
    local t = dockerfile.parse("FROM a\nCOPY --from=b --chown=1:2 --chmod=644 x y\n")
    assert_eq(t[2].flags.from, "b"); assert_eq(t[2].flags.chown, "1:2"); assert_eq(t[2].flags.chmod, "644")
    assert_eq(t[2].args, "x y")
  end)

  it("reads heredocs: their lines up to the end word, <<- strips tabs, the next instruction after", function()
    local t = dockerfile.parse("FROM a\nRUN <<EOF\necho one\n  two\nEOF\nRUN cat <<-'X' > /f\n\tx $A\n\tX\nCMD y\n")
    assert_same(cmds(t), { "FROM@1:a", "RUN@2:<<EOF", "RUN@6:cat <<-'X' > /f", "CMD@9:y" })
    assert_same(t[2].heredocs, { { name = "EOF", data = "echo one\n  two\n", quoted = false, strip = false } })
    assert_same(t[3].heredocs, { { name = "X", data = "x $A\n", quoted = true, strip = true } })
  end)

  it("keeps every value of a repeated flag", function()
    local t = dockerfile.parse("FROM a\nRUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/b true\n")
    assert_same(t[2].all_flags.mount, { "type=cache,target=/a", "type=tmpfs,target=/b" })
    assert_eq(t[2].args, "true")
  end)

  it("reads a COPY's heredocs in order, named by their end words (a file's name: dots allowed)", function()
    local t = dockerfile.parse("FROM a\nCOPY <<a.txt <<-\"B\" /d/\none $X\na.txt\n\t\ttwo\n\tB\nADD <<EOF /f\nthree\nEOF\n")
    assert_same(cmds(t), { "FROM@1:a", "COPY@2:<<a.txt <<-\"B\" /d/", "ADD@7:<<EOF /f" })
    assert_same(t[2].heredocs, { { name = "a.txt", data = "one $X\n", quoted = false, strip = false },
                                 { name = "B", data = "two\n", quoted = true, strip = true } })
    assert_same(t[3].heredocs, { { name = "EOF", data = "three\n", quoted = false, strip = false } })
  end)

  it("refuses an unended heredoc and a line over 1 MiB, with the line number", function()
    assert_error("Dockerfile:2: heredoc EOF: no line \"EOF\" ends it", dockerfile.parse, "FROM a\nRUN <<EOF\nx\n")
    assert_error("Dockerfile:2: heredoc EOF: no line \"EOF\" ends it", dockerfile.parse, "FROM a\nCOPY <<EOF /x\nx\n")
    assert_error("Dockerfile:2: line longer than 1 MiB", dockerfile.parse, "FROM a\nRUN " .. ("x"):rep(1048577) .. "\n")
    assert_error("Dockerfile:4: line longer than 1 MiB", dockerfile.parse, "FROM a\nRUN <<EOF\nx\n" .. ("x"):rep(1048577) .. "\nEOF\n")
  end)
end)

describe("dockerfile helpers", function()
  it("expands $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt} and an escaped \\$", function()
    local v = { A = "1", E = "" }
    assert_eq(dockerfile.expand("$A-${A}-${B:-d}-${A:+x}-${E:-e}-\\$A", v), "1-1-d-x-e-$A")
  end)

  it("expands a heredoc's content as BuildKit: quotes kept, the escape character before any character gives it", function()
    local v = { name = "world" }
    assert_eq(dockerfile.expand("Hello '${name}' \"$name\"!\n", v, "\\", true), "Hello 'world' \"world\"!\n")
    assert_eq(dockerfile.expand("\\\n", v, "\\", true), "\n")
    assert_eq(dockerfile.expand("\\\\\n", v, "\\", true), "\\\n")
    assert_eq(dockerfile.expand("\\$name `$name\n", v, "`", true), "\\world $name\n")
  end)

  it("splits quoted words", function()
    assert_same(dockerfile.words([[A="two words" B='x y' C=z\ w]]), { "A=two words", "B=x y", "C=z w" })
  end)

  it("reads ENV's KEY=VALUE and legacy KEY VALUE forms", function()
    local ins = { cmd = "ENV", args = 'A=1 B="x $A"', line = 1, escape = "\\" }
    assert_same(dockerfile.key_values(ins, { A = "1" }), { { "A", "1" }, { "B", "x 1" } })
    ins.args = "NAME some value"
    assert_same(dockerfile.key_values(ins, {}), { { "NAME", "some value" } })
  end)

  it("tells the exec form from the shell form", function()
    assert_same(dockerfile.json_array('["sh", "-c", "x"]'), { "sh", "-c", "x" })
    assert_eq(dockerfile.json_array("[not json"), nil)
    assert_eq(dockerfile.json_array("echo [x]"), nil)
  end)
end)

describe("dockerfile.stages", function()
  local function stages(text, o)
    o = o or {}
    o.build = build
    o.context = o.context or setmetatable({ dir = "/nonexistent", rules = {} }, context.Context)
    return dockerfile.stages(dockerfile.parse(text), o)
  end

  it("makes one step per instruction, each with its Dockerfile line", function()
    local s = stages("FROM busybox\nENV A=1\nWORKDIR /w\nRUN echo $A\nCMD [\"sh\"]\n")
    assert_eq(s.base, "busybox")
    assert_eq(#s.steps, 4)
    assert_same({ s.steps[1].kind, s.steps[2].kind, s.steps[3].kind, s.steps[4].kind }, { "env", "workdir", "run", "cmd" })
    assert_eq(s.steps[3].shell, "echo $A")
    assert_eq(s.steps[3].where, "Dockerfile:4")
    assert_same(s.steps[4].value.exec, { "sh" })
  end)

  it("substitutes ARG before FROM, and build args over defaults", function()
    local s = stages("ARG BASE=busybox\nARG TAG\nFROM ${BASE}:${TAG:-1}\n", { build_args = { TAG = "2" } })
    assert_eq(s.base, "busybox:2")
  end)

  it("keeps stages by name and copies from one; --target picks a stage", function()
    local text = "FROM busybox AS one\nRUN true\nFROM busybox\nCOPY --from=one /a /b\nCOPY --from=0 /c /d\n"
    local s = stages(text)
    assert_eq(s.steps[1].from.name, "one")
    assert_eq(s.steps[2].from, s.steps[1].from)
    assert_eq(stages(text, { target = "one" }).name, "one")
    assert_error('no stage named "two"', stages, text, { target = "two" })
  end)

  it("turns RUN --mount into the step's mounts, a heredoc into its command, ADD into an extracting copy", function()
    local s = stages("FROM busybox AS one\nFROM busybox\n"
      .. "RUN --mount=type=cache,target=/c,id=x,uid=1 --mount=type=secret,id=tok,required=true "
      .. "--mount=type=bind,from=one,source=/a,target=/b --mount=type=tmpfs,target=/t,size=1m true\n"
      .. "RUN <<EOF\necho hi\nEOF\nRUN <<EOF\n#!/bin/sh\necho hi\nEOF\nADD x.tgz /x/\nONBUILD RUN echo later\n")
    local m = s.steps[1].mounts
    assert_same({ m[1].type, m[1].target, m[1].id, m[1].uid, m[1].sharing }, { "cache", "/c", "x", 1, "shared" })
    local locked = stages("FROM a\nRUN --mount=type=cache,target=/c,sharing=locked --mount=type=cache,target=/p,sharing=private true\n")
    assert_same({ locked.steps[1].mounts[1].sharing, locked.steps[1].mounts[2].sharing }, { "locked", "private" })
    assert_eq(steps.instruction(locked.steps[1], {}),
              "RUN --mount=type=cache,sharing=locked,target=/c --mount=type=cache,sharing=private,target=/p true")
    assert_same({ m[2].type, m[2].id, m[2].target, m[2].required }, { "secret", "tok", "/run/secrets/tok", true })
    assert_same({ m[3].type, m[3].from.name, m[3].source, m[3].target }, { "bind", "one", "/a", "/b" })
    assert_same({ m[4].type, m[4].size }, { "tmpfs", "1m" })
    assert_eq(s.steps[2].shell, "echo hi\n")
    assert_same(s.steps[3].exec, { "/dev/pipes/EOF" })
    assert_same({ s.steps[3].mounts[1].type, s.steps[3].mounts[1].content }, { "file", "#!/bin/sh\necho hi\n" })
    assert_eq(steps.instruction(s.steps[3], {}), "RUN <<EOF")
    assert_true(s.steps[4].extract)
    assert_eq(steps.instruction(s.steps[4], {}), "ADD x.tgz /x/")
    assert_same({ s.steps[5].kind, s.steps[5].value }, { "onbuild", "RUN echo later" })
  end)

  it("turns COPY <<EOF into a copy of inline files: expanded unless quoted, <<- without tabs, named by the end word", function()
    local s = stages("FROM busybox\nARG name=world\nCOPY <<EOF single\nHello ${name}!\nEOF\n"
      .. "COPY --chmod=755 --chown=1:2 <<EOF <<'EOF2' double/\n\tfirst $name\nEOF\n\\$name\nEOF2\n"
      .. "ADD <<-EOF /added\n\tx\n\tEOF\n")
    local one, two, add = s.steps[2], s.steps[3], s.steps[4]
    assert_true(getmetatable(one.from).__name == "mdlua.build.inline")
    assert_same({ one.srcs, one.dst, one.from.files }, { { "EOF" }, "single", { EOF = "Hello world!\n" } })
    assert_same({ two.srcs, two.dst, two.chmod, two.chown }, { { "EOF", "EOF2" }, "double/", "755", "1:2" })
    assert_same(two.from.files, { EOF = "\tfirst world\n", EOF2 = "\\$name\n" })
    assert_eq(steps.instruction(two, {}), "COPY --chown=1:2 --chmod=755 <<EOF <<EOF2 double/")
    assert_same({ add.from.files, add.extract }, { { EOF = "x\n" }, true })
    assert_eq(steps.instruction(add, {}), "ADD <<EOF /added")
    -- The content is the step's input: another content, another key; the same, the same.
    local d1 = context.digest(nil, require("mdlua.build.inline").collect(one.from, "EOF", "x"))
    local again = stages("FROM busybox\nCOPY <<EOF single\nHello world!\nEOF\n").steps[1]
    local other = stages("FROM busybox\nCOPY <<EOF single\nHello you!\nEOF\n").steps[1]
    assert_eq(context.digest(nil, require("mdlua.build.inline").collect(again.from, "EOF", "x")), d1)
    assert_true(context.digest(nil, require("mdlua.build.inline").collect(other.from, "EOF", "x")) ~= d1)
  end)

  it("reads a COPY's other sources from the context, in their order", function()
    local s = stages("FROM a\nCOPY f.txt <<EOF g/ /d/\nx\nEOF\n")
    local c = s.steps[1]
    assert_same({ c.srcs, c.from.files, c.dst }, { { "f.txt", "EOF", "g/" }, { EOF = "x\n" }, "/d/" })
    assert_true(context.is(c.from.context))
    assert_eq(steps.instruction(c, {}), "COPY f.txt <<EOF g/ /d/")
    assert_eq(stages("FROM a\nCOPY <<EOF /d\nx\nEOF\n").steps[1].from.context, nil)
  end)

  it("refuses two heredocs of one name, a heredoc and a path of one name, a heredoc as the destination", function()
    assert_error("Dockerfile:2: COPY EOF: a path of the context and a heredoc have that name", stages,
                 "FROM a\nCOPY <<EOF EOF /d/\nx\nEOF\n")
    assert_error("Dockerfile:2: COPY: two heredocs named EOF", stages, "FROM a\nCOPY <<EOF <<EOF /d/\nx\nEOF\ny\nEOF\n")
    assert_error("Dockerfile:2: COPY expects a destination after its heredocs", stages, "FROM a\nCOPY <<EOF <<B\nx\nEOF\ny\nB\n")
  end)

  it("mounts SSH agents at /run/buildkit/ssh_agent.N, the first one the step's SSH_AUTH_SOCK", function()
    local s = stages("FROM a\nRUN --mount=type=ssh --mount=type=ssh,id=work,required=true --mount=type=ssh,id=x,target=/a true\n")
    local m = s.steps[1].mounts
    assert_same({ m[1].id, m[1].target, m[2].id, m[2].target, m[2].required, m[3].target },
                { "default", "/run/buildkit/ssh_agent.0", "work", "/run/buildkit/ssh_agent.1", true, "/a" })
    local env = steps.run_env(s.steps[1], { doc = { config = { Env = { "PATH=/bin" } } } })
    assert_same(env, { "PATH=/bin", "SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0" })
    assert_eq(steps.instruction(s.steps[1], {}), "RUN --mount=type=ssh,target=/run/buildkit/ssh_agent.0 "
      .. "--mount=type=ssh,id=work,target=/run/buildkit/ssh_agent.1 --mount=type=ssh,id=x,target=/a true")
  end)

  it("makes a bind read-write with rw (readwrite, ro=false), read-only otherwise", function()
    local s = stages("FROM a\nRUN --mount=target=/a,rw --mount=target=/b,readwrite=true --mount=target=/c,ro=false "
      .. "--mount=target=/d,ro --mount=target=/e,rw=false --mount=type=cache,target=/f,rw true\n")
    local m = s.steps[1].mounts
    assert_same({ m[1].rw, m[2].rw, m[3].rw, m[4].rw, m[5].rw, m[6].rw }, { true, true, true, nil, nil, nil })
    local ro_cache = stages("FROM a\nRUN --mount=type=cache,target=/c,ro --mount=type=cache,target=/d,readonly=false true\n").steps[1]
    assert_same({ ro_cache.mounts[1].readonly, ro_cache.mounts[2].readonly }, { true, nil })
    assert_eq(steps.instruction(ro_cache, {}), "RUN --mount=type=cache,ro,target=/c --mount=type=cache,target=/d true")
    assert_eq(steps.instruction(s.steps[1], {}):match("^RUN (%S+)"), "--mount=type=bind,rw,target=/a")
    local ro = cache.describe(steps.describe(stages("FROM a\nRUN --mount=target=/a true\n").steps[1], { doc = { config = {} } }))
    assert_true(cache.describe(steps.describe(s.steps[1], { doc = { config = {} } })) ~= ro)
  end)

  it("runs a base image's ONBUILD triggers after its FROM", function()
    local s = stages("FROM base\nRUN two\n", { image_config = function(image)
      return image == "base" and { OnBuild = { "ENV A=1", "RUN one" } } or nil
    end })
    assert_same({ s.steps[1].kind, s.steps[2].shell, s.steps[3].shell }, { "env", "one", "two" })
    assert_eq(s.steps[2].where, "Dockerfile:1")
  end)

  it("keeps an ONBUILD trigger's heredocs in it, and runs them as the instruction's", function()
    local s = stages("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nONBUILD COPY <<-EOF /f\n\tx\n\tEOF\nCMD y\n")
    assert_same({ s.steps[1].value, s.steps[2].value, s.steps[3].kind }, { "RUN <<EOF\necho hi\nEOF", "COPY <<-EOF /f\nx\nEOF", "cmd" })
    local child = stages("FROM base\n", { image_config = function(image)
      return image == "base" and { OnBuild = { s.steps[1].value, s.steps[2].value } } or nil
    end })
    assert_same({ child.steps[1].shell, child.steps[2].from.files, child.steps[2].dst }, { "echo hi\n", { EOF = "x\n" }, "/f" })
  end)

  it("refuses what it does not support, naming the line", function()
    assert_error("Dockerfile:2: stage:onbuild: FROM is not allowed as an ONBUILD trigger", stages, "FROM a\nONBUILD FROM x\n")
    assert_error("Dockerfile:2: RUN --mount=type=tmpfs: rw and ro are for bind and cache mounts", stages,
                 "FROM a\nRUN --mount=type=tmpfs,target=/x,rw true\n")
    assert_error("Dockerfile:2: RUN --mount: rw=maybe: expected true or false", stages, "FROM a\nRUN --mount=target=/x,rw=maybe true\n")
    assert_error("Dockerfile:2: RUN --mount: unknown option \"bogus\"", stages, "FROM a\nRUN --mount=type=cache,target=/x,bogus=1 true\n")
    assert_error("Dockerfile:3: stage:run: mounts[1]: sharing=mine: expected shared, private or locked", stages,
                 "FROM a\nRUN true\nRUN --mount=type=cache,target=/x,sharing=mine true\n")
    assert_error("Dockerfile:2: RUN --mount=type=ssh: mode, uid and gid are not supported", stages,
                 "FROM a\nRUN --mount=type=ssh,uid=1000 git clone x\n")
    assert_error("Dockerfile:2: RUN --mount: unknown option \"bogus\"", stages, "FROM a\nRUN --mount=type=ssh,bogus true\n")
    assert_error("Dockerfile:2: COPY --parents is not supported", stages, "FROM a\nCOPY --parents=true x /y\n")
    assert_error("Dockerfile:2: ADD --checksum is not supported", stages, "FROM a\nADD --checksum=sha256:0 x /y\n")
    assert_error("Dockerfile:2: ADD from a URL is not supported", stages, "FROM a\nADD git@github.com:x/y /y\n")
    assert_error("Dockerfile:2: RUN --network=bridge: expected default, none or host", stages, "FROM a\nRUN --network=bridge true\n")
    assert_error("Dockerfile:2: stage:run: mounts[1]: a secret needs an id", stages, "FROM a\nRUN --mount=type=secret true\n")
    assert_error("Dockerfile:2: RUN --security is not supported yet", stages, "FROM a\nRUN --security=insecure true\n")
    assert_error("Dockerfile:2: ADD from a URL is not supported", stages, "FROM a\nADD https://example.com/x /x\n")
    assert_error("Dockerfile:1: RUN before the first FROM", stages, "RUN true\n")
    assert_error("Dockerfile:2: FROOM is not supported", stages, "FROM a\nFROOM b\n")
    assert_error("Dockerfile:2: stage:expose: invalid port", stages, "FROM a\nEXPOSE http\n")
  end)
end)

describe("build paths", function()
  it("cleans paths and tells when they climb out", function()
    assert_same({ paths.clean("a/./b//c/") }, { "a/b/c", false })
    assert_same({ paths.clean("a/../../x") }, { "x", true })
  end)

  it("matches .dockerignore patterns: globs, **, directories, exceptions", function()
    local rules = paths.parse_ignore("# c\n*.o\n**/tmp\nbuild\n!build/keep\n")
    assert_true(paths.ignored(rules, "a.o"))
    assert_true(not paths.ignored(rules, "src/a.o"))
    assert_true(paths.ignored(rules, "x/y/tmp/z"))
    assert_true(paths.ignored(rules, "build/out"))
    assert_true(not paths.ignored(rules, "build/keep"))
    assert_true(paths.match("src/[ab].c", "src/a.c") and not paths.match("src/[!ab].c", "src/a.c"))
  end)

  it("places a symlink's target inside the root, or refuses it", function()
    assert_eq(paths.link_target("a/b/link", "../c"), "a/c")
    assert_eq(paths.link_target("link", "../x"), nil)
    assert_eq(paths.link_target("link", "/etc/passwd"), nil)
  end)
end)

describe("build cache keys", function()
  local state = { doc = { config = { Env = { "PATH=/bin" } } }, args = {} }
  local function key(step, inputs, parent)
    return cache.key(parent or "sha256:p", cache.describe(steps.describe(step, state)), inputs)
  end

  it("is the same for the same step wherever it was written", function()
    assert_eq(key({ kind = "run", shell = "make", where = "a.lua:1" }), key({ kind = "run", shell = "make", where = "b:9" }))
  end)

  it("changes with the parent, the command, the environment and the inputs", function()
    local base = key({ kind = "run", shell = "make" }, "i")
    assert_true(base ~= key({ kind = "run", shell = "make" }, "i", "sha256:q"))
    assert_true(base ~= key({ kind = "run", shell = "make all" }, "i"))
    assert_true(base ~= key({ kind = "run", shell = "make", env = { { "A", "1" } } }, "i"))
    assert_true(base ~= key({ kind = "run", shell = "make" }, "j"))
  end)

  it("digests a context's files by content, not by time", function()
    local d = md.fs.tempdir("/tmp/mdlua-spec-")
    md.fs.mkdir(d .. "/src")
    md.fs.write(d .. "/src/a", "one")
    md.fs.write(d .. "/src/b", "two")
    local entries = context.collect(d, {}, "src", "COPY src")
    local first, each = context.digest(d, entries)
    os.execute("touch -d 2001-01-01 " .. d .. "/src/a")
    assert_eq(context.digest(d, context.collect(d, {}, "src", "COPY src")), first)
    md.fs.write(d .. "/src/b", "changed")
    local second, each2 = context.digest(d, context.collect(d, {}, "src", "COPY src"))
    assert_true(second ~= first)
    assert_eq(cache.changed(each, each2), "changed: src/b")
    md.fs.symlink("../..", d .. "/src/up")
    assert_error("src/up is a symlink that points outside", context.collect, d, {}, "src/up/x", "COPY src/up/x")
    assert_error("outside the build context", context.collect, d, {}, "../x", "COPY ../x")
    md.fs.remove(d)
  end)
end)

describe("build progress", function()
  local progress = require "mdlua.build.progress"
  local function sink()
    local buf = {}
    return { write = function(self, ...) for _, s in ipairs { ... } do buf[#buf + 1] = s end end, flush = function() end },
           function() return table.concat(buf) end
  end
  local stage = { name = "builder" }
  local start = { stage = stage, n = 2, total = 5, instruction = "RUN make" }
  local done = { stage = stage, n = 2, total = 5, instruction = "RUN make", seconds = 0.314, image = "sha256:" .. ("ab"):rep(32),
                 reason = "changed: src/b.c" }

  it("writes plain lines: the step, its output, its time and why it ran, or CACHED", function()
    local out, text = sink()
    local p = progress.printer("plain", out, true)
    p("start", start); p("output", { output = "cc -c b.c" }); p("done", done)
    p("done", { stage = stage, n = 3, total = 5, instruction = "COPY x y", cached = true, image = done.image })
    assert_eq(text(), "[builder] STEP 2/5: RUN make\ncc -c b.c\n--> 0.31s abababababab (changed: src/b.c)\n"
      .. "--> CACHED abababababab\n")
  end)

  it("on a terminal (auto), rewrites each step's line in place when it ends, output hidden", function()
    local out, text = sink()
    local p = progress.printer("auto", out, true)
    p("start", start); p("output", { output = "noise" }); p("done", done)
    p("start", start); p("failed", {})
    assert_eq(text(), "\r\27[K[builder] STEP 2/5: RUN make\r\27[K[builder] STEP 2/5: RUN make  0.31s\n"
      .. "\r\27[K[builder] STEP 2/5: RUN make  ERROR\n")
  end)

  it("is plain when stderr is no terminal, silent when quiet", function()
    local out, text = sink()
    progress.printer("auto", out, false)("start", start)
    assert_eq(text(), "[builder] STEP 2/5: RUN make\n")
    local q, qtext = sink()
    progress.printer("quiet", q, true)("start", start)
    assert_eq(qtext(), "")
  end)
end)
