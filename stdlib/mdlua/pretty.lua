-- Values as a person wants to read them in the REPL: tables laid out with sorted keys,
-- strings quoted, runtime objects through their __tostring.
local M = {}

local keywords = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return then true until while")
    :gmatch("%a+") do keywords[w] = true end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
end

local function sorted_keys(t)
  local keys = {}
  for k in next, t do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function render(v, indent, seen, out, depth)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = ("%q"):format(v):gsub("\\\n", "\\n")
  elseif t ~= "table" then
    out[#out + 1] = tostring(v)
  elseif seen[v] then
    out[#out + 1] = "<cycle: " .. tostring(v) .. ">"
  elseif getmetatable(v) and getmetatable(v).__tostring then
    out[#out + 1] = tostring(v)
  elseif next(v) == nil then
    out[#out + 1] = "{}"
  elseif depth > 8 then
    out[#out + 1] = "{...}"
  else
    seen[v] = true
    local n = #v
    local pad = indent .. "  "
    out[#out + 1] = "{\n"
    for i = 1, n do
      out[#out + 1] = pad
      render(v[i], pad, seen, out, depth + 1)
      out[#out + 1] = ",\n"
    end
    for _, k in ipairs(sorted_keys(v)) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then
        out[#out + 1] = pad
        if is_identifier(k) then out[#out + 1] = k
        else
          out[#out + 1] = "["
          render(k, pad, seen, out, depth + 1)
          out[#out + 1] = "]"
        end
        out[#out + 1] = " = "
        render(v[k], pad, seen, out, depth + 1)
        out[#out + 1] = ",\n"
      end
    end
    out[#out + 1] = indent .. "}"
    seen[v] = nil
  end
end

function M.format(v)
  local out = {}
  render(v, "", {}, out, 0)
  return table.concat(out)
end

return M
