-- YAML: M.decode (libyaml, Sources/CLuaGlue/mdl_yaml.c; nulls as M.null) and M.encode, a
-- block-style writer for what mdlua writes (Kubernetes manifests): maps with sorted keys
-- (`order` puts some first), lists, and scalars; a string is quoted whenever a plain one
-- could read back as something else.
local md = require "mdlua"

local M = {}

M.null = setmetatable({}, { __name = "yaml.null", __tostring = function() return "null" end })

function M.decode(text) return md._yaml.decode(text, M.null) end

local function is_list(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n > 0 and n == #t
end

local plain_unsafe = {
  ["true"] = true, ["false"] = true, ["null"] = true, ["~"] = true, ["yes"] = true, ["no"] = true,
  ["on"] = true, ["off"] = true, ["y"] = true, ["n"] = true,
}

local function scalar(v)
  if v == M.null or v == nil then return "null" end
  if type(v) == "boolean" then return tostring(v) end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return ("%.17g"):format(v) end
  local s = tostring(v)
  if s == "" or plain_unsafe[s:lower()] or s:match("^[%d%.%+%-]") or s:match("^[%s%-%?:,%[%]{}#&%*!|>'\"%%@`]")
     or s:find(": ", 1, true) or s:find(" #", 1, true) or s:match("[%s:]$") or s:find("[%c]") then
    return (require("mdlua.json").encode(s))
  end
  return s
end

local function sorted_keys(t, order)
  local rank = {}
  for i, k in ipairs(order or {}) do rank[k] = i end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ra, rb = rank[a] or math.huge, rank[b] or math.huge
    if ra ~= rb then return ra < rb end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function emit(v, indent, out, order)
  local pad = ("  "):rep(indent)
  if type(v) ~= "table" or v == M.null then
    out[#out + 1] = " " .. scalar(v) .. "\n"
  elseif next(v) == nil then
    out[#out + 1] = (getmetatable(v) and getmetatable(v).__name == "json.array") and " []\n" or " {}\n"
  elseif is_list(v) then
    out[#out + 1] = "\n"
    for _, x in ipairs(v) do
      if type(x) == "table" and x ~= M.null and next(x) ~= nil and not is_list(x) then
        -- "- key: value" with the rest of the map under it.
        local keys = sorted_keys(x, order)
        for i, k in ipairs(keys) do
          out[#out + 1] = (i == 1 and (pad .. "- ") or (pad .. "  ")) .. scalar(k) .. ":"
          emit(x[k], indent + 2, out, order)
        end
      else
        out[#out + 1] = pad .. "-"
        emit(x, indent + 1, out, order)
      end
    end
  else
    out[#out + 1] = "\n"
    for _, k in ipairs(sorted_keys(v, order)) do
      out[#out + 1] = pad .. scalar(k) .. ":"
      emit(v[k], indent + 1, out, order)
    end
  end
end

-- One document. `order`: keys written first, in this order, wherever they appear.
function M.encode(v, order)
  local out = {}
  if type(v) == "table" and v ~= M.null and next(v) ~= nil then
    emit(v, 0, out, order)
    local s = table.concat(out)
    return (s:gsub("^\n", ""))
  end
  emit(v, 0, out, order)
  return (table.concat(out):gsub("^ ", ""))
end

return M
