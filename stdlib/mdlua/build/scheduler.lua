-- Stages in parallel: the executor sees the whole graph before anything runs (a stage
-- depends on the stages it copies or mounts from), and builds every stage of it in a
-- coroutine of its own. One Lua thread runs them in turns; what runs at the same time is
-- what takes the time, the RUN steps' containers: a RUN that has company starts its
-- container in the background and yields until it exits, so the other stages go on
-- meanwhile (alone, it runs in the foreground, as before). A stage that needs another
-- yields until that one is built; two stages that reach the same step (a Dockerfile's
-- `FROM builder` repeats builder's steps) run it once: the second waits for the first's
-- image. The first error cancels the other stages: each is resumed with "cancel", so the
-- cleanup of its step (the container removed, mounts undone) runs before the error is
-- raised.
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}

local function stage_of(v)
  local mt = getmetatable(v)
  return mt and mt.__name == "mdlua.build.stage" and v or nil
end

-- The stages `target` needs, dependencies first, each once (by identity).
function M.graph(target)
  local order, seen = {}, {}
  local function visit(s)
    if seen[s] then return end
    seen[s] = true
    for _, step in ipairs(s.steps) do
      if step.kind == "copy" and stage_of(step.from) then visit(step.from) end
      for _, m in ipairs(step.mounts or {}) do
        if m.type == "bind" and stage_of(m.from) then visit(m.from) end
      end
    end
    order[#order + 1] = s
  end
  visit(target)
  return order
end

-- The task running now, or nil outside a scheduler's coroutines.
local function current(o)
  local s = o.scheduler
  if not s then return nil end
  local co = coroutine.running()
  return s, s.by_co[co]
end

-- Yields the running task until `ready()` is true; a "cancel" ends it with an error.
local function wait(task, why, ready)
  task.waiting, task.ready = why, ready
  local signal = coroutine.yield()
  task.waiting, task.ready = nil, nil
  if signal == "cancel" then error(errors.new("cancelled", "cancelled: another stage failed", 1), 0) end
end

local function spawn(s, stage, o)
  local task = { stage = stage }
  task.co = coroutine.create(function() return s.build_stage(stage, o) end)
  s.by_co[task.co] = task
  s.by_stage[stage] = task
  s.tasks[#s.tasks + 1] = task
end

-- Inside a task: waits until `stage` is built (by its own task, started now if the graph
-- did not have it); returns its state.
function M.await(o, stage)
  local s, task = current(o)
  if not task then return nil end
  if not o.built[stage] and not s.by_stage[stage] then spawn(s, stage, o) end
  if not o.built[stage] then
    wait(task, "stage", function() return o.built[stage] ~= nil end)
  end
  return o.built[stage]
end

-- Whether a RUN may take the foreground: no other task could run meanwhile (each is done
-- or waits for a stage).
function M.alone(o)
  local s, task = current(o)
  if not task then return true end
  for _, t in ipairs(s.tasks) do
    if t ~= task and not t.done and t.waiting ~= "stage" then return false end
  end
  return true
end

-- Inside a task: waits until the container (started in the background) exits; returns
-- its record.
function M.wait_container(o, c)
  local _, task = current(o)
  local runtime = errors.guard(md._runtime)
  local record
  wait(task, "container", function()
    record = runtime.get(md.config.root, c.id)
    return record.status == "exited" or record.status == "dead"
  end)
  return record
end

-- Waits until `ready()` is true: inside a task, giving the others their turns; outside one,
-- polling.
function M.wait_for(o, why, ready)
  local _, task = current(o)
  if ready() then return end
  if task then wait(task, why, ready) return end
  repeat md.sys.sleep(0.05) until ready()
end

-- A step's key another task is making: waits for it; returns the image it made (or nil
-- when no other task makes it). Otherwise marks it as this task's until `finish_key`.
function M.claim_key(o, key)
  local s, task = current(o)
  if not task then return nil end
  if s.inflight[key] and s.inflight[key] ~= task then
    wait(task, "key", function() return s.inflight[key] == nil end)
  end
  if s.made[key] then return s.made[key] end
  s.inflight[key] = task
  return nil
end

function M.finish_key(o, key, image)
  local s, task = current(o)
  if not task then return end
  if s.inflight[key] == task then s.inflight[key] = nil end
  if image then s.made[key] = image end
end

-- Builds `target` and what it needs, each stage by build_stage(stage, o) in a task.
function M.run(target, o, build_stage)
  local s = { tasks = {}, by_co = {}, by_stage = {}, inflight = {}, made = {}, build_stage = build_stage }
  o.scheduler = s
  -- The stages that need others first: each goes as far as it can, so a stage that only
  -- waits is known to wait when the stages it needs run (and a RUN alone takes the
  -- foreground).
  local order = M.graph(target)
  for i = #order, 1, -1 do
    if not o.built[order[i]] then spawn(s, order[i], o) end
  end
  local failure
  local function step(task, signal)
    local ok, res = coroutine.resume(task.co, signal)
    if coroutine.status(task.co) == "dead" then
      task.done = true
      if ok then o.built[task.stage] = res
      elseif not failure then failure = res end
    end
  end
  local ok, err = pcall(function()
    while not failure and not o.built[target] do
      local progressed = false
      -- (A task may spawn another: the loop sees it on its next round.)
      for i = 1, #s.tasks do
        local task = s.tasks[i]
        if failure then break end
        if not task.done and (not task.ready or task.ready()) then
          step(task)
          progressed = true
        end
      end
      if not progressed then
        local any = false
        for _, task in ipairs(s.tasks) do if not task.done then any = true end end
        if not any then break end
        md.sys.sleep(0.01)
      end
    end
  end)
  if not ok and not failure then failure = err end
  -- The others end: a step in progress cleans up as it would after its own error.
  if failure then
    for _, task in ipairs(s.tasks) do
      if not task.done and task.waiting then
        while not task.done do step(task, "cancel") end
      end
    end
  end
  o.scheduler = nil
  if failure then error(failure, 0) end
  return o.built[target]
end

return M
