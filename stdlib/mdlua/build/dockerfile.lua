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
      local ins = { cmd = cmd:upper(), args = rest, line = start, flags = {}, escape = escape }
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
          ins.args = after
        end
      end
      if ins.args:match("<<%-?[%w\"']") and (ins.cmd == "RUN" or ins.cmd == "COPY" or ins.cmd == "ADD") then
        fail(file, start, ins.cmd .. " with a heredoc is not supported yet")
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
function M.expand(s, vars, escape)
  escape = escape or "\\"
  local out, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c == escape and s:sub(i + 1, i + 1) == "$" then
      out[#out + 1] = "$"
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
        if op == "-" then out[#out + 1] = (v ~= nil and v ~= "") and v or M.expand(word, vars, escape)
        elseif op == "+" then out[#out + 1] = (v ~= nil and v ~= "") and M.expand(word, vars, escape) or ""
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

local unsupported_flags = { RUN = { "mount", "network", "security" } }

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

local tar_suffixes = { "%.tar$", "%.tar%.gz$", "%.tgz$", "%.tar%.xz$", "%.txz$", "%.tar%.bz2$", "%.tar%.zst$" }

-- The stages of a parsed Dockerfile. o: build (md.build), context (md.build.context),
-- build_args (a map), target (a stage name), file (its name in errors), image_env (a
-- function(image) -> its Env list, for variables; optional). Returns the stage to build.
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
  for _, ins in ipairs(instructions) do
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
      if not base and image ~= "scratch" and o.image_env then
        for _, kv in ipairs(o.image_env(image) or {}) do
          local k, v = kv:match("^([^=]*)=(.*)$")
          if k then vars[k] = v end
        end
      end
      stages[#stages + 1] = cur
      cur.index = #stages - 1
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
      check_flags(ins, {})
      local exec = json_array(ins.args)
      step(ins, "run", exec or ins.args)
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
          if s:match("^%a[%w+.-]*://") then fail(file, ins.line, "ADD from a URL is not supported") end
          for _, suf in ipairs(tar_suffixes) do
            if s:lower():match(suf) then fail(file, ins.line, "ADD of a local archive (auto-extraction) is not supported yet") end
          end
        end
      end
      local from = o.context
      if ins.flags.from then
        local ref = ins.flags.from
        from = by_name[ref:lower()] or (ref:match("^%d+$") and stages[tonumber(ref) + 1])
        if not from then
          if ref:match("^%d+$") then fail(file, ins.line, ("COPY --from=%s: no stage %s before this one"):format(ref, ref)) end
          from = build.from(ref)
          from.where = at(ins)
        end
      end
      step(ins, "copy", from, list, dst, { chown = ins.flags.chown and M.expand(ins.flags.chown, vars, ins.escape) or nil,
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
    else
      fail(file, ins.line, ("%s is not supported%s"):format(c, c == "ONBUILD" and " yet" or ""))
    end
    if cur and #stages > 0 then
      stages[#stages] = cur
      if cur.name then by_name[cur.name] = cur end
    end
  end
  if #stages == 0 then error(errors.new("invalid_argument", file .. ": no FROM instruction"), 0) end
  if o.target then
    local t = by_name[o.target:lower()]
    if not t then error(errors.new("invalid_argument", ("%s: no stage named %q (--target)"):format(file, o.target)), 0) end
    return t
  end
  return stages[#stages]
end

return M
