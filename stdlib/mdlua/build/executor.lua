-- Runs a stage's steps in order, each through the cache (build/cache.lua): a hit takes the
-- image a step made before; a miss runs it. RUN runs a container from the image so far and
-- commits its changes as a layer; COPY makes a layer from the files; WORKDIR one of the
-- directory when the image lacks it; the other steps change the config only. Every step's result is an image, so any step can be the parent of the
-- next build's. Whatever a step made on the way (a container, a mount, a staging
-- directory) is removed whether it succeeds or fails; a failed step publishes nothing.
local md = require "mdlua"
local json = require "mdlua.json"
local errors = require "mdlua.errors"
local cache = require "mdlua.build.cache"
local context = require "mdlua.build.context"
local inline = require "mdlua.build.inline"
local paths = require "mdlua.build.paths"
local steps = require "mdlua.build.steps"
local archive = require "mdlua.build.archive"
local mounts = require "mdlua.build.mounts"
local scheduler = require "mdlua.build.scheduler"

local M = {}

local image_store = errors.guard(md._image)
local layer_store = errors.guard(md._layer)
local runtime = errors.guard(md._runtime)

local function root() return md.config.root end
-- The build's time: now, or o.timestamp (SOURCE_DATE_EPOCH, --timestamp) for a build
-- that gives the same image whenever it runs.
local function now(o) return os.date("!%Y-%m-%dT%H:%M:%SZ", o and o.timestamp or nil) end

local function copy_table(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = copy_table(v) end
  return setmetatable(out, getmetatable(t))
end

-- The error of a step: its script line first. A RUN that failed exits 1, as `docker
-- build`; other errors keep their status (125 for bad input).
local function step_error(step, e, status)
  local msg = errors.message(e):gsub("^md%.[%w_.:]+: ", "")
  if not msg:find(step.where, 1, true) then msg = step.where .. ": " .. msg end
  local code = errors.is(e) and e.code or "failed"
  error(errors.new(code, msg, status or (errors.is(e) and e.status) or 1), 0)
end

-- The base image of a stage, pulled as o.pull says: "missing" (when the store has no image
-- of that name), "always" (once per name in a build) or "never" (nil). A failed pull is
-- the FROM line's error.
local function base_image(stage, o)
  local policy = o.pull or "never"
  local ok, img = pcall(md.image.get, stage.base)
  local missing = not ok and errors.is(img) and img.code == "not_found"
  o.pulled = o.pulled or {}
  if (policy == "always" and not o.pulled[stage.base]) or (policy == "missing" and missing) then
    o.progress("pull", { stage = stage, image = stage.base })
    local pulled
    ok, pulled = pcall(md.pull, stage.base)
    if not ok then step_error({ where = stage.where }, pulled, 125) end
    o.pulled[stage.base] = true
    img = pulled
  elseif not ok then
    step_error({ where = stage.where }, img)
  end
  return img
end

-- A stage's first key: its base, and the build's fixed time if it has one (the images
-- made under another time differ).
local function base_key(base, o)
  return md.sys.sha256(base .. (o.timestamp and ("\ntimestamp " .. o.timestamp) or ""))
end

-- The state a stage starts from: its base image (or nothing, for scratch). A base image's
-- ONBUILD triggers are not inherited (as Docker: the frontend ran them after FROM).
local function base_state(stage, o)
  if stage.base == "scratch" then
    -- (An empty image has the default PATH, as BuildKit's and Buildah's.)
    local config = { Env = json.array { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" } }
    return { image = nil, layers = {}, doc = { architecture = "amd64", os = "linux", config = config, history = json.array() },
             key = base_key("scratch", o), args = {} }
  end
  local img = base_image(stage, o)
  local doc = img:config()
  doc.rootfs = nil
  doc.config = doc.config or {}
  doc.config.OnBuild = nil
  doc.history = json.array(doc.history or {})
  return { image = img.id, layers = img.layers, doc = doc, key = base_key("from " .. img.id, o), args = {} }
end

-- A new image: the layers, and the state's config with one more history entry.
local function image_doc(state, history)
  local doc = copy_table(state.doc)
  doc.created = now(state.o)
  for _, h in ipairs(state.pending) do doc.history[#doc.history + 1] = h end
  doc.history[#doc.history + 1] = history
  return doc
end

-- The state after an image made or found: its layers and config.
local function reload(state, img)
  state.image, state.layers = img.id, img.layers
  state.doc = img:config()
  state.doc.rootfs = nil
  state.doc.config = state.doc.config or {}
  state.doc.history = json.array(state.doc.history or {})
end

local function assemble(state, layer_ids, doc)
  return image_store.assemble(root(), layer_ids, json.encode(doc), {}).id
end

-- The uid and gid of USER[:GROUP] for COPY --chown: numbers as they are, names from the
-- image's /etc/passwd and /etc/group (the topmost layer that has them).
local function owner(state, spec)
  local user, group = spec:match("^([^:]+):?(.*)$")
  local function lookup(file, name)
    if name:match("^%d+$") then return tonumber(name) end
    for i = #state.layers, 1, -1 do
      local path = md.layer.path(state.layers[i]) .. "/etc/" .. file
      local st = md.fs.lstat(path)
      if st and st.type == "file" then
        for line in md.fs.read(path):gmatch("[^\n]+") do
          local n, id = line:match("^([^:]*):[^:]*:(%d+)")
          if n == name then return tonumber(id), line end
        end
        break
      end
    end
    errors.fail(("chown %s: no %s %q in the image"):format(spec, file == "passwd" and "user" or "group", name))
  end
  local uid, line = lookup("passwd", user)
  local gid
  if group ~= "" then gid = lookup("group", group)
  elseif line then gid = tonumber(line:match("^[^:]*:[^:]*:%d+:(%d+)")) or uid
  else gid = uid end
  return uid, gid
end

-- Where the destination `dst` (cleaned, relative) is in the image so far: its components
-- that exist, symlinks followed inside the image (as Docker: COPY x /bin/ with /bin a link
-- to usr/bin lands in /usr/bin), each with its lstat, and the real path. The image is
-- mounted for the lookup.
local function destination(state, dst, shown)
  local parts = {}
  for c in dst:gmatch("[^/]+") do parts[#parts + 1] = c end
  local real, existing = "", {}
  if not state.image or #parts == 0 then return dst, existing end
  local mnt = md.fs.tempdir("/tmp/mdlua-build-dst-")
  local ok, merged = pcall(md.image.mount, state.image, mnt)
  if not ok then pcall(md.fs.remove, mnt); error(merged, 0) end
  local found = 0
  local ok2, e2 = pcall(function()
    for i = 1, #parts do
      local r, st = context.resolve(merged, (real == "" and "" or real .. "/") .. parts[i], shown, true)
      if not r or not st then break end
      real, found = r, i
      if st.type ~= "directory" then break end
      existing[r] = st
    end
  end)
  pcall(md.image.unmount, merged)
  pcall(md.fs.remove, mnt)
  if not ok2 then error(e2, 0) end
  for i = found + 1, #parts do real = real == "" and parts[i] or real .. "/" .. parts[i] end
  return real, existing
end

-- Lays the entries out under `dir` as they will be in the image, and makes the layer.
local function copy_layer(state, step, src_root, entries, starts)
  local dst = step.dst
  local workdir = state.doc.config.WorkingDir
  if dst:sub(1, 1) ~= "/" then dst = (workdir and workdir ~= "" and workdir or "/") .. "/" .. dst end
  local into_dir = step.dst:sub(-1) == "/" or #starts > 1 or paths.has_glob(table.concat(step.srcs, " "))
  local first = entries[1] and entries[1].st
  if #starts == 1 and first and first.type == "directory" then into_dir = true end
  local real, existing = destination(state, paths.clean(dst), "COPY " .. step.dst)
  -- A destination the image has as a directory, or "." (dir/.), is one (as Docker).
  if existing[real] or step.dst == "." or step.dst:match("/%.$") then into_dir = true end
  dst = "/" .. real
  local uid, gid
  if step.chown then uid, gid = owner(state, step.chown) end
  -- From a stage, files keep their owners (as Docker's COPY --from); from the context (or
  -- inline) they are root's.
  local keep_owner = not uid and not context.is(step.from) and not inline.is(step.from)
  local mode = step.chmod and tonumber(step.chmod, 8)
  local started = {}
  for _, rel in ipairs(starts) do started[rel] = true end
  local tmp = md.fs.tempdir("/tmp/mdlua-build-")
  local ok, res = pcall(function()
    for _, e in ipairs(entries) do
      local target
      if into_dir then target = e.name == "" and dst or (dst == "/" and "" or dst) .. "/" .. e.name
      else target = dst end
      local host = tmp .. target
      local parent = host:match("^(.*)/[^/]*$")
      if parent and parent ~= "" then md.fs.mkdir(parent) end
      local from = e.content == nil and src_root .. "/" .. (e.rel == "" and "." or e.rel)
      if e.content then
        md.fs.write(host, e.content, mode or e.st.mode)
      elseif e.st.type == "directory" then
        md.fs.mkdir(host)
        md.fs.chmod(host, mode or e.st.mode)
      elseif e.st.type == "file" and step.extract and started[e.rel] and archive.is_tar(from) then
        -- ADD of a local archive: its contents, with their owners and modes, in the
        -- destination (a directory).
        archive.extract(from, tmp .. dst)
      elseif e.st.type == "file" then
        md.fs.copy(from, host)
        md.fs.chmod(host, mode or e.st.mode)
      elseif e.st.type == "symlink" then
        md.fs.symlink(md.sys.readlink(from), host)
      else
        errors.fail(("%s: %s is a %s; COPY takes files, directories and symlinks"):format(step.where, e.rel, e.st.type))
      end
      if uid then md.fs.chown(host, uid, gid)
      elseif keep_owner and e.name ~= "" and (e.st.uid ~= 0 or e.st.gid ~= 0) then
        -- (A directory copied gives its contents: the destination it lands in is root's.)
        md.fs.chown(host, e.st.uid, e.st.gid)
      end
    end
    -- The directories on the way: those the image has keep their mode and owner (the
    -- layer's entry replaces the image's); those made here are root's, or --chown's.
    local contents_of = {}
    for _, e in ipairs(entries) do if e.name == "" and into_dir then contents_of[dst] = true end end
    local at = ""
    for c in dst:gmatch("[^/]+") do
      at = at .. "/" .. c
      local st = md.fs.lstat(tmp .. at)
      if not st or st.type ~= "directory" or contents_of[at] then break end
      local image_st = existing[at:sub(2)]
      if image_st then
        md.fs.chmod(tmp .. at, image_st.mode)
        md.fs.chown(tmp .. at, image_st.uid, image_st.gid)
      elseif uid then
        md.fs.chown(tmp .. at, uid, gid)
      end
    end
    return layer_store.create(root(), tmp, "", false, state.o.timestamp)
  end)
  pcall(md.fs.remove, tmp)
  if not ok then error(res, 0) end
  return res
end

-- RUN: a container from the image so far, its changes committed. Returns the new image's ID.
local function run_step(state, step, instruction, history, event, o, bound)
  if not state.image then step_error(step, "RUN needs files to run: this stage is FROM scratch with nothing copied yet", 125) end
  local doc = image_doc(state, history)
  local c
  local undo = {}
  local ok, e = pcall(function()
    local cfg = state.doc.config
    local list = mounts.prepare(step, bound, o, undo)
    c = md.container.create { image = state.image, cmd = steps.argv(step, state), entrypoint = "",
                              env = steps.run_env(step, state),
                              workdir = cfg.WorkingDir ~= "" and cfg.WorkingDir or nil,
                              user = cfg.User ~= "" and cfg.User or nil, network = step.network,
                              mounts = #list > 0 and list or nil }
    local r
    if scheduler.alone(o) then
      r = c:start { capture = true }
      event.output = (r.stdout or "") .. (r.stderr or "")
    else
      -- Another stage can go on meanwhile: the container runs in the background.
      c:start_detached()
      r = scheduler.wait_container(o, c)
      local out = {}
      for _, rec in ipairs(c:logs()) do out[#out + 1] = rec.log end
      event.output = table.concat(out)
    end
    o.progress("output", event)
    if r.exit_code ~= 0 then
      local lines = {}
      for line in event.output:gmatch("[^\n]+") do lines[#lines + 1] = line end
      local tail = table.concat({ table.unpack(lines, math.max(1, #lines - 9)) }, "\n")
      error(errors.new("build_failed", ("%s: %s: exited with %d%s"):format(step.where, instruction, r.exit_code,
        tail ~= "" and ("\n" .. tail) or ""), 1), 0)
    end
    return runtime.commit(root(), c.id, json.encode(doc), nil, instruction, o.timestamp)
  end)
  -- (volumes: the image's VOLUMEs, anonymous volumes of this container only.)
  if c then pcall(c.rm, c, { force = true, volumes = true }) end
  for i = #undo, 1, -1 do pcall(undo[i]) end
  if not ok then step_error(step, e, errors.is(e) and e.code == "start_failed" and 1 or nil) end
  return e
end

-- WORKDIR: the directory made when the image lacks it, as Docker and Buildah make it (a
-- layer of the missing components, owned by USER; the ancestors that exist keep their
-- mode and owner). Returns the new image's ID, and whether it added a layer.
local function workdir_step(state, step, history)
  steps.apply(step, state)
  local dir = paths.clean(state.doc.config.WorkingDir)
  local parts = {}
  for c in dir:gmatch("[^/]+") do parts[#parts + 1] = c end
  -- The deepest component that exists, resolved inside the image (symlinks followed).
  local real, existing, found = "", {}, 0
  if state.image and #parts > 0 then
    local mnt = md.fs.tempdir("/tmp/mdlua-build-wd-")
    local ok, merged = pcall(md.image.mount, state.image, mnt)
    if not ok then pcall(md.fs.remove, mnt); step_error(step, merged) end
    local ok2, e2 = pcall(function()
      for i = 1, #parts do
        local r, st = context.resolve(merged, table.concat(parts, "/", 1, i), "WORKDIR " .. dir, true)
        if not r or not st then break end
        if st.type ~= "directory" then
          errors.fail(("WORKDIR %s: /%s is a %s in the image, not a directory"):format(dir, r, st.type))
        end
        real, found = r, i
        existing[#existing + 1] = { rel = r, st = st }
      end
    end)
    pcall(md.image.unmount, merged)
    pcall(md.fs.remove, mnt)
    if not ok2 then step_error(step, e2, 125) end
  end
  if found == #parts then
    history.empty_layer = true
    return assemble(state, state.layers, image_doc(state, history))
  end
  local uid, gid = 0, 0
  local user = state.doc.config.User or ""
  if user ~= "" then uid, gid = owner(state, user) end
  local tmp = md.fs.tempdir("/tmp/mdlua-build-")
  local ok, layer = pcall(function()
    for _, a in ipairs(existing) do
      local host = tmp .. "/" .. a.rel
      md.fs.mkdir(host)
      md.fs.chmod(host, a.st.mode)
      md.fs.chown(host, a.st.uid, a.st.gid)
    end
    local at = real
    for i = found + 1, #parts do
      at = at == "" and parts[i] or at .. "/" .. parts[i]
      md.fs.mkdir(tmp .. "/" .. at)
      md.fs.chmod(tmp .. "/" .. at, 493)   -- 0755
      md.fs.chown(tmp .. "/" .. at, uid, gid)
    end
    return layer_store.create(root(), tmp, "", false, state.o.timestamp)
  end)
  pcall(md.fs.remove, tmp)
  if not ok then step_error(step, layer) end
  local layers = { table.unpack(state.layers) }
  layers[#layers + 1] = layer.id
  return assemble(state, layers, image_doc(state, history))
end

-- COPY: the files as a new layer. A stage's files are read from its image, mounted for
-- the step (and unmounted whatever happens).
local function copy_step(state, step, src_root, entries, starts, history, o)
  local unmount
  if not context.is(step.from) and not inline.is(step.from) then
    local from = o.built[step.from]
    local mnt = md.fs.tempdir("/tmp/mdlua-build-from-")
    local ok, merged = pcall(md.image.mount, from.image, mnt)
    if not ok then pcall(md.fs.remove, mnt); step_error(step, merged) end
    unmount = function() pcall(md.image.unmount, merged); pcall(md.fs.remove, mnt) end
    src_root = merged
    entries, starts = {}, {}
    local ok2, e2 = pcall(function()
      for _, s in ipairs(step.srcs) do
        local es, ss = context.collect(src_root, {}, s, "COPY --from " .. s, true)
        for _, e in ipairs(es) do entries[#entries + 1] = e end
        for _, x in ipairs(ss) do starts[#starts + 1] = x end
      end
    end)
    if not ok2 then unmount(); step_error(step, e2) end
  end
  local ok, layer = pcall(copy_layer, state, step, src_root, entries, starts)
  if unmount then unmount() end
  if not ok then step_error(step, layer) end
  local layers = { table.unpack(state.layers) }
  layers[#layers + 1] = layer.id
  return assemble(state, layers, image_doc(state, history))
end

local build_stage

-- Builds `stage`; `o`: no_cache, build_args, progress (a function(event)), built (stages
-- already built in this run, by identity). Returns the final state. The stages it needs
-- are built at the same time where they can be (build/scheduler.lua); inside a stage's
-- task, a stage it needs is waited for.
function M.build(stage, o)
  o.built = o.built or {}
  if o.built[stage] then return o.built[stage] end
  if o.scheduler then
    local state = scheduler.await(o, stage)
    if state then return state end
  end
  return scheduler.run(stage, o, build_stage)
end

-- The steps of one stage, in order.
function build_stage(stage, o)
  local state = base_state(stage, o)
  state.o = o
  state.build_args = o.build_args or {}
  state.pending = {}
  local parent_missed = false
  for n, step in ipairs(stage.steps) do
    local t0 = md.sys.monotonic()
    local instruction = steps.instruction(step, state)
    local event = { stage = stage, n = n, total = #stage.steps, step = step, instruction = instruction,
                    config = step.kind ~= "run" and step.kind ~= "copy" and step.kind ~= "workdir" }

    -- The inputs: files of the context, or the image of the stage copied from.
    local inputs, each, src_root, entries, starts, bound = "", {}, nil, nil, nil, nil
    if step.kind == "run" and step.mounts then
      -- What the bind mounts show: the context's files (digested as COPY's), a stage's image.
      bound = {}
      local parts = {}
      for i, m in ipairs(step.mounts) do
        if m.type == "bind" then
          if context.is(m.from) then
            local ok, es, ss = pcall(context.collect, m.from.dir, m.from.rules, m.source, "--mount source=" .. m.source)
            if not ok then step_error(step, es, errors.is(es) and es.status or 125) end
            local d, per = context.digest(m.from.dir, es)
            bound[i] = { entries = es, starts = ss }
            parts[#parts + 1] = d
            for k, v in pairs(per) do each[k] = v end
          else
            local from = M.build(m.from, o)
            if not from.image then step_error(step, "the stage mounted has no files (FROM scratch, no steps)") end
            bound[i] = { image = from.image }
            parts[#parts + 1] = from.image
            each["stage " .. (m.from.name or m.from.base)] = from.image
          end
        end
      end
      inputs = table.concat(parts, "\n")
    elseif step.kind == "copy" then
      if context.is(step.from) or inline.is(step.from) then
        -- Inline files by name, the rest from the context (an inline source's, if it has one).
        local files = inline.is(step.from) and step.from.files or {}
        local ctx = inline.is(step.from) and step.from.context or step.from
        src_root = ctx and ctx.dir
        entries, starts = {}, {}
        for _, s in ipairs(step.srcs) do
          local ok, es, ss
          if files[s] then ok, es, ss = true, inline.collect(step.from, s, "COPY <<" .. s)
          else ok, es, ss = pcall(context.collect, src_root, ctx.rules, s, "COPY " .. s) end
          if not ok then step_error(step, es, errors.is(es) and es.status or 125) end
          for _, e in ipairs(es) do entries[#entries + 1] = e end
          for _, x in ipairs(ss) do starts[#starts + 1] = x end
        end
        inputs, each = context.digest(src_root, entries)
      else
        local from = M.build(step.from, o)
        if not from.image then step_error(step, "the stage copied from has no files (FROM scratch, no steps)") end
        inputs = from.image
        each = { ["stage " .. (step.from.name or step.from.base)] = from.image }
      end
    end

    o.progress("start", event)
    local description = cache.describe(steps.describe(step, state))
    local key = cache.key(state.key, description, inputs)
    local probe = cache.probe(state.key, description)
    local history = { created = now(o), created_by = steps.created_by(step, state, inputs) }
    if step.kind ~= "run" and step.kind ~= "copy" and step.kind ~= "workdir" then
      -- A config step changes the config only: no image of its own (the next RUN or COPY,
      -- or the end of the stage, makes one), and nothing to run, so it is as cached as its
      -- parent was.
      event.cached = not o.no_cache and not parent_missed and cache.seen(key)
      if not event.cached then
        event.reason = o.no_cache and "--no-cache" or parent_missed and "an earlier step changed" or "not built before"
        parent_missed = true
        cache.store(key, nil, instruction)
      end
      steps.apply(step, state)
      steps.carry(step, state)
      history.empty_layer = true
      state.pending[#state.pending + 1] = history
    else
      local hit = not o.no_cache and cache.lookup(key)
      if not hit then
        -- Another stage making the same step (a Dockerfile's FROM of a stage) makes it once.
        local made = scheduler.claim_key(o, key)
        if made then hit = md.image.get(made) end
      end
      if hit then
        event.cached = true
        reload(state, hit)
        steps.carry(step, state)
      else
        if o.no_cache then event.reason = "--no-cache"
        elseif parent_missed then event.reason = "an earlier step changed"
        else
          local last = cache.last_inputs(probe)
          event.reason = last and (cache.changed(last, each) or "its inputs changed") or "not built before"
        end
        parent_missed = true
        if step.kind == "run" then
          state.image = run_step(state, step, instruction, history, event, o, bound)
        elseif step.kind == "workdir" then
          state.image = workdir_step(state, step, history)
        else
          state.image = copy_step(state, step, src_root, entries, starts, history, o)
        end
        reload(state, md.image.get(state.image))
        steps.carry(step, state)
        cache.store(key, state.image, instruction)
        scheduler.finish_key(o, key, state.image)
        if step.kind == "copy" or next(each) then cache.remember_inputs(probe, each) end
      end
      state.pending = {}
    end
    state.key = key
    event.image = state.image
    event.seconds = md.sys.monotonic() - t0
    o.progress("done", event)
  end
  if #state.pending > 0 or not state.image then
    -- Config steps since the last layer: the stage's image, cached under the last key.
    local key = cache.key(state.key, "image", "")
    local hit = not o.no_cache and cache.lookup(key)
    if hit then reload(state, hit)
    else
      state.image = assemble(state, state.layers, image_doc(state))
      cache.store(key, state.image, "image")
    end
    state.pending = {}
  end
  return state
end

return M
