---@meta
-- LuaLS annotations of the `md` API, for editors (docs/lua-api.md, "Editors"): the types of
-- md, its parts and the container, image and layer objects, as the code in stdlib/mdlua/ and
-- Sources/MDLua/Bindings/ define them today. Loading it changes nothing: the tables are local
-- to the `do` block below, the functions are empty, and the one global statement (`md = md`,
-- after the block) assigns the global md to itself. The build compiles this file with the
-- rest of stdlib/ (a syntax error fails it), but no script requires it.
--
-- The md.RunOptions classes between the marker lines are generated from
-- stdlib/mdlua/options.lua by scripts/lua-api-tables.lua (`... lua-api-tables.lua update`);
-- Tests/lua/lua_api_spec.lua fails when they are out of date.

do -- (not indented) everything up to the last two lines is local to this block

---The runtime: containers, images, layers and host helpers (docs/lua-api.md).
---@class md
---@field version string mdlua's version, "0.1.0-dev"
---@field build_commit string the commit of a release build, "unknown" in a debug build (also tostring(md.commit))
---@field lua_release string "Lua 5.4.4"
---@field config md.Config where state lives (set before any script runs)
---@field log md.Log leveled logging to stderr
---@field sys md.sys
---@field fs md.fs
---@field json md.json loaded on first use
---@field format md.format loaded on first use
---@field container md.container loaded on first use
---@field image md.image loaded on first use
---@field layer md.layer loaded on first use
---@field network md.network loaded on first use
---@field stack md.stack loaded on first use
---@field build md.build loaded on first use (docs/builds.md)
---@field volume md.volume loaded on first use
local md = {}

---@class md.Config
---@field root string the state root (--root, MDLUA_ROOT, default /var/lib/mdlua)
---@field runroot string the run state root (--runroot, MDLUA_RUNROOT)
---@field log_level "debug"|"info"|"warn"|"error"

---@class md.Log
---@field level string the current level
local Log = {}
---@param fmt string a string.format pattern, or plain text when no argument follows
---@param ... any
function Log.debug(fmt, ...) end
---@param fmt string
---@param ... any
function Log.info(fmt, ...) end
---@param fmt string
---@param ... any
function Log.warn(fmt, ...) end
---@param fmt string
---@param ... any
function Log.error(fmt, ...) end
---@param name "debug"|"info"|"warn"|"error"
---@return true|nil ok
---@return string? err
function Log.set_level(name) end

-- md.run --------------------------------------------------------------------------

---Creates a container, runs it in the foreground, waits for it; with `rm = true` removes it
---afterwards, whatever happened. A process that could not start raises (code start_failed,
---status 125-127), as do bad options and a missing image.
---@param o md.RunOptions
---@return md.RunResult
function md.run(o) end

---The running, restarting and paused containers (all of them with `all = true`), newest
---first, as `ps`. The same function as md.container.list.
---@param o? {all?: boolean}
---@return md.Container[]
function md.containers(o) end

---c:exec of the container `ref` (a name, an ID or a container object).
---@param ref string|md.Container
---@param o table the options of Container:exec
---@return md.ExecResult
function md.exec(ref, o) end

---c:commit of the container `ref`. (md.commit is also the build's commit: tostring(md.commit)
---and "%s" give it, as md.build_commit does.)
---@param ref string|md.Container
---@param o? {name?: string, message?: string, author?: string, changes?: string[]}
---@return md.Image
function md.commit(ref, o) end

---Every error the md.* API raises: catch it with pcall and branch on `code`.
---@class md.Error
---@field code "not_found"|"invalid_option"|"invalid_argument"|"conflict"|"start_failed"|"engine"|"failed"
---@field message string the one line (tostring(err) gives it)
---@field status integer the exit status when it escapes a script or command (125; 126 or 127 for start_failed)

---@class md.RunResult
---@field exit_code integer the process's exit status
---@field warning? string why its exit was not recorded
---@field stdout? string with capture = true
---@field stderr? string with capture = true
---@field id string the container's ID (md.run only)
---@field name string the container's name (md.run only)
---@field container? md.Container the container (md.run without rm: with rm it is gone)

---@class md.ExecResult
---@field exit_code integer
---@field stdout? string with capture = true
---@field stderr? string with capture = true
---@field detached? boolean the user detached (detach keys) from an interactive exec

-- md.container --------------------------------------------------------------------

---@class md.container
local container = {}
md.container = container

---Creates a container (not started). Unknown fields and wrong types raise.
---@param o md.RunOptions
---@return md.Container
function container.create(o) end

---Removes every stopped container (exited, created, dead); `container prune`.
---@return string[] ids the IDs removed
function container.prune() end

---A container by name, ID or unique ID prefix; raises "no such container".
---@param ref string
---@return md.Container
function container.get(ref) end

---The running, restarting and paused containers (every one with `all = true`), newest
---first, as `ps`. The same function as md.containers.
---@param o? {all?: boolean}
---@return md.Container[]
function container.list(o) end

---The same function as md.run.
---@param o md.RunOptions
---@return md.RunResult
function container.run(o) end

---The same function as md.containers.
---@param o? {all?: boolean}
---@return md.Container[]
function container.containers(o) end

---A container: its record's fields (refreshed by the methods that change it) and methods.
---What a container was created with (container.json's "config"; the engine acts on rm,
---restart, healthcheck and the log options).
---@class md.ContainerConfig
---@field image string the image reference as given
---@field rm boolean
---@field restart string "no", "on-failure[:N]", "always" or "unless-stopped"
---@field healthcheck? {test: string[], interval?: number, timeout?: number, start_period?: number, retries?: integer}
---@field stop_signal string
---@field log_max_size integer bytes
---@field log_max_file integer
---@field labels table<string, string>
---@field tty boolean
---@field interactive boolean
---@field detach boolean
---@field privileged boolean
---@field entrypoint string[]
---@field cap_add string[]
---@field cap_drop string[]
---@field security_opt string[]
---@field tmpfs string[]
---@field network string "" when not given
---@field dns string[] --dns (kept for the resolv.conf `network connect` writes again)
---@field dns_search string[] --dns-search
---@field dns_option string[] --dns-option
---@field volumes string[] -v as given
---@field volumes_from string[]
---@field mounts table[] the user's mounts as made (docs/volumes.md)
---@field storage_opt table<string, string> --storage-opt (size: the writable layer's limit)

---@class md.Container
---@field id string 64 hex digits
---@field name string
---@field image string the image's ID (sha256:...)
---@field image_name string the reference it was created from
---@field status "created"|"running"|"paused"|"restarting"|"exited"|"dead"
---@field pid integer 0 when not running
---@field exit_code integer
---@field error string why the last start failed, or ""
---@field created string RFC 3339
---@field started_at string
---@field finished_at string
---@field restart_count integer
---@field monitor_pid integer
---@field oom_killed boolean
---@field exit_unknown boolean
---@field damaged boolean its record could not be read
---@field command string[] the process's arguments
---@field health? table the health state ({Status=, FailingStreak=, Log=}); nil without a health check
---@field labels table<string, string> the labels given at create
---@field config md.ContainerConfig what it was created with
local Container = {}

---Its places on networks.
---@return md.Endpoint[]
function Container:networks() end

---Its published ports.
---@return md.PortBinding[]
function Container:ports() end

---Runs the container in the foreground and waits. A process that did not start raises
---(code start_failed, status 125, 126 or 127), as does a running container.
---@param o? {tty?: boolean, stdin?: boolean, capture?: boolean}
---@return md.RunResult
function Container:start(o) end

---Starts the container in the background under its monitor. A process that did not start
---raises (code start_failed), as does an already running container.
---@return md.Container self
function Container:start_detached() end

---Sends the signal (default: the container's stop signal, else SIGTERM), waits up to
---`timeout` seconds (default 10), then SIGKILL.
---@param o? {timeout?: number, signal?: string|integer}
---@return md.Container self
function Container:stop(o) end

---@param sig? string|integer default SIGKILL
---@return md.Container self
function Container:kill(sig) end

---Waits until the container is not running; its exit code.
---@return integer
function Container:wait() end

---Runs a command in the running container: c:exec{"ls", "/"} or c:exec{cmd = {...}, ...}.
---@param o {cmd?: string[], env?: string[]|table<string, string>, user?: string, workdir?: string, tty?: boolean, interactive?: boolean, capture?: boolean, detach?: boolean, detach_keys?: string, [integer]: string}
---@return md.ExecResult
function Container:exec(o) end

---Relays a detached container's output (and, with stdin, this process's input).
---@param o? {stdin?: boolean, detach_keys?: string}
---@return {exit_code?: integer, detached?: boolean, removed?: boolean}
function Container:attach(o) end

---@return md.Container self
function Container:pause() end
---@return md.Container self
function Container:unpause() end

---@return {cpu_ns: integer, memory: integer, memory_limit: integer, pids: integer, oom_kills: integer, block_read: integer, block_write: integer}
function Container:stats() end

---Changes limits, live and in the spec, and the restart policy: md.run's fields, in the same
---places (resources = { memory =, cpus = }, restart =); other names raise.
---@param o {restart?: string, resources?: {memory?: string, memory_swap?: string, memory_reservation?: string, cpus?: number, cpu_shares?: integer, cpu_quota?: integer, cpu_period?: integer, cpuset_cpus?: string, cpuset_mems?: string, pids_limit?: integer, blkio_weight?: integer, oom_kill_disable?: boolean}}
---@return md.Container self
function Container:update(o) end

---@param name string
---@return md.Container self
function Container:rename(name) end

---Paths changed in the container's writable layer.
---@return {kind: "A"|"C"|"D", path: string}[]
function Container:diff() end

---A new image: the container's image plus its changes, with its env, cmd, workdir, user and
---labels unless `changes` say otherwise.
---@param o? {name?: string, message?: string, author?: string, changes?: string[]}
---@return md.Image
function Container:commit(o) end

---The root file system as a tar file (stdout when path is nil or "-").
---@param path? string
function Container:export(path) end

---Copies from the container to the host ("-": a tar stream on stdout).
---@param path string
---@param host string
---@param o? {archive?: boolean, follow_link?: boolean}
function Container:copy_from(path, host, o) end

---Copies from the host ("-": a tar stream on stdin) into the container.
---@param host string
---@param path string
---@param o? {archive?: boolean, follow_link?: boolean}
function Container:copy_to(host, path, o) end

---The log of a detached container, oldest first, rotated files included.
---@return {stream: "stdout"|"stderr", time: string, log: string}[]
function Container:logs() end

---A reader of the log (the last `tail` lines); reader:records() iterates, and called again
---goes on from where it stopped.
---@param o? {tail?: integer}
---@return md.LogReader
function Container:log_reader(o) end

---@class md.LogReader
local LogReader = {}
---@return fun(): string?, string?, string? # stream, time, text
function LogReader:records() end

---Docker's `container inspect` document; size = true adds SizeRw and SizeRootFs.
---@param o? {size?: boolean}
---@return table
function Container:inspect(o) end

---The container's OCI runtime spec (config.json); raises when it is damaged.
---@return table
function Container:spec() end

---Removes the container; force = true kills a running one first, volumes = true removes the
---anonymous volumes it owns (rm -v). Returns its ID.
---@param o? {force?: boolean, volumes?: boolean}
---@return string id
function Container:rm(o) end

---The container's directory in the state root.
---@return string
function Container:dir() end

---The bytes in the container's writable layer.
---@return integer
function Container:size_rw() end

-- md.network ------------------------------------------------------------------------

---@class md.network
local network = {}
md.network = network

---@class md.NetworkCreateOptions
---@field name string
---@field subnet? string "10.5.0.0/24"; chosen to clash with nothing when nil
---@field gateway? string
---@field ip_range? string
---@field internal? boolean no way out of the host, nothing in from other networks
---@field labels? table<string, string>
---@field options? table<string, string> com.docker.network.bridge.name=NAME
---@field dns? string[] the servers the network's DNS server forwards to
---@field mtu? integer the MTU of its bridge and its containers' links, 68 to 65535 (default 1500)

---A network and its bridge.
---@param o md.NetworkCreateOptions
---@return md.Network
function network.create(o) end

---Every network, by name, with the predefined host and none.
---@return md.Network[]
function network.list() end

---Removes every network no container is on, but the default one; `network prune`.
---@return string[] names the names removed
function network.prune() end

---A network by name, ID or unique ID prefix; raises "no such network".
---@param ref string
---@return md.Network
function network.get(ref) end

---@class md.PortBinding
---@field proto "tcp"|"udp"
---@field host_ip string "" for every address of the host
---@field host_port integer
---@field container_port integer

---@class md.Endpoint
---@field network string
---@field container_id string
---@field container_name string
---@field ip string
---@field prefix integer
---@field gateway string
---@field aliases string[]
---@field ports md.PortBinding[]
---@field interface string eth0, eth1, ...

---@class md.Network
---@field name string
---@field id string
---@field driver "bridge"|"host"|"null"
---@field predefined? boolean host and none: modes, not networks to connect to
---@field subnet string
---@field gateway string
---@field ip_range string
---@field internal boolean
---@field labels table<string, string>
---@field options table<string, string>
---@field bridge string its link on the host
---@field created string
---@field dns boolean names resolve on it (user networks)
---@field mtu integer its links' MTU (1500 unless set at create)
---@field endpoints md.Endpoint[]
local Network = {}

---Removes it; raises "conflict" while a container is on it, and for bridge, host and none.
function Network:rm() end

---Gives a container an address on it; a running one gets its link at once.
---@param c md.Container|string
---@param o? {aliases?: string[], ip?: string}
---@return md.Endpoint
function Network:connect(c, o) end

---Gives the address back; a running container loses its link at once.
---@param c md.Container|string
function Network:disconnect(c) end

---Docker's network inspect document.
---@return table
function Network:inspect() end

-- md.image ------------------------------------------------------------------------

---@class md.image
local image = {}
md.image = image

---Every image, most recently added first.
---@return md.Image[]
function image.list() end

---An image by name, name@digest, ID or unique ID prefix; raises "no such image".
---@param ref string
---@return md.Image
function image.get(ref) end

---Images from a docker or OCI archive, or an OCI layout directory (stdin when nil).
---@param path? string
---@return md.Image[]
function image.load(path) end

---Writes images to an archive (stdout when output is nil or "-").
---@param o {images?: string[], image?: string, output?: string, format?: "docker"|"oci"}
function image.save(o) end

---One image from a root file system tar ("-": stdin).
---@param path string
---@param o? {name?: string, changes?: string[], message?: string}
---@return md.Image
function image.import(path, o) end

---An image from layers already in the store (bottom first).
---@param name string|nil
---@param layer_ids string[]
---@param o? {changes?: string[], config?: table}
---@return md.Image
function image.assemble(name, layer_ids, o) end

---Untags a name, or deletes an image by ID; an image a container uses needs force.
---@param ref string|md.Image
---@param o? {force?: boolean}
---@return {untagged: string[], deleted: string[]}
function image.rm(ref, o) end

---Deprecated: the old name of image.rm.
---@deprecated
image.remove = image.rm

---Deletes dangling images (every unused one with all = true).
---@param o? {all?: boolean}
---@return md.Image[] deleted
function image.prune(o) end

---Mounts an image's overlay under dir (dir/upper, dir/work, dir/merged).
---@param ref string
---@param dir string
---@return string merged
function image.mount(ref, dir) end

---@param merged string
function image.unmount(merged) end

---"docker.io/library/busybox:latest" -> "busybox", "latest".
---@param name string
---@return string repo
---@return string tag
function image.familiar(name) end

---"docker.io/library/busybox@sha256:..." (an entry of img.digests) -> "busybox", "sha256:...".
---@param entry string
---@return string repo
---@return string digest
function image.familiar_digest(entry) end

---@class md.Image
---@field id string sha256:... (the config's digest)
---@field manifest_digest string the manifest's digest (img:manifest() is the document)
---@field names string[] full names, docker.io/library/busybox:latest
---@field digests string[] Docker's RepoDigests, full: docker.io/library/busybox@sha256:... (what a pull resolved to, or a push stored)
---@field layers string[] layer IDs (diff IDs), bottom first
---@field size integer bytes unpacked
---@field created string
---@field added string
local Image = {}

---The 12 hex digits `images` shows.
---@return string
function Image:short_id() end

---Adds a name.
---@param name string
---@return md.Image self
function Image:tag(name) end

---The image's config document (OCI image config: .config, .history, .os, ...).
---@return table
function Image:config() end

---Build history, newest first.
---@return {created: string, created_by: string, comment: string, size: integer, empty_layer: boolean}[]
function Image:history() end

---Docker's `image inspect` document.
---@return table
function Image:inspect() end

---As md.image.rm with the image's name: the one md.image.get was given, else its first. An
---image with several names loses that name; with one, it is deleted.
---@param o? {force?: boolean}
---@return {untagged: string[], deleted: string[]}
function Image:rm(o) end

---The image's manifest document.
---@return table
function Image:manifest() end

-- md.layer ------------------------------------------------------------------------

---@class md.layer
local layer = {}
md.layer = layer

---A layer from a host directory.
---@param dir string
---@param comment? string
---@return md.Layer
function layer.create(dir, comment) end

---A layer from a tar file ("-" or nil: stdin).
---@param path? string
---@return md.Layer
function layer.import(path) end

---@return md.Layer[]
function layer.list() end

---@param id string an ID or unique prefix
---@return md.Layer
function layer.get(id) end

---Deletes a layer no image uses; returns it.
---@param id string
---@return md.Layer
function layer.rm(id) end

---Deprecated: the old name of layer.rm.
---@deprecated
layer.remove = layer.rm

---The layer's unpacked directory.
---@param id string
---@return string
function layer.path(id) end

---Deletes every layer no image uses, kept ones too (`system prune -a`).
---@return md.Layer[]
function layer.prune() end

---@class md.Layer
---@field id string the diff ID (sha256:...)
---@field blob string the compressed blob's digest
---@field media_type string
---@field blob_size integer
---@field tar_size integer
---@field size integer bytes unpacked
---@field created string
---@field comment string
---@field keep boolean

-- md.volume -----------------------------------------------------------------------

---Named volumes (docs/volumes.md).
---@class md.volume
local volume = {}
md.volume = volume

---Makes a volume, or returns the one of that name. Options are the local driver's:
---type, device, o, size.
---@param o? {name?: string, labels?: table<string, string>|string[], options?: table<string, string>|string[]}
---@return md.Volume
function volume.create(o) end

---Every volume, by name.
---@return md.Volume[]
function volume.list() end

---@param name string
---@return md.Volume
function volume.get(name) end

---@param name string
---@param o? {force?: boolean}
function volume.rm(name, o) end

---Removes the anonymous volumes no container uses (every unused one with all).
---@param o? {all?: boolean, filter?: fun(v: md.Volume): boolean}
---@return string[] removed
---@return integer bytes
function volume.prune(o) end

---@class md.Volume
---@field name string
---@field mountpoint string its data on the host
---@field driver string "local"
---@field created string
---@field labels table<string, string>
---@field options table<string, string>
---@field anonymous boolean made for one container (-v /path, an image's VOLUME)
---@field owner string the container an anonymous volume belongs to
local Volume = {}

---Removes it; refused (conflict) while a container uses it.
---@param o? {force?: boolean}
function Volume:rm(o) end

---The names of the containers that mount it.
---@return string[]
function Volume:users() end

---Bytes in it.
---@return integer
function Volume:size() end

---Docker's volume inspect document.
---@return table
function Volume:inspect() end

-- md.stack ------------------------------------------------------------------------

---Stacks (docs/stacks.md): md.stack{...} checks a definition and gives a stack.
---@class md.stack
---@overload fun(t: table): md.Stack
local stack = {}
md.stack = stack

---Reads a stack.lua (o.args: its arg) or a Compose file (.yaml, .yml).
---@param path string
---@param o? {name?: string, args?: string[]}
---@return md.Stack
function stack.load(path, o) end

---@class md.Stack
---@field name string the project name
---@field dir string where its relative paths start
---@field services table<string, table> the normalised services
local Stack = {}

---Brings the stack to its definition: dependencies first, waiting for their condition.
---Services with a build get their image built first when it is missing (every one with o.build).
---@param o? {services?: string[], force_recreate?: boolean, wait?: boolean, replicas?: table<string, integer>, progress?: fun(line: string), build?: boolean}
---@return {created: string[], recreated: string[], started: string[], unchanged: string[], removed: string[]}
function Stack:up(o) end

---Builds the images of services with a build (md.build.load and md.build.run), each tagged
---as the service's image (its `image`, else PROJECT-SERVICE). o.missing: only those not there.
---@param o? {services?: string[], missing?: boolean, no_cache?: boolean, progress?: fun(line: string)}
---@return string[] built the services built
function Stack:build(o) end

---Removes its containers and networks (volumes with o.volumes, images with o.rmi).
---@param o? {volumes?: boolean, rmi?: "local"|"all", timeout?: integer, progress?: fun(line: string)}
---@return table
function Stack:down(o) end

---@param o? {all?: boolean}
---@return md.Container[]
function Stack:ps(o) end

---@param name string
---@return {containers: fun(self): md.Container[]}
function Stack:service(name) end

---@param name string
---@param n integer
function Stack:scale(name, n) end

---A one-off container of a service, in the foreground.
---@param name string
---@param o? {cmd?: string[], rm?: boolean, env?: string[], capture?: boolean}
---@return md.RunResult
function Stack:run(name, o) end

---@return table
function Stack:config() end

-- md.fs ---------------------------------------------------------------------------

---Host file operations (host paths only). Failures raise, except stat's.
---@class md.fs
local fs = {}
md.fs = fs

---Makes the directory and its parents.
---@param path string
---@param mode? integer default 0755
function fs.mkdir(path, mode) end
---Writes the file atomically (a temporary file renamed).
---@param path string
---@param data string
---@param mode? integer default 0644
function fs.write(path, data, mode) end
---@param path string
---@return string
function fs.read(path) end
---@param target string
---@param path string
function fs.symlink(target, path) end
---@param target string
---@param path string
function fs.link(target, path) end
---@param src string
---@param dst string
function fs.copy(src, dst) end
---Follows symlinks; nil and the reason when the path is not there.
---@param path string
---@return {type: "file"|"directory"|"block"|"char"|"fifo"|"socket"|"symlink"|"unknown", mode: integer, size: integer, uid: integer, gid: integer, major: integer, minor: integer}|nil
---@return string? err
function fs.stat(path) end
---The bytes of the tree's files.
---@param path string
---@return integer
function fs.size(path) end
---@param path string
---@return boolean
function fs.exists(path) end
---@param path string
---@return boolean
function fs.isdir(path) end
---Removes a file or a whole tree.
---@param path string
function fs.remove(path) end
---A new directory, PREFIX followed by six random characters.
---@param prefix? string default "/tmp/mdlua-"
---@return string
function fs.tempdir(prefix) end
---@param path string
---@param mode integer
function fs.chmod(path, mode) end
---An exclusive lock on the file (flock; made when missing), or nil when another holds it:
---never waits. Held until lock:release() or until it is collected.
---@param path string
---@return {release: fun(self)}|nil
function fs.try_lock(path) end
---As stat, of a symlink itself (not followed).
---@param path string
---@return {type: "file"|"directory"|"block"|"char"|"fifo"|"socket"|"symlink"|"unknown", mode: integer, size: integer, uid: integer, gid: integer, major: integer, minor: integer}|nil
---@return string? err
function fs.lstat(path) end
---Sets the owner of the path itself (a symlink is not followed).
---@param path string
---@param uid integer
---@param gid integer
function fs.chown(path, uid, gid) end
---"sha256:<hex>" of the file's bytes.
---@param path string
---@return string
function fs.sha256(path) end

-- md.sys --------------------------------------------------------------------------

---Facts about this process and the host.
---@class md.sys
local sys = {}
md.sys = sys

---@param fd integer
---@return boolean
function sys.isatty(fd) end
---A mark in the MDLUA_TRACE=1 timeline.
---@param label string
function sys.trace(label) end
---@return number seconds
function sys.monotonic() end
---@param seconds number
function sys.sleep(seconds) end
---@return integer
function sys.nproc() end
---@param path string
---@return string|nil target
---@return string? err
function sys.readlink(path) end
---The host and, with a path, its file system (what `mdlua info` shows).
---@param root? string
---@return {kernel: string, arch: string, cgroup: table, seccomp: string, overlay_lowerdir_plus: boolean, backing_fs?: string, fs_size?: integer, fs_free?: integer}
function sys.host(root) end
---The capability names this build knows, CAP_CHOWN first.
---@return string[]
function sys.capabilities() end
---@return integer
function sys.getpid() end
---@return integer
function sys.geteuid() end
---Sorted names, without . and ..; nil and the reason on failure.
---@param path string
---@return string[]|nil
---@return string? err
function sys.listdir(path) end
---The rows and columns of the terminal on fd; nil when fd is no terminal.
---@param fd integer
---@return integer|nil rows
---@return integer? columns
function sys.terminal_size(fd) end
---"sha256:<hex>" of a string's bytes.
---@param data string
---@return string
function sys.sha256(data) end
---The bytes a size stands for, in Docker's units ("512m", "1.5g", "10GB", "64KiB": powers
---of 1024): the engine's one size parser. bare: what a number with no unit counts (1).
---@param text string
---@param bare? integer
---@return integer|nil bytes
---@return string? why not
function sys.parse_size(text, bare) end

-- md.build ------------------------------------------------------------------------

---Builds as values (docs/builds.md): stages described first, built by md.build.run or at
---the end of a build script.
---@class md.build
---@field args table<string, string> the --build-arg values, for a build.lua run by `mdlua build`
local build = {}
md.build = build

---A stage on an image ("scratch": on nothing).
---@param image string
---@return md.BuildStage
function build.from(image) end
---@return md.BuildStage
function build.scratch() end
---Files a COPY can read: the directory, minus o.exclude patterns and its .dockerignore.
---@param dir string
---@param o? {exclude?: string[], dockerignore?: boolean}
---@return md.BuildContext
function build.context(dir, o) end
---Files a COPY can read, given by name and content (a Dockerfile's COPY <<EOF): each a
---regular file, mode 0644, root's, unless the COPY's chmod or chown. o.context: a context
---the COPY's other names are read from.
---@param files table<string, string>
---@param o? {context?: md.BuildContext}
---@return md.BuildInline
function build.inline(files, o) end
---The stage DIR's build file describes: o.file (a .lua script or a Dockerfile; default
---DIR/build.lua, else DIR/Dockerfile), o.target (a Dockerfile's stage), o.build_args.
---@param dir string
---@param o? {file?: string, target?: string, build_args?: table<string, string>, pull?: "missing"|"always", quiet?: boolean}
---@return md.BuildStage stage
---@return string file the file read
function build.load(dir, o) end
---Builds the stage. o.progress: "auto", "plain", "quiet" or a function(kind, event).
---@param stage md.BuildStage
---o.secrets: { ID = { src = FILE } or { env = NAME } }, what RUN's secret mounts show (never
---in the image); o.timestamp: seconds since 1970, the time of all the build makes (default
---SOURCE_DATE_EPOCH), for the same image ID from the same inputs.
---o.pull: "missing" (a base the store lacks is pulled), "always", "never" (the default).
---o.ssh: { ID = SOCKET }, the SSH agents RUN's ssh mounts reach.
---@param o? {no_cache?: boolean, build_args?: table<string, string>, tags?: string[], labels?: table<string, string>, progress?: string|function, secrets?: table<string, {src?: string, env?: string}>, ssh?: table<string, string>, timestamp?: integer, pull?: "missing"|"always"|"never"}
---@return md.Image image
---@return {image: md.Image, steps: {instruction: string, cached: boolean, reason?: string, image: string, seconds: number, where: string, stage?: string}[]} report
function build.run(stage, o) end

---@class md.BuildContext
---@field dir string

---@class md.BuildInline
---@field files table<string, string>

---A build stage: every method returns a new stage with one more step.
---@class md.BuildStage
---@field base string the base image, or "scratch"
---@field name? string
local Stage = {}
---A RUN mount: { type = "cache", target, id?, mode?, uid?, gid? } (kept between builds),
---{ type = "bind", from = context|stage, source?, target } (read-only; { from, target } too),
---{ type = "secret", id, target? (/run/secrets/ID), required?, mode?, uid?, gid? },
---{ type = "tmpfs", target, size? }, { type = "file", target, content, mode? }.
---@alias md.BuildMount table
---RUN: a string runs with the stage's shell, a list is the exec form.
---@param cmd string|string[]
---@param o? {env?: table, network?: "none"|"host", mounts?: md.BuildMount[]}
---@return md.BuildStage
function Stage:run(cmd, o) end
---COPY from a context, inline files or another stage.
---@param from md.BuildContext|md.BuildInline|md.BuildStage
---@param src string|string[]
---@param dst string
---@param o? {chown?: string, chmod?: string}
---@return md.BuildStage
function Stage:copy(from, src, dst, o) end
---ADD: as copy; a tar archive from a context (plain, gzip, bzip2, xz, zstd) is unpacked.
---@param from md.BuildContext|md.BuildInline|md.BuildStage
---@param src string|string[]
---@param dst string
---@param o? {chown?: string, chmod?: string}
---@return md.BuildStage
function Stage:add(from, src, dst, o) end
---ONBUILD: an instruction kept in the image's config for the Dockerfiles built FROM it.
---@param instruction string
---@return md.BuildStage
function Stage:onbuild(instruction) end
---@param vars table a map or a list of "K=V"
---@return md.BuildStage
function Stage:env(vars) end
---@param labels table a map or a list of "K=V"
---@return md.BuildStage
function Stage:label(labels) end
---@param path string
---@return md.BuildStage
function Stage:workdir(path) end
---@param user string
---@return md.BuildStage
function Stage:user(user) end
---@param ... string|integer|string[] ports: 8080, "53/udp"
---@return md.BuildStage
function Stage:expose(...) end
---@param ... string|string[]
---@return md.BuildStage
function Stage:volume(...) end
---@param cmd string|string[]
---@return md.BuildStage
function Stage:entrypoint(cmd) end
---@param cmd string|string[]
---@return md.BuildStage
function Stage:cmd(cmd) end
---@param shell string[]
---@return md.BuildStage
function Stage:shell(shell) end
---@param sig string|integer
---@return md.BuildStage
function Stage:stopsignal(sig) end
---{ "cmd", "arg", interval=, timeout=, start_period=, retries= }, { shell = "..." } or { none = true }.
---@param h table
---@return md.BuildStage
function Stage:healthcheck(h) end
---A build argument: RUN steps see it in their environment.
---@param name string
---@param default? string
---@return md.BuildStage
function Stage:arg(name, default) end
---Names the image; the stage is built when the script ends if it was not before.
---@param name string
---@return md.BuildStage
function Stage:tag(name) end
---Names the stage (progress, COPY --from).
---@param name string
---@return md.BuildStage
function Stage:as(name) end
---Builds it now (md.build.run).
---@param o? table
---@return md.Image
function Stage:build(o) end

-- md.json, md.format --------------------------------------------------------------

---@class md.json
---@field null table JSON null
local json = {}
md.json = json
---@param v any
---@param o? {indent?: string}
---@return string
function json.encode(v, o) end
---Raises "invalid JSON at byte N: ..." on bad input.
---@param s string
---@return any
function json.decode(s) end
---Marks a table as an array (an empty one encodes as []).
---@param t? table
---@return table
function json.array(t) end
---@param t table
---@return boolean
function json.is_array(t) end

---@class md.format
local format = {}
md.format = format
---4260000 -> "4.26MB" (three significant digits), or with `decimals` digits after the point.
---@param bytes integer
---@param decimals? integer
---@return string
function format.size(bytes, decimals) end
---@param seconds number
---@return string
function format.duration(seconds) end
---@param rfc3339 string
---@return string
function format.ago(rfc3339) end
---Prints aligned columns.
---@param header string[]
---@param rows string[][]
---@param out? file*
function format.table(header, rows, out) end
---Renders a Go template (Docker's --format).
---@param tmpl string
---@param value any
---@return string
function format.template(tmpl, value) end

-- md.RunOptions -------------------------------------------------------------------

-- generated by scripts/lua-api-tables.lua: begin
---The options of md.run and md.container.create (stdlib/mdlua/options.lua).
---@class md.RunOptions
---@field image string The image: a name, name@digest, ID or unique ID prefix
---@field cmd? string[] The command and its arguments (default: the image's Entrypoint and Cmd)
---@field capture? boolean `md.run` only: return the output as `stdout` and `stderr` strings instead of passing it through
---@field detach? boolean Run the container in the background and print its ID
---@field restart? string no, on-failure[:N], always or unless-stopped
---@field log_opt? string[] max-size=SIZE, max-file=N
---@field name? string Assign a name to the container
---@field label? string[] Set metadata on the container
---@field rm? boolean Automatically remove the container when it exits
---@field interactive? boolean Keep STDIN open
---@field tty? boolean Allocate a pseudo-TTY
---@field env? string[]|table<string, string> Set environment variables
---@field env_file? string[] Read in a file of environment variables
---@field workdir? string Working directory inside the container
---@field user? string Username or UID (format: <name|uid>[:<group|gid>])
---@field hostname? string Container host name
---@field entrypoint? string Overwrite the default ENTRYPOINT of the image
---@field init? boolean Run an init inside the container that forwards signals and reaps processes
---@field read_only? boolean Mount the container's root filesystem as read only
---@field tmpfs? string[] Mount a tmpfs directory
---@field cap_add? string[] Add Linux capabilities
---@field cap_drop? string[] Drop Linux capabilities
---@field privileged? boolean Give extended privileges to this container
---@field security_opt? string[] no-new-privileges[=false], seccomp=unconfined|PROFILE.json
---@field ulimit? string[] Ulimit options
---@field stop_signal? string Signal to stop the container
---@field network? string Connect a container to a network: bridge (the default), a network's name, none, host or container:NAME
---@field ports? string[] Publish a container's port(s) to the host
---@field publish_all? boolean Publish all exposed ports to free host ports
---@field network_alias? string[] Add network-scoped alias for the container
---@field ip? string IPv4 address on the network (e.g., 10.222.0.9)
---@field dns? string[] Set custom DNS servers
---@field dns_search? string[] Set custom DNS search domains
---@field dns_option? string[] Set DNS options
---@field add_host? string[] Add a custom host-to-IP mapping (host:ip, host:host-gateway)
---@field volumes? string[] Bind mount a host path or mount a volume (NAME:/path, /host:/path, /path; opts ro, rw, nocopy)
---@field mounts? string[] Attach a mount: type=bind|volume|tmpfs,source=,target=,readonly,...
---@field volumes_from? string[] Mount the volumes of the container
---@field sysctl? string[] Namespaced kernel parameters (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*)
---@field storage_opt? string[] Limit the container's writable layer (size=1g; its own file system, docs/volumes.md)
---@field cgroup_parent? string Parent cgroup (default mdlua)
---@field cgroupns? string private or host
---@field pull? string Pull image before running (always, missing, never)
---@field platform? string Set platform if the image is pulled
---@field resources? md.RunOptions.Resources
---@field health? md.RunOptions.Health

---@class md.RunOptions.Resources
---@field memory? string Memory limit (100m, 1g, 512k, 100b; a bare number is megabytes)
---@field memory_swap? string Memory + swap limit (-1: unlimited swap; default: equal to --memory)
---@field memory_reservation? string Memory soft limit
---@field cpus? number Number of CPUs (0.5 is half of one)
---@field cpu_shares? integer CPU shares (relative weight)
---@field cpu_quota? integer CPU CFS quota in microseconds
---@field cpu_period? integer CPU CFS period in microseconds
---@field cpuset_cpus? string CPUs to run on (0-3, 0,1)
---@field cpuset_mems? string Memory nodes to use
---@field pids_limit? integer Process limit (-1: unlimited)
---@field blkio_weight? integer Block IO weight (10 to 1000)
---@field oom_kill_disable? boolean Disable the OOM killer (cgroup v1 only)
---@field device_read_bps? string[] Limit read rate (bytes per second) from a device (1mb, 512kb)
---@field device_write_bps? string[] Limit write rate (bytes per second) to a device
---@field device_read_iops? string[] Limit read rate (IO per second) from a device
---@field device_write_iops? string[] Limit write rate (IO per second) to a device

---@class md.RunOptions.Health
---@field cmd? string Command to run to check health
---@field interval? string Time between running the check (default 30s)
---@field timeout? string Maximum time to allow one check to run (default 30s)
---@field retries? integer Consecutive failures needed to report unhealthy (default 3)
---@field start_period? string Start period during which failures do not count
---@field disable? boolean Disable any container-specified HEALTHCHECK
-- generated by scripts/lua-api-tables.lua: end

end

---@type md
md = md

-- md.pull, md.push, md.login, md.logout (stdlib/mdlua/registry.lua) -------------------

---@class md.ProgressEvent
---@field status string "Waiting", "Pulling fs layer", "Downloading", "Pull complete", "Pushed", ... or a line of its own ("Digest: sha256:...")
---@field id? string the layer's short digest (absent on a line of its own)
---@field current? integer bytes downloaded so far (with "Downloading")
---@field total? integer the layer's size (with "Downloading")

---@class md.PullOptions
---@field platform? string "os/arch[/variant]", default "linux/amd64"
---@field tls_verify? boolean false: plain HTTP and unverified TLS allowed (default true)
---@field progress? fun(ev: md.ProgressEvent)|boolean|"terminal"|"plain"|"quiet" a function called with each event, or how to draw them on stdout (default "quiet"); an error in the function stops the pull
---@field all_tags? boolean every tag of the repository (returns a list)

---@class md.Pulled
---@field reference string the full reference pulled
---@field digest string the manifest's digest (an index's, when the reference named one)
---@field platform string the image's platform

---Pulls an image from a registry into the store.
---@param ref string
---@param o? md.PullOptions
---@return md.Image|md.Image[] image with image.pulled (md.Pulled); a list with all_tags
function md.pull(ref, o) end

---@class md.PushOptions
---@field destination? string push under this name instead of the image's
---@field tls_verify? boolean
---@field progress? fun(ev: md.ProgressEvent)|boolean|"terminal"|"plain"|"quiet"

---Pushes an image of the store to a registry.
---@param ref string|md.Image
---@param o? md.PushOptions
---@return {reference: string, digest: string, size: integer}
function md.push(ref, o) end

---Checks credentials against a registry and stores them (Docker's config.json, or its credential helper).
---@param o {registry?: string, username: string, password: string, tls_verify?: boolean}
---@return string where where the credentials went
function md.login(o) end

---Forgets a registry's credentials.
---@param registry? string default "docker.io"
---@return boolean forgotten false when none were stored
function md.logout(registry) end
