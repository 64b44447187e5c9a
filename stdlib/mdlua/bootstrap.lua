-- Base images made from the host, so a machine without a registry can run containers:
-- busybox from Debian's busybox-static, debian from debootstrap.
local md = require "mdlua"
local errors = require "mdlua.errors"

local M = {}

local function ensure_package(binary, package)
  if md.fs.exists(binary) then return end
  md.log.info("installing %s from Debian", package)
  local ok = os.execute("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq " .. package .. " >/dev/null 2>&1")
  if not ok or not md.fs.exists(binary) then
    errors.fail(("image bootstrap: %s is missing and apt-get could not install %s"):format(binary, package))
  end
end

local function with_tempdir(fn)
  local dir = md.fs.tempdir("/tmp/mdlua-bootstrap-")
  local ok, result = pcall(fn, dir)
  md.fs.remove(dir)
  if not ok then error(result, 0) end
  return result
end

function M.busybox(name, _)
  ensure_package("/bin/busybox", "busybox-static")
  return with_tempdir(function(dir)
    local rootfs = dir .. "/rootfs"
    for _, d in ipairs { "bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "proc", "sys", "dev", "var/tmp" } do
      md.fs.mkdir(rootfs .. "/" .. d)
    end
    md.fs.mkdir(rootfs .. "/tmp")
    md.fs.chmod(rootfs .. "/tmp", tonumber("1777", 8))
    md.fs.chmod(rootfs .. "/root", tonumber("700", 8))
    md.fs.copy("/bin/busybox", rootfs .. "/bin/busybox")
    local list = io.popen("/bin/busybox --list-full")
    for applet in list:lines() do
      local path = rootfs .. "/" .. applet
      if applet ~= "bin/busybox" and not md.fs.exists(path) then
        local depth = select(2, applet:gsub("/", ""))
        md.fs.symlink(("../"):rep(depth) .. "bin/busybox", path)
      end
    end
    list:close()
    md.fs.write(rootfs .. "/etc/passwd", table.concat({
      "root:x:0:0:root:/root:/bin/sh",
      "daemon:x:1:1:daemon:/usr/sbin:/bin/false",
      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false", "" }, "\n"))
    md.fs.write(rootfs .. "/etc/group", table.concat({ "root:x:0:", "daemon:x:1:", "tty:x:5:", "nogroup:x:65534:", "" }, "\n"))
    local version = io.popen("/bin/busybox | head -1"):read("l") or "busybox"
    local layer = md.layer.create(rootfs, version)
    return md.image.assemble(name or "busybox", { layer.id }, { changes = { 'CMD ["sh"]' } })
  end)
end

function M.debian(name, opts)
  ensure_package("/usr/sbin/debootstrap", "debootstrap")
  return with_tempdir(function(dir)
    local rootfs = dir .. "/rootfs"
    local include = ""
    if opts.include and opts.include ~= "" then
      if not opts.include:match("^[%w.+,-]+$") then
        errors.fail(("image bootstrap debian: invalid --include %q: expected package names separated by commas"):format(opts.include))
      end
      include = "--include=" .. opts.include .. " "
    end
    local cmd = ("/usr/sbin/debootstrap --variant=minbase %s%s %s %s >%s/log 2>&1")
      :format(include, opts.suite, rootfs, opts.mirror, dir)
    if not os.execute(cmd) then
      local log = io.open(dir .. "/log"):read("a")
      errors.fail("image bootstrap debian: debootstrap failed: " .. (log:match("([^\n]+)\n?$") or ""))
    end
    -- The image's apt cache and logs are not part of a base image.
    for _, d in ipairs { "/var/cache/apt/archives", "/var/lib/apt/lists", "/var/log" } do
      os.execute(("find %s%s -type f -delete 2>/dev/null"):format(rootfs, d))
    end
    local layer = md.layer.create(rootfs, "debootstrap --variant=minbase " .. include .. opts.suite)
    return md.image.assemble(name or ("debian:" .. opts.suite), { layer.id }, { changes = { 'CMD ["bash"]' } })
  end)
end

return M
