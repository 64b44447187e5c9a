-- The Dockerfile frontend: a Dockerfile read into instructions (parse, a pure function of
-- the text) and turned into md.build stages (stages), on the same API a build script uses.
-- Every error names the Dockerfile's line; what is not supported is refused, never skipped.
local errors = require "mdlua.errors"
local json = require "mdlua.json"

local M = {}

local function fail(file, line, msg)
  error(errors.new("invalid_argument", ("%s:%d: %s"):format(file, line, msg)), 0)
end

-- Instructions: { { cmd = "RUN", args = "rest of the line", line = N, flags = { from = "x" } } }.
-- Handles the escape directive, continuation lines and comments.
function M.parse(text, file)
  file = file or "Dockerfile"
  local lines = {}
  for l in (text:gsub("\r\n", "\n") .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local escape = "\\"
  local i = 1
  -- Parser directives: "# name=value" lines before anything else.
  while i <= #lines do
    local name, value = lines[i]:match("^%s*#%s*([%a]+)%s*=%s*(.-)%s*$")
    if not name then break end
    name = name:lower()
    if name == "escape" then
      if value ~= "\\" and value ~= "`" then fail(file, i, ("invalid escape directive %q: expected \\ or `"):format(value)) end
      escape = value
    elseif name ~= "syntax" and name ~= "check" then
      break
    end
    i = i + 1
  end
  local out = {}
  while i <= #lines do
    local l = lines[i]
    if #l > 1048576 then fail(file, i, "line longer than 1 MiB") end
    if l:match("^%s*$") or l:match("^%s*#") then
      i = i + 1
    else
      local start = i
      local parts = {}
      while true do
        local cur = lines[i]
        local trimmed = cur:gsub("%s+$", "")
        if trimmed:sub(-1) == escape and i < #lines then
          parts[#parts + 1] = trimmed:sub(1, -2)
          i = i + 1
          -- Comment and empty lines inside a continuation are dropped.
          while i <= #lines and (lines[i]:match("^%s*#") or lines[i]:match("^%s*$")) do i = i + 1 end
          if i > #lines then break end
        else
          parts[#parts + 1] = i == start and cur or cur
          i = i + 1
          break
        end
      end
      local whole = table.concat(parts, "")
      local cmd, rest = whole:match("^%s*(%S+)%s*(.-)%s*$")
      local ins = { cmd = cmd:upper(), args = rest, line = start, flags = {}, all_flags = {}, escape = escape }
      -- --name=value flags before the arguments.
      while true do
        local name, value, after = ins.args:match("^%-%-([%w%-]+)=(%S*)%s*(.*)$")
        if not name then
          local bare, after2 = ins.args:match("^%-%-([%w%-]+)%s+(.*)$")
          if bare and (ins.cmd == "COPY" or ins.cmd == "ADD") and bare == "link" then
            ins.flags.link, ins.args = "true", after2
          else break end
        else
          ins.flags[name] = value
          ins.all_flags[name] = ins.all_flags[name] or {}
          table.insert(ins.all_flags[name], value)
          ins.args = after
        end
      end
      -- (ONBUILD's instruction takes its heredocs too: the trigger keeps them.)
      local inner = ins.cmd == "ONBUILD" and (ins.args:match("^(%a+)") or ""):upper() or ins.cmd
      if inner == "RUN" or inner == "COPY" or inner == "ADD" then
        -- Heredocs (<<EOF, <<-EOF, <<"EOF"): the lines up to each one's end word, in order.
        -- A COPY's name is a file's (file.txt), a RUN's a shell word.
        local word_pattern = inner == "RUN" and "[%a_][%w_]*" or "[^%s<\"']+"
        for dash, q, word in ins.args:gmatch("<<(%-?)([\"']?)(" .. word_pattern .. ")%2") do
          local body = {}
          while true do
            if i > #lines then fail(file, start, ("heredoc %s: no line %q ends it"):format(word, word)) end
            local l = lines[i]
            if #l > 1048576 then fail(file, i, "line longer than 1 MiB") end
            i = i + 1
            if dash == "-" then l = l:gsub("^\t+", "") end
            if l == word then break end
            body[#body + 1] = l
          end
          ins.heredocs = ins.heredocs or {}
          ins.heredocs[#ins.heredocs + 1] = { name = word, data = table.concat(body, "\n") .. (#body > 0 and "\n" or ""),
                                              quoted = q ~= "", strip = dash == "-" }
        end
      end
      out[#out + 1] = ins
    end
  end
  return out
end

-- A JSON array of strings (exec form), or nil when `s` is not one.
local function json_array(s)
  if not s:match("^%[") then return nil end
  local ok, v = pcall(json.decode, s)
  if not ok or type(v) ~= "table" then return nil end
  for _, x in ipairs(v) do if type(x) ~= "string" then return nil end end
  return { table.unpack(v) }
end
M.json_array = json_array

-- $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt}, with `escape` before $ for a literal $.
-- `all_escapes` (a heredoc's content, as BuildKit): `escape` before any character is that
-- character; quotes are kept.
function M.expand(s, vars, escape, all_escapes)
  escape = escape or "\\"
  local out, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c == escape and (s:sub(i + 1, i + 1) == "$" or (all_escapes and i < #s)) then
      out[#out + 1] = s:sub(i + 1, i + 1)
      i = i + 2
    elseif c == "$" then
      local name, j = s:match("^([%a_][%w_]*)()", i + 1)
      if name then
        out[#out + 1] = vars[name] or ""
        i = j
      elseif s:sub(i + 1, i + 1) == "{" then
        local close = s:find("}", i + 2, true)
        if not close then out[#out + 1] = s:sub(i); break end
        local inner = s:sub(i + 2, close - 1)
        local n, op, word = inner:match("^([%a_][%w_]*):?([%-+]?)(.*)$")
        local v = n and vars[n]
        if op == "-" then out[#out + 1] = (v ~= nil and v ~= "") and v or M.expand(word, vars, escape, all_escapes)
        elseif op == "+" then out[#out + 1] = (v ~= nil and v ~= "") and M.expand(word, vars, escape, all_escapes) or ""
        else out[#out + 1] = v or "" end
        i = close + 1
      else
        out[#out + 1] = "$"
        i = i + 1
      end
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return table.concat(out)
end

-- Words with quotes ("a b" 'c') and escapes, as ENV and LABEL take them.
function M.words(s, escape)
  escape = escape or "\\"
  local out, cur, quote, i, any = {}, {}, nil, 1, false
  while i <= #s do
    local c = s:sub(i, i)
    if c == escape and quote ~= "'" and i < #s then
      cur[#cur + 1] = s:sub(i + 1, i + 1); i = i + 2; any = true
    elseif quote then
      if c == quote then quote = nil else cur[#cur + 1] = c end
      i = i + 1
    elseif c == '"' or c == "'" then quote, any = c, true; i = i + 1
    elseif c:match("%s") then
      if #cur > 0 or any then out[#out + 1] = table.concat(cur); cur, any = {}, false end
      i = i + 1
    else cur[#cur + 1] = c; i = i + 1 end
  end
  if quote then return nil, "unterminated quote" end
  if #cur > 0 or any then out[#out + 1] = table.concat(cur) end
  return out
end

-- KEY=VALUE pairs (or the legacy "KEY VALUE") as a list of { key, value }.
local function key_values(ins, vars)
  local file = ins.file
  if not ins.args:match("^[^%s=]+=") then
    local k, v = ins.args:match("^(%S+)%s+(.*)$")
    if not k then fail(file, ins.line, ins.cmd .. " expects KEY=VALUE") end
    return { { k, M.expand(v, vars, ins.escape) } }
  end
  local ws, err = M.words(M.expand(ins.args, vars, ins.escape), ins.escape)
  if not ws then fail(file, ins.line, ins.cmd .. ": " .. err) end
  local out = {}
  for _, w in ipairs(ws) do
    local k, v = w:match("^([^=]+)=(.*)$")
    if not k then fail(file, ins.line, ("%s expects KEY=VALUE, got %q"):format(ins.cmd, w)) end
    out[#out + 1] = { k, v }
  end
  return out
end
M.key_values = key_values

local unsupported_flags = { RUN = { "security" } }

-- RUN --mount=type=...,key=value,... as a mount of stage:run (by_name: the stages so far,
-- for from=; context: the build's).
local mount_keys = { target = "target", dst = "target", destination = "target", source = "source", src = "source",
                     id = "id", sharing = "sharing", mode = "mode", uid = "uid", gid = "gid", from = "from",
                     required = "required", size = "size", type = "type" }
local function run_mount(ins, spec, by_name, stages, o)
  local m, writable = {}, nil
  for field in spec:gmatch("[^,]+") do
    local k, v = field:match("^([^=]+)=(.*)$")
    k, v = (k or field):lower(), v
    if k == "ro" or k == "readonly" or k == "rw" or k == "readwrite" then
      -- rw: the step writes in a copy of what it binds, thrown away after it (as BuildKit).
      local on = v == nil or v == "true"
      if not on and v ~= "false" then fail(ins.file, ins.line, ("RUN --mount: %s=%s: expected true or false"):format(k, v)) end
      writable = (k == "rw" or k == "readwrite") == on
    elseif not mount_keys[k] then
      fail(ins.file, ins.line, ("RUN --mount: unknown option %q"):format(k))
    else
      m[mount_keys[k]] = v or "true"
    end
  end
  m.type = m.type or "bind"
  if m.type == "ssh" and (m.mode or m.uid or m.gid) then
    fail(ins.file, ins.line, "RUN --mount=type=ssh: mode, uid and gid are not supported (the agent's socket is mounted as it is)")
  end
  if m.type == "bind" or (m.type == "cache" and m.from) then
    if m.type == "cache" then fail(ins.file, ins.line, "RUN --mount=type=cache,from= is not supported") end
    local ref = m.from
    if ref then
      m.from = by_name[ref:lower()] or (ref:match("^%d+$") and stages[tonumber(ref) + 1])
      if not m.from then
        if ref:match("^%d+$") then fail(ins.file, ins.line, ("RUN --mount from=%s: no stage %s before this one"):format(ref, ref)) end
        m.from = o.build.from(ref)
        m.from.where = ("%s:%d"):format(ins.file, ins.line)
      end
    else
      m.from = o.context
    end
  end
  if m.required ~= nil then m.required = m.required == "true" end
  if writable ~= nil then
    if m.type == "bind" then m.rw = writable or nil
    elseif m.type == "cache" then m.readonly = not writable or nil
    else
      fail(ins.file, ins.line, ("RUN --mount=type=%s: rw and ro are for bind and cache mounts"):format(m.type))
    end
  end
  for _, k in ipairs { "uid", "gid" } do
    if m[k] ~= nil then
      m[k] = math.tointeger(tonumber(m[k]))
      if not m[k] then fail(ins.file, ins.line, ("RUN --mount: %s expects a number"):format(k)) end
    end
  end
  if m.type == "tmpfs" and m.size then m.size = m.size .. (m.size:match("^%d+$") and "b" or "") end
  return m
end

-- A RUN with heredocs as the command the shell runs (as BuildKit): a lone heredoc is the
-- script itself (run by the interpreter its #! names, when it has one); otherwise the
-- line and the heredocs are given to the shell whole, which reads them.
local function heredoc_command(ins, mounts)
  local docs = ins.heredocs
  if #docs == 1 and ins.args:match("^<<%-?[\"']?[%a_][%w_]*[\"']?$") then
    local data = docs[1].data
    if data:match("^#!") then
      local target = "/dev/pipes/" .. docs[1].name
      mounts[#mounts + 1] = { type = "file", target = target, content = data, mode = "0755" }
      return { target }
    end
    return data
  end
  local full = { ins.args }
  for _, d in ipairs(docs) do full[#full + 1] = "\n" .. d.data .. d.name end
  return table.concat(full)
end

-- A COPY's heredocs as inline files (md.build.inline), each named by its end word, its
-- content expanded unless the word was quoted (as BuildKit); its other sources are paths
-- of the context. Returns the inline files and the sources, in order.
local function heredoc_files(ins, list, dst, vars, o)
  local files, srcs, paths_, docs = {}, {}, {}, 0
  for _, src in ipairs(list) do
    local doc = ins.heredocs[docs + 1]
    local name = doc and src:match("^<<%-?(.*)$") == doc.name and doc.name
    if name then
      if files[name] then fail(ins.file, ins.line, ("%s: two heredocs named %s"):format(ins.cmd, name)) end
      files[name] = doc.quoted and doc.data or M.expand(doc.data, vars, ins.escape, true)
      docs = docs + 1
    else
      paths_[src] = true
    end
    srcs[#srcs + 1] = name or src
  end
  if docs < #ins.heredocs or dst:match("^<<") then fail(ins.file, ins.line, ins.cmd .. " expects a destination after its heredocs") end
  for name in pairs(files) do
    if paths_[name] then fail(ins.file, ins.line, ("%s %s: a path of the context and a heredoc have that name"):format(ins.cmd, name)) end
  end
  return o.build.inline(files, { context = next(paths_) and o.context or nil }), srcs
end

local function check_flags(ins, allowed)
  for name in pairs(ins.flags) do
    local ok = false
    for _, a in ipairs(allowed) do if a == name then ok = true end end
    if not ok then
      local known = false
      for _, u in ipairs(unsupported_flags[ins.cmd] or {}) do if u == name then known = true end end
      fail(ins.file, ins.line, ("%s --%s is not supported%s"):format(ins.cmd, name, known and " yet" or ""))
    end
  end
end

-- The stages of a parsed Dockerfile. o: build (md.build), context (md.build.context),
-- build_args (a map), target (a stage name), file (its name in errors), image_config (a
-- function(image) -> its config, for its Env and ONBUILD triggers; optional). Returns the
-- stage to build.
function M.stages(instructions, o)
  local build = o.build
  local file = o.file or "Dockerfile"
  local args = o.build_args or {}
  local global = {}      -- ARGs before the first FROM
  local stages, by_name = {}, {}
  local cur, vars, declared
  local function at(ins) return ("%s:%d"):format(file, ins.line) end
  -- Calls a stage method; its errors, and the step's line, name the Dockerfile's line.
  local function step(ins, method, ...)
    local ok, res = pcall(cur[method], cur, ...)
    if not ok then fail(file, ins.line, errors.message(res):gsub("^[^:]*:%d+: ", "")) end
    if #res.steps > #cur.steps then res.steps[#res.steps].where = at(ins) end
    cur = res
  end
  local dispatch
  -- A base image's ONBUILD triggers, run as if they followed its FROM (whose line they
  -- take in errors).
  local function triggers(from, image)
    local cfg = o.image_config and o.image_config(image)
    for _, text in ipairs(cfg and cfg.OnBuild or {}) do
      local ok, parsed = pcall(M.parse, text, file)
      if not ok then fail(file, from.line, ("ONBUILD trigger of %s: %s"):format(image, errors.message(parsed))) end
      for _, t in ipairs(parsed) do
        t.line = from.line
        dispatch(t)
      end
    end
  end
  function dispatch(ins)
    ins.file = file
    local c = ins.cmd
    if c ~= "FROM" and c ~= "ARG" and not cur then fail(file, ins.line, c .. " before the first FROM") end
    if c == "FROM" then
      check_flags(ins, { "platform" })
      local ws = M.words(M.expand(ins.args, global, ins.escape), ins.escape) or {}
      if not (#ws == 1 or (#ws == 3 and ws[2]:upper() == "AS")) then fail(file, ins.line, "FROM expects IMAGE [AS NAME]") end
      local image = ws[1]
      local base = by_name[image:lower()]
      if base then cur = base:as(nil) else cur = build.from(image) end
      cur.where = at(ins)
      cur.name = ws[3] and ws[3]:lower() or nil
      vars, declared = {}, {}
      local cfg
      if not base and image ~= "scratch" and o.image_config then
        local ok, c = pcall(o.image_config, image)
        if not ok then fail(file, ins.line, ("FROM %s: %s"):format(image, errors.message(c):gsub("^md%.[%w_.]+: ", ""))) end
        cfg = c
      end
      for _, kv in ipairs(cfg and cfg.Env or {}) do
        local k, v = kv:match("^([^=]*)=(.*)$")
        if k then vars[k] = v end
      end
      stages[#stages + 1] = cur
      cur.index = #stages - 1
      if cfg then triggers(ins, image) end
    elseif c == "ARG" then
      check_flags(ins, {})
      local name, default = ins.args:match("^([%a_][%w_]*)=(.*)$")
      if not name then name = ins.args:match("^([%a_][%w_]*)$") end
      if not name then fail(file, ins.line, "ARG expects NAME[=DEFAULT]") end
      if default then
        local ws = M.words(M.expand(default, cur and vars or global, ins.escape), ins.escape) or { "" }
        default = ws[1] or ""
      end
      if not cur then
        global[name] = args[name] or default
      else
        if default == nil and global[name] ~= nil then default = global[name] end
        step(ins, "arg", name, default)
        vars[name] = args[name] or default
      end
    elseif c == "RUN" then
      check_flags(ins, { "mount", "network" })
      local mounts = {}
      for _, spec in ipairs(ins.all_flags.mount or {}) do mounts[#mounts + 1] = run_mount(ins, spec, by_name, stages, o) end
      local network = ins.flags.network
      if network == "default" then network = nil end
      if network and network ~= "none" and network ~= "host" then
        fail(file, ins.line, ("RUN --network=%s: expected default, none or host"):format(network))
      end
      local cmd
      if ins.heredocs then cmd = heredoc_command(ins, mounts)
      else cmd = json_array(ins.args) or ins.args end
      step(ins, "run", cmd, { mounts = #mounts > 0 and mounts or nil, network = network })
      if ins.heredocs then cur.steps[#cur.steps].display = ins.args end
    elseif c == "COPY" or c == "ADD" then
      check_flags(ins, { "from", "chown", "chmod", "link" })
      if c == "ADD" and ins.flags.from then fail(file, ins.line, "ADD --from is not supported: use COPY --from") end
      local list = json_array(ins.args)
      if not list then
        local err
        list, err = M.words(M.expand(ins.args, vars, ins.escape), ins.escape)
        if not list then fail(file, ins.line, c .. ": " .. err) end
      else
        for i, s in ipairs(list) do list[i] = M.expand(s, vars, ins.escape) end
      end
      if #list < 2 then fail(file, ins.line, c .. " expects at least one source and a destination") end
      local dst = table.remove(list)
      if c == "ADD" then
        for _, s in ipairs(list) do
          if s:match("^%a[%w+.-]*://") or s:match("^git@") then
            fail(file, ins.line, "ADD from a URL is not supported (a build reaches no network): download it, then ADD or COPY the file")
          end
        end
      end
      local from, method = o.context, c:lower()
      if ins.heredocs then
        -- (--from names where paths are read: a heredoc's file is none of them, as BuildKit.)
        from, list = heredoc_files(ins, list, dst, vars, o)
      elseif ins.flags.from then
        local ref = ins.flags.from
        from = by_name[ref:lower()] or (ref:match("^%d+$") and stages[tonumber(ref) + 1])
        if not from then
          if ref:match("^%d+$") then fail(file, ins.line, ("COPY --from=%s: no stage %s before this one"):format(ref, ref)) end
          from = build.from(ref)
          from.where = at(ins)
        end
        method = "copy"
      end
      step(ins, method, from, list, dst, { chown = ins.flags.chown and M.expand(ins.flags.chown, vars, ins.escape) or nil,
                                          chmod = ins.flags.chmod })
    elseif c == "ENV" then
      check_flags(ins, {})
      local kvs = key_values(ins, vars)
      for _, kv in ipairs(kvs) do vars[kv[1]] = kv[2] end
      local list = {}
      for _, kv in ipairs(kvs) do list[#list + 1] = kv[1] .. "=" .. kv[2] end
      step(ins, "env", list)
    elseif c == "LABEL" then
      check_flags(ins, {})
      local list = {}
      for _, kv in ipairs(key_values(ins, vars)) do list[#list + 1] = kv[1] .. "=" .. kv[2] end
      step(ins, "label", list)
    elseif c == "WORKDIR" or c == "USER" or c == "STOPSIGNAL" then
      check_flags(ins, {})
      local v = M.expand(ins.args, vars, ins.escape)
      if v == "" then fail(file, ins.line, c .. " expects an argument") end
      step(ins, c:lower(), v)
    elseif c == "EXPOSE" then
      check_flags(ins, {})
      local ports = {}
      for p in M.expand(ins.args, vars, ins.escape):gmatch("%S+") do ports[#ports + 1] = p end
      step(ins, "expose", ports)
    elseif c == "VOLUME" then
      check_flags(ins, {})
      local list = json_array(ins.args)
      if not list then
        list = {}
        for p in M.expand(ins.args, vars, ins.escape):gmatch("%S+") do list[#list + 1] = p end
      end
      step(ins, "volume", list)
    elseif c == "CMD" or c == "ENTRYPOINT" then
      check_flags(ins, {})
      step(ins, c:lower(), json_array(ins.args) or ins.args)
    elseif c == "SHELL" then
      check_flags(ins, {})
      local list = json_array(ins.args)
      if not list or #list == 0 then fail(file, ins.line, "SHELL expects a JSON array: SHELL [\"executable\", \"parameters\"]") end
      step(ins, "shell", list)
    elseif c == "HEALTHCHECK" then
      check_flags(ins, { "interval", "timeout", "start-period", "retries" })
      local kind, rest = ins.args:match("^(%S+)%s*(.*)$")
      kind = kind and kind:upper()
      if kind == "NONE" then step(ins, "healthcheck", { none = true })
      elseif kind == "CMD" then
        local h = json_array(rest) or { shell = rest }
        h.interval, h.timeout, h.start_period = ins.flags.interval, ins.flags.timeout, ins.flags["start-period"]
        if ins.flags.retries then
          h.retries = math.tointeger(tonumber(ins.flags.retries))
          if not h.retries then fail(file, ins.line, "HEALTHCHECK --retries expects an integer") end
        end
        step(ins, "healthcheck", h)
      else
        fail(file, ins.line, "HEALTHCHECK expects CMD ... or NONE")
      end
    elseif c == "MAINTAINER" then
      step(ins, "label", { "maintainer=" .. ins.args })
    elseif c == "ONBUILD" then
      check_flags(ins, {})
      if ins.args == "" then fail(file, ins.line, "ONBUILD expects an instruction") end
      local text = { ins.args }
      for _, d in ipairs(ins.heredocs or {}) do text[#text + 1] = "\n" .. d.data .. d.name end
      step(ins, "onbuild", table.concat(text))
    else
      fail(file, ins.line, ("%s is not supported"):format(c))
    end
    if cur and #stages > 0 then
      stages[#stages] = cur
      if cur.name then by_name[cur.name] = cur end
    end
  end
  for _, ins in ipairs(instructions) do dispatch(ins) end
  if #stages == 0 then error(errors.new("invalid_argument", file .. ": no FROM instruction"), 0) end
  if o.target then
    local t = by_name[o.target:lower()]
    if not t then error(errors.new("invalid_argument", ("%s: no stage named %q (--target)"):format(file, o.target)), 0) end
    return t
  end
  return stages[#stages]
end

return M
