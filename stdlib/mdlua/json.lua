-- JSON for Lua values. Decoded arrays carry a marker metatable and JSON null is
-- json.null, so a decoded document encodes back to the same JSON. Objects encode with
-- sorted keys. An empty table encodes as {} unless made with json.array().
local M = {}

local array_mt = { __name = "json.array" }
M.null = setmetatable({}, { __name = "json.null", __tostring = function() return "null" end })

function M.array(t) return setmetatable(t or {}, array_mt) end
function M.is_array(t) return getmetatable(t) == array_mt end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function escape(c) return escapes[c] or ("\\u%04x"):format(c:byte()) end

local function quote(s)
  if not s:find('[%c"\\]') then return '"' .. s .. '"' end   -- most strings: nothing to escape
  return '"' .. s:gsub('[%c"\\]', escape) .. '"'
end

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

local function encode(v, indent, level, out)
  local t = type(v)
  if v == nil or v == M.null then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("cannot encode " .. tostring(v) .. " as JSON") end
    out[#out + 1] = math.type(v) == "integer" and tostring(v)
      or (v == math.floor(v) and v >= -1e15 and v <= 1e15) and ("%d"):format(v) or ("%.17g"):format(v)
  elseif t == "string" then out[#out + 1] = quote(v)
  elseif t == "table" then
    local nl = indent and ("\n" .. indent:rep(level + 1)) or ""
    local close = indent and ("\n" .. indent:rep(level)) or ""
    if M.is_array(v) or is_sequence(v) then
      if #v == 0 then out[#out + 1] = "[]"; return end
      out[#out + 1] = "["
      for i = 1, #v do
        out[#out + 1] = (i > 1 and "," or "") .. nl
        encode(v[i], indent, level + 1, out)
      end
      out[#out + 1] = close .. "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then error("cannot encode a table with a " .. type(k) .. " key as a JSON object") end
        keys[#keys + 1] = k
      end
      if #keys == 0 then out[#out + 1] = "{}"; return end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        out[#out + 1] = (i > 1 and "," or "") .. nl .. quote(k) .. (indent and ": " or ":")
        encode(v[k], indent, level + 1, out)
      end
      out[#out + 1] = close .. "}"
    end
  else
    error("cannot encode a " .. t .. " as JSON")
  end
end

-- The same encoder in C (mdl_json.c), when the host has it: compact output only.
local native = (function()
  local ok, md = pcall(require, "mdlua")
  return ok and type(md) == "table" and md._json and md._json.encode or nil
end)()

-- Encodes a value. opts.indent: a string to indent with (pretty output).
function M.encode(v, opts)
  if native and not (opts and opts.indent) then return native(v, array_mt, M.null) end
  local out = {}
  encode(v, opts and opts.indent, 0, out)
  return table.concat(out)
end

-- Decoding --------------------------------------------------------------------------

local function decode_error(s, pos, what)
  error(("invalid JSON at byte %d: %s"):format(pos, what), 0)
end

local function skip(s, pos) return s:find("[^ \t\r\n]", pos) or #s + 1 end

local decode_value

local function decode_string(s, pos)
  local out, i = {}, pos + 1
  while true do
    local j = s:find('["\\]', i)
    if not j then decode_error(s, pos, "unterminated string") end
    out[#out + 1] = s:sub(i, j - 1)
    if s:sub(j, j) == '"' then return table.concat(out), j + 1 end
    local e = s:sub(j + 1, j + 1)
    if e == "u" then
      local hex = s:sub(j + 2, j + 5)
      if not hex:match("^%x%x%x%x$") then decode_error(s, j, "invalid \\u escape") end
      local cp = tonumber(hex, 16)
      local nexti = j + 6
      if cp >= 0xD800 and cp < 0xDC00 and s:sub(nexti, nexti + 1) == "\\u" then
        local low = tonumber(s:sub(nexti + 2, nexti + 5), 16)
        if low and low >= 0xDC00 and low < 0xE000 then
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
          nexti = nexti + 6
        end
      end
      out[#out + 1] = utf8.char(cp)
      i = nexti
    else
      local map = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
      if not map[e] then decode_error(s, j, "invalid escape") end
      out[#out + 1] = map[e]
      i = j + 2
    end
  end
end

function decode_value(s, pos, depth)
  if depth > 500 then decode_error(s, pos, "nested too deeply") end
  pos = skip(s, pos)
  local c = s:sub(pos, pos)
  if c == "{" then
    local obj = {}
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "}" then return obj, pos + 1 end
    while true do
      pos = skip(s, pos)
      if s:sub(pos, pos) ~= '"' then decode_error(s, pos, "expected a key") end
      local k
      k, pos = decode_string(s, pos)
      pos = skip(s, pos)
      if s:sub(pos, pos) ~= ":" then decode_error(s, pos, "expected :") end
      obj[k], pos = decode_value(s, pos + 1, depth + 1)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "}" then return obj, pos + 1 end
      if d ~= "," then decode_error(s, pos, "expected , or }") end
      pos = pos + 1
    end
  elseif c == "[" then
    local arr = M.array()
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "]" then return arr, pos + 1 end
    while true do
      arr[#arr + 1], pos = decode_value(s, pos, depth + 1)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "]" then return arr, pos + 1 end
      if d ~= "," then decode_error(s, pos, "expected , or ]") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(s, pos)
  elseif s:sub(pos, pos + 3) == "true" then return true, pos + 4
  elseif s:sub(pos, pos + 4) == "false" then return false, pos + 5
  elseif s:sub(pos, pos + 3) == "null" then return M.null, pos + 4
  else
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if not num or num == "" or num == "-" then decode_error(s, pos, "unexpected character") end
    return math.tointeger(tonumber(num)) or tonumber(num), pos + #num
  end
end

function M.decode(s)
  local v, pos = decode_value(s, 1, 0)
  pos = skip(s, pos)
  if pos <= #s then decode_error(s, pos, "unexpected data after the value") end
  return v
end

return M
