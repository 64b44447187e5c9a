-- Go's text/template in Lua, with Docker's template functions: the engine behind every
-- --format / -f. What it supports and where it differs from Go is in docs/templates.md.
--
--   local template = require "mdlua.template"
--   local t = template.parse("{{range .Config.Env}}{{println .}}{{end}}")  -- fails on a bad template
--   io.write(t:execute(doc))                                                 -- fails on a bad field
--   template.render(src, data)                                               -- both at once
--
-- Errors are mdlua errors (mdlua.errors) with Go's one-line messages:
--   template: :1:0: unclosed action
--   template: :1:2: executing "" at <.Foo>: can't evaluate field Foo
-- (line, then the byte column counted from 0, as Go counts it).
--
-- Lua tables stand for Go's maps, structs and slices. A list is a json.array() or a
-- sequence. A table whose keys are all capitalized names (Id, Config, State) is a
-- struct: a field it does not have is an error, as in Go. Any other table is a map: a
-- missing key prints "<no value>". template.struct(t, fields) and template.map(t) say
-- which a table is when the guess would be wrong; a field named Labels, Attributes,
-- Networks, Options, ... (map_fields below) is a map in Docker's documents and is taken
-- as one.
local json = require "mdlua.json"
local errors = require "mdlua.errors"

local M = {}

local MAX_DEPTH = 200       -- nested parentheses and control structures
local MAX_WIDTH = 1000000   -- printf widths and precisions, pad's spaces

-- What a table is, when the caller said so: "map", or a set of field names (a struct).
local marks = setmetatable({}, { __mode = "k" })

function M.map(t) marks[t] = "map"; return t end

-- Go's zero values of a nil slice and a nil map: they print as [] and map[], and as null
-- in JSON.
M.nil_list = json.array()
M.nil_map = {}
marks[M.nil_map] = "map"

-- Marks t as a struct whose fields are its keys plus those of `fields`: a list of names
-- (a missing one evaluates to nil instead of failing) or a table of names and the value a
-- missing one takes (Go's zero value: "", false, 0, template.nil_list, template.nil_map,
-- json.null); see template.fields.
function M.struct(t, fields)
  local set = {}
  for k, v in pairs(fields or {}) do
    if math.type(k) == "integer" then set[v] = true else set[k] = v end
  end
  marks[t] = set
  return t
end

-- Zero values from a compact schema: "Name:s Running:b Pid:i Env:l Labels:m Health:p"
-- (string, bool, integer, list, map, pointer).
function M.fields(spec)
  local zero = { s = "", b = false, i = 0, l = M.nil_list, m = M.nil_map, p = json.null }
  local out = {}
  for name, t in spec:gmatch("([%w_]+):(%a)") do
    if zero[t] == nil then error("template.fields: unknown type " .. t .. " of " .. name, 2) end
    out[name] = zero[t]
  end
  return out
end

-- Fields whose values are maps in Docker's documents (container and image inspect,
-- events).
M.map_fields = { Labels = true, Attributes = true, Networks = true, ExposedPorts = true, Volumes = true,
                 Ports = true, Options = true, Data = true, Annotations = true, Sysctls = true,
                 DriverOpts = true, Tmpfs = true, StorageOpt = true }

-- Values ----------------------------------------------------------------------------

-- "list", "map", "struct" or "null" for a table; with a struct, its declared field set.
local function kind(v)
  if v == json.null then return "null" end
  local m = marks[v]
  if m == "map" then return "map" end
  if m then return "struct", m end
  if json.is_array(v) then return "list" end
  local n, fieldlike, ints = 0, true, true
  for k in pairs(v) do
    n = n + 1
    if math.type(k) ~= "integer" then ints = false end
    if type(k) ~= "string" or not k:find("^[A-Z][%w_]*$") then fieldlike = false end
  end
  if n == 0 then return "map" end
  if ints and #v == n then return "list" end
  return fieldlike and "struct" or "map"
end
M.kind = function(v) return type(v) == "table" and kind(v) or type(v) end

local function gotype(v)
  if v == nil then return "nil" end
  local t = type(v)
  if t == "string" then return "string" end
  if t == "boolean" then return "bool" end
  if t == "number" then return math.type(v) == "integer" and "int" or "float64" end
  if t == "table" then
    local k = kind(v)
    return ({ list = "[]interface {}", map = "map[string]interface {}", struct = "struct", null = "<nil>" })[k]
  end
  return t
end

local function truth(v)
  if v == nil or v == false or v == json.null then return false end
  local t = type(v)
  if t == "number" then return v ~= 0 end
  if t == "string" then return v ~= "" end
  if t == "table" then
    local k = kind(v)
    if k == "struct" then return true end
    return next(v) ~= nil
  end
  return true
end
M.truth = truth

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    return a < b
  end)
  return keys
end

-- Go's %v of a float64: integral values without a fraction, others in the shortest form
-- that reads back the same.
local function float_text(v)
  if v ~= v then return "NaN" end
  if v == math.huge then return "+Inf" end
  if v == -math.huge then return "-Inf" end
  if v == math.floor(v) and math.abs(v) < 1e21 then
    if v == 0 and 1 / v < 0 then return "-0" end
    return ("%d"):format(v)
  end
  for p = 1, 17 do
    local s = ("%." .. p .. "g"):format(v)
    if tonumber(s) == v then
      return (s:gsub("e([-+])0*(%d%d)", "e%1%2"))
    end
  end
  return tostring(v)
end

-- Go's fmt %v. `top`: a missing value prints as text/template prints it ("<no value>").
local function show(v, top, depth)
  if v == nil then return top and "<no value>" or "<nil>" end
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return math.type(v) == "integer" and tostring(v) or float_text(v) end
  if t == "boolean" then return tostring(v) end
  if t == "table" then
    local k = kind(v)
    if k == "null" then return "<nil>" end
    depth = (depth or 0) + 1
    if depth > 100 then return "..." end
    local parts = {}
    if k == "list" then
      for i = 1, #v do parts[i] = show(v[i], false, depth) end
      return "[" .. table.concat(parts, " ") .. "]"
    end
    local keys = sorted_keys(v)
    for _, key in ipairs(keys) do
      if type(v[key]) ~= "function" then
        parts[#parts + 1] = (k == "map" and (show(key) .. ":") or "") .. show(v[key], false, depth)
      end
    end
    return (k == "map" and "map[" or "{") .. table.concat(parts, " ") .. (k == "map" and "]" or "}")
  end
  return "<" .. t .. ">"
end
M.show = function(v) return show(v, true) end

-- A copy fit for JSON: no functions (a struct's methods), nil as null.
local function plain(v, depth)
  depth = depth or 0
  if v == M.nil_list or v == M.nil_map then return json.null end
  if depth > 100 then errors.fail("template: json: value nested too deeply") end
  if type(v) ~= "table" or v == json.null then return v == nil and json.null or v end
  local k = kind(v)
  local out = k == "list" and json.array() or {}
  for key, x in pairs(v) do
    if type(x) ~= "function" then out[key] = plain(x, depth + 1) end
  end
  return out
end

-- Positions and errors ----------------------------------------------------------------

local function position(src, pos)
  local line, last = 1, 0
  local i = 1
  while true do
    local nl = src:find("\n", i, true)
    if not nl or nl >= pos then break end
    line = line + 1
    last = nl
    i = nl + 1
  end
  return line, pos - last - 1
end

local function parse_error(src, pos, msg)
  local line, col = position(src, pos)
  errors.fail(("template: :%d:%d: %s"):format(line, col, msg))
end

-- Lexing: the template becomes text items and action items (lists of tokens) --------

local keywords = { ["if"] = true, ["else"] = true, ["end"] = true, range = true, with = true,
                   ["break"] = true, continue = true, define = true, template = true, block = true }

local escapes = { a = "\a", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", v = "\v",
                  ["\\"] = "\\", ["'"] = "'", ['"'] = '"' }

-- A Go quoted string or character starting at i (the quote); its value and the index after it.
local function lex_quoted(src, i, q)
  local out, j = {}, i + 1
  while true do
    local c = src:sub(j, j)
    if c == "" or c == "\n" then
      parse_error(src, i, q == '"' and "unterminated quoted string" or "unterminated character constant")
    end
    if c == q then return table.concat(out), j + 1 end
    if c == "\\" then
      local e = src:sub(j + 1, j + 1)
      if escapes[e] then
        out[#out + 1] = escapes[e]; j = j + 2
      elseif e == "x" and src:find("^%x%x", j + 2) then
        out[#out + 1] = string.char(tonumber(src:sub(j + 2, j + 3), 16)); j = j + 4
      elseif e:find("^[0-7]") and src:find("^[0-7][0-7][0-7]", j + 1) then
        local n = tonumber(src:sub(j + 1, j + 3), 8)
        if n > 255 then parse_error(src, i, "invalid syntax in quoted string") end
        out[#out + 1] = string.char(n); j = j + 4
      elseif (e == "u" and src:find("^%x%x%x%x", j + 2)) or (e == "U" and src:find("^%x%x%x%x%x%x%x%x", j + 2)) then
        local len = e == "u" and 4 or 8
        local cp = tonumber(src:sub(j + 2, j + 1 + len), 16)
        if cp > 0x10FFFF or (cp >= 0xD800 and cp < 0xE000) then parse_error(src, i, "invalid syntax in quoted string") end
        out[#out + 1] = utf8.char(cp); j = j + 2 + len
      else
        parse_error(src, i, "invalid syntax in quoted string")
      end
    else
      out[#out + 1] = c; j = j + 1
    end
  end
end

local function lex_number(src, i)
  local j = i
  local hex = src:find("^[+-]?0[xX]", i) ~= nil
  if src:find("^[+-]", j) then j = j + 1 end
  while true do
    local c = src:sub(j, j)
    if c:find("^[%w_.]$") then
      j = j + 1
      if ((not hex and c:find("^[eE]$")) or (hex and c:find("^[pP]$"))) and src:find("^[+-]", j) then
        j = j + 1
      end
    else break end
  end
  local text = src:sub(i, j - 1)
  local s = text:gsub("_", "")
  local sign, body = s:match("^([+-]?)(.*)$")
  local v
  if body:find("^0[oO][0-7]+$") then v = tonumber(body:sub(3), 8)
  elseif body:find("^0[bB][01]+$") then v = tonumber(body:sub(3), 2)
  elseif body:find("^0[xX]%x+$") then v = math.tointeger(tonumber(body))
  elseif body:find("^%d+$") then
    v = math.tointeger(tonumber(body))
    if not v then v = tonumber(body) end
  elseif body:find("^[%d.]") or body:find("^0[xX]") then
    v = tonumber(body)
    if v and body:find("^0[xX]") and not body:find("[pP]") and body:find("%.") then v = nil end
  end
  if v == nil or text:find("__") or text:find("_$") then parse_error(src, i, ("bad number syntax: %q"):format(text)) end
  if sign == "-" then v = -v end
  return v, j
end

-- The tokens of the action starting after "{{" (and its trim marker) at i. Returns the
-- tokens, the index after "}}", and whether the action ends with "-}}".
local function lex_action(src, i, start)
  local toks = {}
  local function add(t, v, p, e, sp) toks[#toks + 1] = { t = t, v = v, pos = p, stop = e, sp = sp } end
  local sp = true
  while true do
    local ws = src:match("^[ \t\r\n]+", i)
    if ws then i = i + #ws; sp = true end
    if sp and src:sub(i, i + 2) == "-}}" and ws then return toks, i + 3, true end
    if src:sub(i, i + 1) == "}}" then return toks, i + 2, false end
    local c = src:sub(i, i)
    if c == "" then parse_error(src, start, "unclosed action") end
    local p = i
    if c == "|" then add("pipe", nil, p, p, sp); i = i + 1
    elseif c == "(" then add("(", nil, p, p, sp); i = i + 1
    elseif c == ")" then add(")", nil, p, p, sp); i = i + 1
    elseif c == "," then add(",", nil, p, p, sp); i = i + 1
    elseif c == ":" then
      if src:sub(i + 1, i + 1) ~= "=" then parse_error(src, p, "expected :=") end
      add(":=", nil, p, p + 1, sp); i = i + 2
    elseif c == "=" then add("=", nil, p, p, sp); i = i + 1
    elseif c == '"' then
      local v; v, i = lex_quoted(src, i, '"'); add("string", v, p, i - 1, sp)
    elseif c == "'" then
      local v; v, i = lex_quoted(src, i, "'")
      if utf8.len(v) ~= 1 then parse_error(src, p, "malformed character constant") end
      add("number", utf8.codepoint(v), p, i - 1, sp)
    elseif c == "`" then
      local close = src:find("`", i + 1, true)
      if not close then parse_error(src, p, "unterminated raw quoted string") end
      add("string", src:sub(i + 1, close - 1), p, close, sp); i = close + 1
    elseif c == "$" then
      local name = src:match("^%$[%w_]*", i)
      i = i + #name
      local chain = {}
      while true do
        local f = src:match("^%.([%a_][%w_]*)", i)
        if not f then break end
        chain[#chain + 1] = f; i = i + 1 + #f
      end
      add("var", name, p, i - 1, sp); toks[#toks].chain = chain
    elseif c == "." and src:find("^%.%d", i) then
      local v; v, i = lex_number(src, i); add("number", v, p, i - 1, sp)
    elseif c == "." then
      local chain = {}
      while true do
        local f = src:match("^%.([%a_][%w_]*)", i)
        if not f then break end
        chain[#chain + 1] = f; i = i + 1 + #f
      end
      if #chain == 0 then
        i = i + 1
        if src:find("^[%w_.]", i) then parse_error(src, p, "bad character after .") end
        add("dot", nil, p, p, sp)
      else
        add("field", chain, p, i - 1, sp)
      end
    elseif c:find("[%d+-]") then
      local v; v, i = lex_number(src, i); add("number", v, p, i - 1, sp)
    elseif c:find("[%a_]") then
      local word = src:match("^[%a_][%w_]*", i)
      i = i + #word
      if word == "true" or word == "false" then add("bool", word == "true", p, i - 1, sp)
      elseif word == "nil" then add("nil", nil, p, i - 1, sp)
      elseif keywords[word] then add("keyword", word, p, i - 1, sp)
      else add("ident", word, p, i - 1, sp) end
    else
      local ok, cp = pcall(utf8.codepoint, src, i, i, true)
      if not ok then cp = c:byte() end
      parse_error(src, p, ("unrecognized character in action: U+%04X %s"):format(cp,
        cp >= 32 and cp < 127 and ("'" .. c .. "'") or ("%q"):format(utf8.char(cp))))
    end
    sp = false
  end
end

-- The items of a template: { kind = "text", s } and { kind = "action", toks, pos, stop }.
local function lex(src)
  local items, i = {}, 1
  while true do
    local open = src:find("{{", i, true)
    local text = src:sub(i, (open or #src + 1) - 1)
    if text ~= "" then items[#items + 1] = { kind = "text", s = text, pos = i } end
    if not open then break end
    local j = open + 2
    if src:find("^%-[ \t\r\n]", j) then
      j = j + 2
      local last = items[#items]
      if last and last.kind == "text" then
        last.s = last.s:gsub("[ \t\r\n]+$", "")
      end
    end
    local trim_right
    if src:sub(j, j + 1) == "/*" then
      local cend = src:find("*/", j + 2, true)
      if not cend then parse_error(src, open, "unclosed comment") end
      local k = cend + 2
      if src:find("^[ \t\r\n]+%-}}", k) then
        trim_right = true
        k = src:find("-}}", k, true) + 3
      elseif src:sub(k, k + 1) == "}}" then
        k = k + 2
      else
        parse_error(src, open, "comment ends before closing delimiter")
      end
      i = k
    else
      local toks
      toks, i, trim_right = lex_action(src, j, open)
      items[#items + 1] = { kind = "action", toks = toks, pos = open, stop = i - 1 }
    end
    if trim_right then
      local ws = src:match("^[ \t\r\n]*", i)
      i = i + #ws
    end
  end
  return items
end

-- Parsing --------------------------------------------------------------------------

local builtin -- the function table, defined below; parse checks names against it

local Parser = {}
Parser.__index = Parser

function Parser:fail(pos, msg) parse_error(self.src, pos, msg) end

function Parser:declare(name) self.scopes[#self.scopes][name] = true end

function Parser:declared(name)
  for i = #self.scopes, 1, -1 do if self.scopes[i][name] then return true end end
  return false
end

function Parser:enter(pos)
  self.depth = self.depth + 1
  if self.depth > MAX_DEPTH then self:fail(pos, ("nesting too deep (over %d levels)"):format(MAX_DEPTH)) end
end

-- Token stream of one action.
local Stream = {}
Stream.__index = Stream
local function stream(toks, item) return setmetatable({ toks = toks, i = 1, item = item }, Stream) end
function Stream:peek(k) return self.toks[self.i + (k or 0)] end
function Stream:next() local t = self.toks[self.i]; self.i = self.i + 1; return t end
function Stream:endpos() return self.item.stop - 1 end

local function describe(t)
  if not t then return "end of action" end
  if t.t == "keyword" or t.t == "ident" then return ("%q"):format(t.v) end
  if t.t == "pipe" then return '"|"' end
  if t.t == "string" then return "quoted string" end
  if t.t == "var" then return ("variable %q"):format(t.v) end
  if t.t == "field" then return "field ." .. table.concat(t.v, ".") end
  return ("%q"):format(t.t)
end

-- operand := term [.Field...]
function Parser:operand(s)
  local t = s:next()
  local node
  if t.t == "dot" then node = { t = "dot", pos = t.pos, stop = t.stop }
  elseif t.t == "field" then node = { t = "field", chain = t.v, pos = t.pos, stop = t.stop }
  elseif t.t == "var" then
    if not self:declared(t.v) then self:fail(t.pos, ("undefined variable %q"):format(t.v)) end
    node = { t = "var", name = t.v, chain = t.chain, pos = t.pos, stop = t.stop }
  elseif t.t == "ident" then
    if builtin[t.v] == nil and not (self.funcs and self.funcs[t.v]) then
      self:fail(t.pos, ("function %q not defined"):format(t.v))
    end
    node = { t = "ident", name = t.v, pos = t.pos, stop = t.stop }
  elseif t.t == "string" or t.t == "number" or t.t == "bool" then node = { t = "lit", v = t.v, pos = t.pos, stop = t.stop }
  elseif t.t == "nil" then node = { t = "nil", pos = t.pos, stop = t.stop }
  elseif t.t == "(" then
    self:enter(t.pos)
    local pipe = self:pipeline(s, "parenthesized pipeline", false, ")")
    local close = s:next()
    if not close or close.t ~= ")" then self:fail(t.pos, "unclosed left paren") end
    self.depth = self.depth - 1
    node = { t = "paren", pipe = pipe, pos = t.pos, stop = close.stop }
  else
    self:fail(t.pos, ("unexpected %s in operand"):format(describe(t)))
  end
  -- A field chain right after the term: (.X).Y, $x.Y (already in the var token).
  local nxt = s:peek()
  if nxt and nxt.t == "field" and not nxt.sp then
    if node.t == "field" or node.t == "var" or node.t == "paren" or node.t == "dot" then
      s:next()
      local chain = {}
      for _, f in ipairs(node.chain or {}) do chain[#chain + 1] = f end
      for _, f in ipairs(nxt.v) do chain[#chain + 1] = f end
      if node.t == "dot" then node = { t = "field", pos = node.pos } end
      node.chain = chain
      node.stop = nxt.stop
    else
      self:fail(nxt.pos, "unexpected . after term " .. describe(t))
    end
  end
  return node
end

-- command := operand {space operand}
function Parser:command(s, close)
  local cmd = { args = {}, pos = (s:peek() or {}).pos }
  while true do
    local t = s:peek()
    if not t or t.t == "pipe" or (close and t.t == close) then break end
    if #cmd.args > 0 and not t.sp and t.t ~= "(" then
      self:fail(t.pos, ("unexpected %s in operand"):format(describe(t)))
    end
    if t.t == "keyword" or t.t == "," or t.t == ":=" or t.t == "=" or t.t == ")" then
      self:fail(t.pos, ("unexpected %s in command"):format(describe(t)))
    end
    cmd.args[#cmd.args + 1] = self:operand(s)
  end
  if #cmd.args == 0 then
    self:fail(cmd.pos or s:endpos(), "missing value for command")
  end
  cmd.stop = cmd.args[#cmd.args].stop
  if cmd.args[1].t == "nil" and #cmd.args == 1 then self:fail(cmd.pos, "nil is not a command") end
  return cmd
end

-- pipeline := [decl] command {'|' command}
function Parser:pipeline(s, context, allow_range_decl, close)
  local pipe = { cmds = {}, pos = (s:peek() or { pos = s:endpos() }).pos }
  local a, b, c, d = s:peek(), s:peek(1), s:peek(2), s:peek(3)
  if a and a.t == "var" and #a.chain == 0 and b and (b.t == ":=" or b.t == "=") then
    pipe.decl = { a.v }; pipe.assign = b.t == "="
    s.i = s.i + 2
  elseif a and a.t == "var" and #a.chain == 0 and b and b.t == "," then
    if not allow_range_decl then self:fail(b.pos, "too many declarations in " .. context) end
    if not (c and c.t == "var" and #c.chain == 0 and d and (d.t == ":=" or d.t == "=")) then
      self:fail(b.pos, "too many declarations in " .. context)
    end
    pipe.decl = { a.v, c.v }; pipe.assign = d.t == "="
    s.i = s.i + 4
  end
  if pipe.decl then
    for _, name in ipairs(pipe.decl) do
      if pipe.assign then
        if not self:declared(name) then self:fail(pipe.pos, ("undefined variable %q"):format(name)) end
      else
        pipe.declare_later = true
      end
    end
  end
  while true do
    local t = s:peek()
    if not t or (close and t.t == close) then
      if #pipe.cmds == 0 then self:fail(t and t.pos or s:endpos(), "missing value for " .. context) end
      break
    end
    if t.t == "pipe" then
      if #pipe.cmds == 0 then self:fail(t.pos, ("unexpected %s in %s"):format(describe(t), context)) end
      s:next()
      local after = s:peek()
      if not after or (close and after.t == close) or after.t == "pipe" then
        self:fail(t.pos, "missing command after |")
      end
    end
    local cmd = self:command(s, close)
    if #pipe.cmds > 0 then
      local first = cmd.args[1]
      if first.t == "lit" or first.t == "nil" or first.t == "dot" then
        self:fail(first.pos, ("non executable command in pipeline stage %d"):format(#pipe.cmds + 1))
      end
    end
    pipe.cmds[#pipe.cmds + 1] = cmd
  end
  pipe.stop = pipe.cmds[#pipe.cmds].stop
  if pipe.declare_later then
    for _, name in ipairs(pipe.decl) do self:declare(name) end
  end
  return pipe
end

-- The pipeline of an action whose first token (a keyword) is already read.
function Parser:action_pipe(item, from, context, allow_range_decl)
  local s = stream(item.toks, item)
  s.i = from
  local pipe = self:pipeline(s, context, allow_range_decl)
  if s:peek() then self:fail(s:peek().pos, ("unexpected %s in %s"):format(describe(s:peek()), context)) end
  return pipe
end

-- if / with / range: `item` is the opening action, `from` the index of its pipeline.
function Parser:control(kw, item, from)
  self:enter(item.pos)
  self.scopes[#self.scopes + 1] = {}
  local node = { t = kw, pos = item.pos }
  node.pipe = self:action_pipe(item, from, kw, kw == "range")
  node.pipe.range_decl = kw == "range" or nil
  if kw == "range" then self.ranges = self.ranges + 1 end
  local stop
  node.list, stop = self:list()
  if kw == "range" then self.ranges = self.ranges - 1 end
  if not stop then self:fail(#self.src + 1, "unexpected EOF") end
  local skw = stop.toks[1].v
  if skw == "else" then
    local second = stop.toks[2]
    if second and second.t == "keyword" and ((kw == "if" and second.v == "if") or (kw == "with" and second.v == "with")) then
      -- {{else if x}}: an if in the else branch that shares this {{end}}.
      node.elselist = { self:control(second.v, stop, 3) }
    else
      if second then self:fail(second.pos, ("unexpected %s in else"):format(describe(second))) end
      local stop2
      node.elselist, stop2 = self:list()
      if not stop2 then self:fail(#self.src + 1, "unexpected EOF") end
      if stop2.toks[1].v ~= "end" then self:fail(stop2.pos, "expected end; found {{else}}") end
      if stop2.toks[2] then self:fail(stop2.toks[2].pos, ("unexpected %s in end"):format(describe(stop2.toks[2]))) end
    end
  elseif stop.toks[2] then
    self:fail(stop.toks[2].pos, ("unexpected %s in end"):format(describe(stop.toks[2])))
  end
  table.remove(self.scopes)
  self.depth = self.depth - 1
  return node
end

-- Nodes up to an {{end}} or {{else}} (returned as the second value) or the end of input.
function Parser:list()
  local nodes = {}
  while true do
    local item = self.items[self.pos]
    if not item then return nodes, nil end
    self.pos = self.pos + 1
    if item.kind == "text" then
      nodes[#nodes + 1] = { t = "text", s = item.s }
    else
      local first = item.toks[1]
      if not first then self:fail(item.pos, "missing value for command") end
      if first.t == "keyword" then
        local kw = first.v
        if kw == "end" or kw == "else" then return nodes, item
        elseif kw == "if" or kw == "with" or kw == "range" then
          nodes[#nodes + 1] = self:control(kw, item, 2)
        elseif kw == "break" or kw == "continue" then
          if self.ranges == 0 then self:fail(first.pos, ("{{%s}} outside {{range}}"):format(kw)) end
          if item.toks[2] then self:fail(item.toks[2].pos, ("unexpected %s in {{%s}}"):format(describe(item.toks[2]), kw)) end
          nodes[#nodes + 1] = { t = kw }
        else
          self:fail(first.pos, ("{{%s}} is not supported"):format(kw))
        end
      else
        local s = stream(item.toks, item)
        local pipe = self:pipeline(s, "command", false)
        if s:peek() then self:fail(s:peek().pos, ("unexpected %s in command"):format(describe(s:peek()))) end
        nodes[#nodes + 1] = { t = "action", pipe = pipe, pos = item.pos }
      end
    end
  end
end

-- Execution ------------------------------------------------------------------------

local Template = {}
Template.__index = Template

local function exec_error(st, node, msg)
  local line, col = position(st.src, node.pos)
  local text = st.src:sub(node.pos, node.stop or node.pos):gsub("\n", " ")
  if #text > 40 then text = text:sub(1, 37) .. "..." end
  errors.fail(("template: :%d:%d: executing \"\" at <%s>: %s"):format(line, col, text, msg))
end

local function lookup_var(st, name)
  for i = #st.vars, 1, -1 do
    if st.vars[i][1] == name then return st.vars[i][2] end
  end
  return nil
end

local function set_var(st, name, v)
  for i = #st.vars, 1, -1 do
    if st.vars[i][1] == name then st.vars[i][2] = v; return end
  end
end

local eval_pipe

-- Looks up `name` in `recv`. A function value is a method: called with `args`.
local function field(st, node, recv, name, args)
  if recv == nil or recv == json.null then
    return nil
  end
  if type(recv) ~= "table" then
    exec_error(st, node, ("can't evaluate field %s in type %s"):format(name, gotype(recv)))
  end
  local k, fields = kind(recv)
  if k == "list" then
    exec_error(st, node, ("can't evaluate field %s in type %s"):format(name, gotype(recv)))
  end
  local v = recv[name]
  if type(v) == "function" then
    local ok, r = pcall(v, table.unpack(args or {}))
    if not ok then exec_error(st, node, ("error calling %s: %s"):format(name, errors.message(r))) end
    return r
  end
  if args and #args > 0 then
    exec_error(st, node, ("%s is not a method but has arguments"):format(name))
  end
  if v == nil and k == "struct" then
    local zero = fields and fields[name]
    if zero == nil then exec_error(st, node, ("can't evaluate field %s"):format(name)) end
    if zero ~= true then v = zero end
  end
  if type(v) == "table" and M.map_fields[name] and marks[v] == nil and not json.is_array(v) then
    marks[v] = "map"
  end
  return v
end

local function chain(st, node, recv, names, args)
  for i, name in ipairs(names) do
    recv = field(st, node, recv, name, i == #names and args or nil)
  end
  return recv
end

local call_function

-- The value of an operand used as an argument.
local function eval_arg(st, dot, node)
  local t = node.t
  if t == "lit" then return node.v
  elseif t == "nil" then return nil
  elseif t == "dot" then return dot
  elseif t == "field" then return chain(st, node, dot, node.chain)
  elseif t == "var" then return chain(st, node, lookup_var(st, node.name), node.chain)
  elseif t == "paren" then
    local v = eval_pipe(st, dot, node.pipe)
    if node.chain then v = chain(st, node, v, node.chain) end
    return v
  elseif t == "ident" then return call_function(st, dot, { args = { node }, pos = node.pos, stop = node.stop }, {})
  end
  error("template: unknown node " .. tostring(t))
end

function call_function(st, dot, cmd, extra)
  local name = cmd.args[1].name
  local fn = (st.funcs and st.funcs[name]) or builtin[name]
  local argnodes = {}
  for i = 2, #cmd.args do argnodes[#argnodes + 1] = cmd.args[i] end
  if name == "and" or name == "or" then
    -- Go evaluates these lazily: the first false (and) or true (or) argument, or the last.
    local n = #argnodes + #extra
    if n == 0 then exec_error(st, cmd, ("wrong number of args for %s: want at least 1 got 0"):format(name)) end
    local v
    for i = 1, n do
      if i <= #argnodes then v = eval_arg(st, dot, argnodes[i]) else v = extra[i - #argnodes] end
      if (name == "and") ~= truth(v) then return v end
    end
    return v
  end
  local args, n = {}, 0
  for _, a in ipairs(argnodes) do n = n + 1; args[n] = eval_arg(st, dot, a) end
  for i = 1, #extra do n = n + 1; args[n] = extra[i] end
  local ok, r = pcall(fn, n, table.unpack(args, 1, n))
  if not ok then
    if errors.is(r) then error(r, 0) end
    exec_error(st, cmd, (r:find("^wrong number") and "" or ("error calling " .. name .. ": ")) .. tostring(r))
  end
  return r
end

local function eval_cmd(st, dot, cmd, final, has_final)
  local first = cmd.args[1]
  local extra = has_final and { final } or {}
  if first.t == "ident" then return call_function(st, dot, cmd, extra) end
  if first.t == "field" or ((first.t == "var" or first.t == "paren") and first.chain and #first.chain > 0) then
    local args = {}
    for i = 2, #cmd.args do args[#args + 1] = eval_arg(st, dot, cmd.args[i]) end
    if has_final then args[#args + 1] = final end
    local recv
    if first.t == "field" then recv = dot
    elseif first.t == "var" then recv = lookup_var(st, first.name)
    else recv = eval_pipe(st, dot, first.pipe) end
    return chain(st, first, recv, first.chain, args)
  end
  if #cmd.args > 1 or has_final then
    exec_error(st, first, "can't give argument to non-function " .. st.src:sub(first.pos, first.stop))
  end
  return eval_arg(st, dot, first)
end

function eval_pipe(st, dot, pipe)
  local v, has = nil, false
  for _, cmd in ipairs(pipe.cmds) do
    v = eval_cmd(st, dot, cmd, v, has)
    has = true
  end
  if pipe.decl and not pipe.range_decl then
    if pipe.assign then set_var(st, pipe.decl[1], v)
    else st.vars[#st.vars + 1] = { pipe.decl[1], v } end
  end
  return v
end

local function emit(st, s)
  st.n = st.n + 1
  st.out[st.n] = s
  st.size = st.size + #s
  if st.size > st.limit then errors.fail(("template: output larger than %d bytes"):format(st.limit)) end
end

local walk

-- What range goes over: the number of items and a function of the item number (from 1)
-- returning the key (or index) and the value. Lazy, so that `range 1000000000` costs no
-- memory.
local function range_items(st, node, v)
  if v == nil or v == json.null then return 0 end
  if math.type(v) == "integer" then
    return math.max(v, 0), function(i) return i - 1, i - 1 end
  end
  if type(v) ~= "table" then exec_error(st, node.pipe, ("range can't iterate over %s"):format(show(v, true))) end
  local k = kind(v)
  if k == "list" then
    return #v, function(i) return i - 1, v[i] end
  elseif k == "map" then
    local keys = sorted_keys(v)
    return #keys, function(i) return keys[i], v[keys[i]] end
  end
  exec_error(st, node.pipe, ("range can't iterate over %s"):format(show(v, true)))
end

function walk(st, dot, list)
  for _, node in ipairs(list) do
    local t = node.t
    if t == "text" then emit(st, node.s)
    elseif t == "action" then
      local v = eval_pipe(st, dot, node.pipe)
      if not node.pipe.decl then emit(st, show(v, true)) end
    elseif t == "if" or t == "with" then
      local mark = #st.vars
      local v = eval_pipe(st, dot, node.pipe)
      local signal
      if truth(v) then
        signal = walk(st, t == "with" and v or dot, node.list)
      elseif node.elselist then
        signal = walk(st, dot, node.elselist)
      end
      for i = #st.vars, mark + 1, -1 do st.vars[i] = nil end
      if signal then return signal end
    elseif t == "range" then
      local mark = #st.vars
      local pipe = node.pipe
      local v = eval_pipe(st, dot, pipe)
      local n, item = range_items(st, node, v)
      if n == 0 then
        if node.elselist then
          local signal = walk(st, dot, node.elselist)
          for i = #st.vars, mark + 1, -1 do st.vars[i] = nil end
          if signal then return signal end
        end
      else
        for i = 1, n do
          local key, value = item(i)
          local inner = #st.vars
          if pipe.decl then
            if #pipe.decl == 2 then
              if pipe.assign then set_var(st, pipe.decl[1], key); set_var(st, pipe.decl[2], value)
              else st.vars[#st.vars + 1] = { pipe.decl[1], key }; st.vars[#st.vars + 1] = { pipe.decl[2], value } end
            else
              if pipe.assign then set_var(st, pipe.decl[1], value)
              else st.vars[#st.vars + 1] = { pipe.decl[1], value } end
            end
          end
          local signal = walk(st, value, node.list)
          for i = #st.vars, inner + 1, -1 do st.vars[i] = nil end
          if signal == "break" then break end
        end
      end
      for i = #st.vars, mark + 1, -1 do st.vars[i] = nil end
    elseif t == "break" or t == "continue" then
      return t
    end
  end
  return nil
end

-- Parses a template. opts.funcs: extra functions (name -> function(...)); a name there
-- may also replace a built-in one.
function M.parse(src, opts)
  if type(src) ~= "string" then error("template.parse: expected a string, got " .. type(src), 2) end
  opts = opts or {}
  local p = setmetatable({ src = src, items = lex(src), pos = 1, scopes = { { ["$"] = true } }, ranges = 0,
                           depth = 0, funcs = opts.funcs }, Parser)
  local root, stop = p:list()
  if stop then
    p:fail(stop.toks[1].pos, ("unexpected {{%s}}"):format(stop.toks[1].v))
  end
  return setmetatable({ src = src, root = root, funcs = opts.funcs }, Template)
end

-- Runs the template on `data`; the output as a string. opts.funcs as in parse;
-- opts.partial: on an error, also return the output so far (as the second value of the
-- error, after pcall).
function Template:execute(data, opts)
  opts = opts or {}
  local funcs = self.funcs
  if opts.funcs then
    funcs = {}
    for k, v in pairs(self.funcs or {}) do funcs[k] = v end
    for k, v in pairs(opts.funcs) do funcs[k] = v end
  end
  local st = { src = self.src, vars = { { "$", data } }, funcs = funcs, out = {}, n = 0, size = 0,
               limit = opts.limit or 64 * 1024 * 1024 }
  if opts.partial then
    local ok, err = pcall(walk, st, data, self.root)
    return table.concat(st.out), (not ok) and err or nil
  end
  walk(st, data, self.root)
  return table.concat(st.out)
end

function M.render(src, data, opts)
  return M.parse(src, opts):execute(data, opts)
end

-- Functions ------------------------------------------------------------------------
-- Each gets the number of arguments first (nil arguments count), then the arguments.

local function want(name, n, min, max)
  if n < min or (max and n > max) then
    local w = max == min and tostring(min) or (max and ("%d to %d"):format(min, max) or ("at least %d"):format(min))
    error(("wrong number of args for %s: want %s got %d"):format(name, w, n), 0)
  end
end

local function str(v, what)
  if type(v) == "string" then return v end
  if type(v) == "number" then return show(v) end
  error(("wrong type for value; expected string; got %s"):format(gotype(v)), 0)
end

local function int(v)
  if math.type(v) == "integer" then return v end
  if type(v) == "number" and v == math.floor(v) then return math.tointeger(v) end
  error(("wrong type for value; expected int; got %s"):format(gotype(v)), 0)
end

local function basic(v)
  local t = type(v)
  if v == nil or v == json.null then return "nil" end
  if t == "string" or t == "number" or t == "boolean" then return t end
  return nil
end

local function compare(name, a, b)
  local ka, kb = basic(a), basic(b)
  if not ka or not kb then error("invalid type for comparison", 0) end
  if ka ~= kb then
    if ka == "nil" or kb == "nil" then
      if name == "eq" or name == "ne" then return false end
    end
    error("incompatible types for comparison", 0)
  end
  if ka == "nil" then
    if name == "eq" or name == "ne" then return true end
    error("invalid type for comparison", 0)
  end
  if ka == "boolean" and name ~= "eq" and name ~= "ne" then error("invalid type for comparison", 0) end
  return a == b, (ka ~= "boolean") and a < b
end

local function go_quote(s)
  return '"' .. s:gsub('[%c"\\\127]', function(c)
    local named = { ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
                    ["\t"] = "\\t", ["\v"] = "\\v", ['"'] = '\\"', ["\\"] = "\\\\" }
    return named[c] or ("\\x%02x"):format(c:byte())
  end) .. '"'
end

-- Go's fmt.Sprintf for the verbs templates use: %v %s %q %d %x %X %o %b %c %U %e %E %f
-- %F %g %G %t %%, with flags (+ - # 0 space), width and precision.
local function sprintf(fmt, args)
  local out, argi, i = {}, 1, 1
  local function pad(s, flags, width, numeric)
    if not width then return s end
    local len = utf8.len(s) or #s
    if len >= width then return s end
    if flags:find("-", 1, true) then return s .. (" "):rep(width - len) end
    if numeric and flags:find("0", 1, true) then
      local sign, rest = s:match("^([+-]?)(.*)$")
      return sign .. ("0"):rep(width - len) .. rest
    end
    return (" "):rep(width - len) .. s
  end
  while i <= #fmt do
    local pct = fmt:find("%", i, true)
    if not pct then out[#out + 1] = fmt:sub(i); break end
    out[#out + 1] = fmt:sub(i, pct - 1)
    local flags, width, prec, verb, j
    flags, j = fmt:match("^([-+# 0]*)()", pct + 1)
    width, j = fmt:match("^(%*?%d*)()", j)
    if fmt:sub(j, j) == "." then
      prec, j = fmt:match("^(%*?%d*)()", j + 1)
      if prec == "" then prec = "0" end
    end
    verb = utf8.char(utf8.codepoint(fmt, j) or 37)
    if j > #fmt then verb = "" end
    i = j + #verb
    local function star(x)
      if x == "*" then
        local v = args.n >= argi and args[argi] or nil
        argi = argi + 1
        return math.type(v) == "integer" and v or nil
      end
      return x ~= "" and tonumber(x) or nil
    end
    width = star(width)
    if width and width < 0 then flags = flags .. "-"; width = -width end
    prec = prec and star(prec)
    if (width and width > MAX_WIDTH) or (prec and prec > MAX_WIDTH) then
      error(("printf: width or precision over %d"):format(MAX_WIDTH), 0)
    end
    if verb == "%" then out[#out + 1] = "%"
    elseif verb == "" then out[#out + 1] = "%!(NOVERB)"
    elseif argi > args.n then out[#out + 1] = "%!" .. verb .. "(MISSING)"
    else
      local v = args[argi]; argi = argi + 1
      local s
      local mt = math.type(v)
      local function bad() return "%!" .. verb .. "(" .. gotype(v) .. "=" .. show(v) .. ")" end
      local function signed(n_text, negative)
        if negative then return "-" .. n_text end
        if flags:find("+", 1, true) then return "+" .. n_text end
        if flags:find(" ", 1, true) then return " " .. n_text end
        return n_text
      end
      if verb == "v" then
        s = pad(show(v), flags, width, type(v) == "number")
      elseif verb == "s" then
        s = type(v) == "string" and v or show(v)
        if prec then s = s:sub(1, utf8.offset(s, prec + 1) and utf8.offset(s, prec + 1) - 1 or #s) end
        s = pad(s, flags, width)
      elseif verb == "q" then
        if type(v) == "string" then s = go_quote(v)
        elseif mt == "integer" then s = "'" .. utf8.char(v) .. "'"
        else s = bad() end
        s = pad(s, flags, width)
      elseif verb == "t" then
        s = type(v) == "boolean" and pad(tostring(v), flags, width) or bad()
      elseif verb == "d" or verb == "b" or verb == "o" or ((verb == "x" or verb == "X") and mt == "integer") or verb == "c" or verb == "U" then
        if mt ~= "integer" then s = bad()
        elseif verb == "c" then s = pad(utf8.char(v), flags, width)
        elseif verb == "U" then s = pad(("U+%04X"):format(v), flags, width)
        else
          local a = v < 0 and -v or v
          local digits
          if verb == "d" then digits = ("%d"):format(a)
          elseif verb == "x" then digits = ("%x"):format(a)
          elseif verb == "X" then digits = ("%X"):format(a)
          elseif verb == "o" then digits = ("%o"):format(a)
          else
            local t = {}
            repeat t[#t + 1] = tostring(a % 2); a = a // 2 until a == 0
            digits = table.concat(t):reverse()
          end
          if prec and #digits < prec then digits = ("0"):rep(prec - #digits) .. digits end
          if flags:find("#", 1, true) then
            digits = (verb == "x" and "0x" or verb == "X" and "0X" or verb == "o" and "0" or verb == "b" and "0b" or "") .. digits
          end
          s = pad(signed(digits, v < 0), flags, width, true)
        end
      elseif verb == "x" or verb == "X" then
        if type(v) == "string" then
          s = v:gsub(".", function(c) return (verb == "x" and "%02x" or "%02X"):format(c:byte()) end)
          s = pad(s, flags, width)
        elseif type(v) == "number" then
          s = pad(("%" .. (prec and ("." .. prec) or "") .. (verb == "x" and "a" or "A")):format(v), flags, width, true)
        else s = bad() end
      elseif verb:find("^[eEfFgG]$") then
        if type(v) ~= "number" then s = bad()
        else
          local f = v + 0.0
          local p = prec and math.min(prec, 99)
          local body
          if f ~= f then body = "NaN"
          elseif f == math.huge or f == -math.huge then body = "Inf"
          elseif (verb == "g" or verb == "G") and not p then
            body = float_text(math.abs(f))
            if verb == "G" then body = body:upper() end
          else
            local lv = verb == "F" and "f" or verb
            body = ("%." .. (p or 6) .. lv):format(math.abs(f))
            body = body:gsub("([eE][-+])(%d)$", "%10%2")
          end
          s = pad(signed(body, f < 0 or (f == 0 and 1 / f < 0)), flags, width, body ~= "NaN" and body ~= "Inf")
        end
      else
        s = "%!" .. verb .. "(" .. gotype(v) .. "=" .. show(v) .. ")"
      end
      out[#out + 1] = s
    end
  end
  if argi <= args.n then
    local extra = {}
    for k = argi, args.n do extra[#extra + 1] = gotype(args[k]) .. "=" .. show(args[k]) end
    out[#out + 1] = "%!(EXTRA " .. table.concat(extra, ", ") .. ")"
  end
  return table.concat(out)
end
M.sprintf = function(fmt, ...) return sprintf(fmt, table.pack(...)) end

-- fmt.Sprint: a space between operands when neither is a string.
local function sprint(n, ...)
  local args, out = table.pack(...), {}
  for k = 1, n do
    if k > 1 and type(args[k]) ~= "string" and type(args[k - 1]) ~= "string" then out[#out + 1] = " " end
    out[#out + 1] = show(args[k])
  end
  return table.concat(out)
end

local function title(s)
  return (s:gsub("()([%w_\128-\255]+)", function(_, word)
    return word:sub(1, 1):upper() .. word:sub(2)
  end))
end


builtin = {
  ["and"] = function() end,   -- evaluated lazily in call_function
  ["or"] = function() end,
  ["not"] = function(n, v) want("not", n, 1, 1); return not truth(v) end,
  len = function(n, v)
    want("len", n, 1, 1)
    if type(v) == "string" then return #v end
    if type(v) == "table" and v ~= json.null then
      local count = 0
      for _ in pairs(v) do count = count + 1 end
      return count
    end
    if v == nil or v == json.null then error("len of nil pointer", 0) end
    error("len of type " .. gotype(v), 0)
  end,
  index = function(n, item, ...)
    want("index", n, 1)
    local keys = table.pack(...)
    for k = 1, n - 1 do
      local key = keys[k]
      if item == nil or item == json.null then
        if item == nil then error("index of untyped nil", 0) end
        return nil
      end
      if type(item) == "string" then
        local i = int(key)
        if i < 0 or i >= #item then error(("index out of range: %d"):format(i), 0) end
        item = item:byte(i + 1)
      elseif type(item) == "table" then
        local kd = kind(item)
        if kd == "list" then
          local i = int(key)
          if i < 0 or i >= #item then error(("index out of range: %d"):format(i), 0) end
          item = item[i + 1]
        else
          item = item[key]
        end
      else
        error("can't index item of type " .. gotype(item), 0)
      end
    end
    return item
  end,
  slice = function(n, item, ...)
    want("slice", n, 1, 4)
    local idx = table.pack(...)
    if item == nil then error("slice of untyped nil", 0) end
    local len
    if type(item) == "string" then
      if n == 4 then error("cannot 3-index slice a string", 0) end
      len = #item
    elseif type(item) == "table" then
      if kind(item) ~= "list" then error("can't slice item of type " .. gotype(item), 0) end
      len = #item
    else
      error("can't slice item of type " .. gotype(item), 0)
    end
    local lo, hi = 0, len
    if n >= 2 then lo = int(idx[1]) end
    if n >= 3 then hi = int(idx[2]) end
    if n == 4 then local cap = int(idx[3]); if cap < hi or cap > len then error(("index out of range: %d"):format(cap), 0) end end
    if lo < 0 or lo > len then error(("index out of range: %d"):format(lo), 0) end
    if hi < lo or hi > len then error(("index out of range: %d"):format(hi), 0) end
    if type(item) == "string" then return item:sub(lo + 1, hi) end
    return json.array({ table.unpack(item, lo + 1, hi) })
  end,
  printf = function(n, fmt, ...)
    want("printf", n, 1)
    return sprintf(str(fmt), table.pack(...))
  end,
  print = sprint,
  println = function(n, ...)
    local args, out = table.pack(...), {}
    for k = 1, n do out[k] = show(args[k]) end
    return table.concat(out, " ") .. "\n"
  end,
  eq = function(n, a, ...)
    want("eq", n, 2)
    local rest = table.pack(...)
    for k = 1, n - 1 do
      if compare("eq", a, rest[k]) then return true end
    end
    return false
  end,
  ne = function(n, a, b) want("ne", n, 2, 2); return not compare("ne", a, b) end,
  lt = function(n, a, b) want("lt", n, 2, 2); local _, less = compare("lt", a, b); return less end,
  le = function(n, a, b) want("le", n, 2, 2); local eq, less = compare("le", a, b); return eq or less end,
  gt = function(n, a, b) want("gt", n, 2, 2); local eq, less = compare("gt", a, b); return not eq and not less end,
  ge = function(n, a, b) want("ge", n, 2, 2); local _, less = compare("ge", a, b); return not less end,
  html = function(n, ...)
    return (sprint(n, ...):gsub("[<>&'\"%z]", { ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;",
      ["'"] = "&#39;", ['"'] = "&#34;", ["\0"] = "\u{FFFD}" }))
  end,
  urlquery = function(n, ...)
    return (sprint(n, ...):gsub("[^%w%-_.~ ]", function(c) return ("%%%02X"):format(c:byte()) end):gsub(" ", "+"))
  end,
  -- Docker's functions (docs.docker.com, "Format command and log output").
  json = function(n, v)
    want("json", n, 1, 1)
    return json.encode(plain(v))
  end,
  join = function(n, list, sep)
    want("join", n, 2, 2)
    if type(list) ~= "table" or kind(list) ~= "list" then
      if list == nil or list == json.null then return "" end
      error(("wrong type for value; expected []string; got %s"):format(gotype(list)), 0)
    end
    local parts = {}
    for i = 1, #list do parts[i] = show(list[i]) end
    return table.concat(parts, str(sep))
  end,
  split = function(n, s, sep)
    want("split", n, 2, 2)
    s, sep = str(s), str(sep)
    local out = json.array()
    if sep == "" then
      for _, c in utf8.codes(s) do out[#out + 1] = utf8.char(c) end
      return out
    end
    local i = 1
    while true do
      local a, b = s:find(sep, i, true)
      if not a then out[#out + 1] = s:sub(i); break end
      out[#out + 1] = s:sub(i, a - 1)
      i = b + 1
    end
    return out
  end,
  lower = function(n, s) want("lower", n, 1, 1); return (str(s):lower()) end,
  upper = function(n, s) want("upper", n, 1, 1); return (str(s):upper()) end,
  title = function(n, s) want("title", n, 1, 1); return title(str(s)) end,
  truncate = function(n, s, len)
    want("truncate", n, 2, 2)
    s, len = str(s), int(len)
    if (utf8.len(s) or #s) <= len then return s end
    if len <= 0 then return "" end
    local cut = utf8.offset(s, len + 1)
    return cut and s:sub(1, cut - 1) or s:sub(1, len)
  end,
  pad = function(n, s, before, after)
    want("pad", n, 3, 3)
    before, after = int(before), int(after)
    if before > MAX_WIDTH or after > MAX_WIDTH then error(("pad: over %d spaces"):format(MAX_WIDTH), 0) end
    return (" "):rep(math.max(0, before)) .. str(s) .. (" "):rep(math.max(0, after))
  end,
}

-- The functions a `table` header row is made with: Docker's, as the identity.
M.header_funcs = {}
for _, name in ipairs { "json", "join", "split", "lower", "upper", "title", "truncate", "pad" } do
  M.header_funcs[name] = function(n, v) return v end
end

-- The names of the functions a template can call.
function M.functions()
  local names = {}
  for k in pairs(builtin) do names[#names + 1] = k end
  table.sort(names)
  return names
end

return M
