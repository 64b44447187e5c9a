-- The order services start in: levels of the dependency graph, each level's services
-- depending only on earlier levels (so a level's services may start in any order), names
-- sorted within a level. A cycle is an error that names it.
local errors = require "mdlua.errors"

local M = {}

-- `services`: name -> service (model.lua's, with depends_on). `only`: a set of names to
-- start, with what they depend on; nil for all. Returns { {names...}, {names...}, ... }.
function M.levels(services, only)
  local wanted = {}
  local function want(n)
    if wanted[n] then return end
    wanted[n] = true
    for _, d in ipairs(services[n].depends_on) do want(d.service) end
  end
  if only then
    for n in pairs(only) do
      if not services[n] then errors.raise("not_found", ("no such service: %s"):format(n)) end
      want(n)
    end
  else
    for n in pairs(services) do wanted[n] = true end
  end

  -- A depth-first walk finds a cycle and its path.
  local state, path = {}, {}
  local function visit(n)
    if state[n] == "done" then return end
    if state[n] == "active" then
      local from
      for i, p in ipairs(path) do if p == n then from = i end end
      local cycle = { table.unpack(path, from) }
      cycle[#cycle + 1] = n
      errors.raise("invalid_option", "dependency cycle: " .. table.concat(cycle, " -> "))
    end
    state[n] = "active"
    path[#path + 1] = n
    local deps = {}
    for _, d in ipairs(services[n].depends_on) do deps[#deps + 1] = d.service end
    table.sort(deps)
    for _, d in ipairs(deps) do visit(d) end
    path[#path] = nil
    state[n] = "done"
  end
  local names = {}
  for n in pairs(wanted) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do visit(n) end

  local level = {}
  local function depth(n)
    if level[n] then return level[n] end
    local l = 1
    for _, d in ipairs(services[n].depends_on) do l = math.max(l, depth(d.service) + 1) end
    level[n] = l
    return l
  end
  local out = {}
  for _, n in ipairs(names) do
    local l = depth(n)
    out[l] = out[l] or {}
    table.insert(out[l], n)
  end
  return out
end

return M
