#!/usr/bin/env python3
"""mdlua's benchmark: whole-process medians, side by side with the peers, as ratios.

Prints a markdown table. Wall time comes from hyperfine (-N: no shell in between); peak
RSS from wait4() over repeated runs. Each area adds its rows in a function below; a row
whose peer is missing on this machine says so instead of failing.
"""
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MDLUA = os.environ.get("MDLUA_BIN") or "mdlua"
RUNS = int(os.environ.get("BENCH_RUNS", "200"))


def wall_ms(argv, runs=RUNS, prepare=None, warmup=10):
    """Median wall time in milliseconds. `argv` is a list (run directly) or a shell string."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        if isinstance(argv, str):
            cmd = ["hyperfine", argv]
        else:
            cmd = ["hyperfine", "-N", " ".join(shlex_quote(a) for a in argv)]
        cmd += ["--warmup", str(warmup), "--runs", str(runs), "--export-json", out.name]
        if prepare:
            # With -N hyperfine splits the prepare command into words and runs no shell:
            # "rm -rf DIR; sync" would remove nothing ("DIR;" does not exist).
            cmd += ["--prepare", prepare if isinstance(argv, str) else "sh -c " + shlex_quote(prepare)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        data = json.load(open(out.name))
    return data["results"][0]["median"] * 1000


def wall_ms_interleaved(mine, peer, runs=RUNS, warmup=10, prepare=None, peer_prepare=None):
    """Median wall times in milliseconds of two commands run in turns (mine, peer, peer,
    mine, ...), so that a slow spell of this VM (steal time, a disk flush, the kernel's
    cleanup of earlier runs) falls on both alike; hyperfine runs one command's runs, then
    the other's. Each run is a posix_spawn and a wait: the same small overhead for both.
    `prepare`/`peer_prepare`: shell commands run, untimed, before each run of each."""
    def once(argv):
        p = prepare if argv is mine else peer_prepare
        if p:
            subprocess.run(["sh", "-c", p], check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        with open(os.devnull, "wb") as null:
            pid = os.posix_spawnp(argv[0], argv, os.environ,
                                  file_actions=[(os.POSIX_SPAWN_DUP2, null.fileno(), 1)])
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), argv)
        return (time.perf_counter() - t0) * 1000
    for i in range(warmup):
        once(mine), once(peer)
    a, b = [], []
    for i in range(runs):
        pair = [(mine, a), (peer, b)] if i % 2 == 0 else [(peer, b), (mine, a)]
        for argv, out in pair:
            out.append(once(argv))
    return statistics.median(a), statistics.median(b)


def peak_rss_mib(argv, runs=20, prepare=None):
    """Median peak resident set size in MiB, through GNU time: a child forked from this
    Python process would count Python's own pages in its peak (the kernel keeps the
    high-water mark across exec). `prepare`, a shell command, runs before each sample, as
    for the times (a pull into an emptied store, not one that finds the image there)."""
    samples = []
    for _ in range(runs):
        if prepare:
            subprocess.run(["sh", "-c", prepare], check=True, stdout=subprocess.DEVNULL)
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples.append(int(p.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(samples)


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def available(argv):
    return shutil.which(argv[0]) is not None


rows = []


def row(case, mine, peer=None, rss=True, runs=RUNS, prepare=None, peer_prepare=None, peer_name=None, warmup=10,
        interleave=False, peer_rss=True):
    """One line: mdlua's command against a peer's (or alone). `interleave`: both timed in
    turns (wall_ms_interleaved), for the rows whose peer leaves no work behind that would
    land in mdlua's runs (podman does: its cleanup goes on after it exits). Without
    `peer_rss`, the peer's memory is not measured (a shell pipeline's would be the shell's)."""
    if interleave and peer and available(peer):
        mine_ms, peer_ms = wall_ms_interleaved(mine, peer, runs, warmup, prepare, peer_prepare)
        r = {"case": case, "mine_ms": mine_ms, "peer": peer_name or " ".join(peer), "peer_ms": peer_ms}
        if rss:
            r["mine_rss"] = peak_rss_mib(mine, runs=min(runs, 20), prepare=prepare)
            if peer_rss:
                r["peer_rss"] = peak_rss_mib(peer, runs=min(runs, 20), prepare=peer_prepare)
        rows.append(r)
        return
    r = {"case": case, "mine_ms": wall_ms(mine, runs, prepare, warmup), "peer": None}
    if rss and not isinstance(mine, str):
        r["mine_rss"] = peak_rss_mib(mine, runs=min(runs, 20), prepare=prepare)
    if peer and (isinstance(peer, str) or available(peer)):
        r["peer"] = peer_name or (peer if isinstance(peer, str) else " ".join(shlex_quote(a) for a in peer))
        try:
            r["peer_ms"] = wall_ms(peer, runs, peer_prepare, warmup)
            if rss and not isinstance(peer, str):
                r["peer_rss"] = peak_rss_mib(peer, runs=min(runs, 20), prepare=peer_prepare)
        except subprocess.CalledProcessError:
            r["peer"] += " (failed here)"
    elif peer:
        r["peer"] = " ".join(peer) + " (not installed)"
    rows.append(r)


def bench_binary():
    row("`mdlua -e ''` vs `lua5.4 -e ''`", [MDLUA, "-e", ""], ["lua5.4", "-e", ""])
    row("`mdlua help`", [MDLUA, "help"], ["lua5.4", "-e", ""])
    row("`mdlua --version`", [MDLUA, "--version"])


CACHE = os.environ.get("BENCH_CACHE", "/var/tmp/mdlua-bench")
WORK = tempfile.mkdtemp(prefix="mdlua-bench-")
PODMAN = ["podman", "--storage-driver", "overlay", "--events-backend", "file", "--cgroup-manager", "cgroupfs"]


def md(*args, root):
    subprocess.run([MDLUA, "--root", root, *args], check=True, stdout=subprocess.DEVNULL)


def debian_archive():
    """A docker archive of a debootstrap'd Debian (~100-300 MB), made once and cached: from
    the test suite's image (scripts/test-images.sh, Debian with gcc) when it is there, so that
    the benchmark reaches no mirror; else by debootstrap."""
    archive = os.path.join(CACHE, "debian.tar")
    if not os.path.exists(archive):
        os.makedirs(CACHE, exist_ok=True)
        root = tempfile.mkdtemp(prefix="archive-", dir=CACHE)
        tested = os.path.join(os.environ.get("MDLUA_TEST_CACHE", "/var/tmp/mdlua-test-cache"), "debian-gcc-bookworm.tar")
        if os.path.exists(tested):
            md("load", "-q", "-i", tested, root=root)
            md("tag", "debian-gcc:bookworm", "bench-debian:1", root=root)
        else:
            md("image", "bootstrap", "debian", "bench-debian:1", root=root)
        md("save", "-o", archive + ".new", "bench-debian:1", root=root)
        shutil.rmtree(root, ignore_errors=True)
        os.rename(archive + ".new", archive)
    return archive


def bench_images():
    archive = debian_archive()
    size_mb = os.path.getsize(archive) / 1e6
    root = os.path.join(WORK, "load-root")
    proot = os.path.join(WORK, "podman")
    floor_dir = os.path.join(WORK, "floor")
    q = shlex_quote
    # load: into an empty store each run.
    # Every prepare step ends with sync: deleting a tree leaves the journal busy, which
    # would slow whichever command runs next.
    row(f"`mdlua load` of a {size_mb:.0f} MB docker archive (empty store)",
        [MDLUA, "--root", root, "load", "-q", "-i", archive], rss=True, runs=5, warmup=1,
        prepare=f"rm -rf {q(root)}; sync",
        peer=" ".join(PODMAN) + f" --root {q(proot)}/root --runroot {q(proot)}/run load -q -i {q(archive)}",
        peer_name="podman load", peer_prepare=f"{' '.join(PODMAN)} --root {q(proot)}/root --runroot {q(proot)}/run system reset -f >/dev/null 2>&1; rm -rf {q(proot)}; sync")
    # The floor: unpack the image's rootfs (its layer tar) and hash the archive's bytes.
    layer_tar = os.path.join(WORK, "layer.tar")
    subprocess.run(f"tar -xOf {q(archive)} $(tar -tf {q(archive)} | grep -v -e json -e repositories | "
                   f"grep 'blobs/sha256/.' | while read f; do s=$(tar -xOf {q(archive)} $f | wc -c); echo \"$s $f\"; done | "
                   f"sort -n | tail -1 | cut -d' ' -f2) > {q(layer_tar)}", shell=True, check=True)
    row(f"`mdlua load` vs the floor (`tar -x` of the rootfs + `sha256sum` of the archive)",
        [MDLUA, "--root", root, "load", "-q", "-i", archive], rss=False, runs=5, warmup=1,
        prepare=f"rm -rf {q(root)}; sync",
        peer=f"mkdir -p {q(floor_dir)} && tar -xf {q(layer_tar)} -C {q(floor_dir)} && sha256sum {q(archive)} >/dev/null",
        peer_name="tar -x + sha256sum", peer_prepare=f"rm -rf {q(floor_dir)}; sync")
    # save: from a store holding the image.
    md("load", "-q", "-i", archive, root=root)
    subprocess.run(PODMAN + ["--root", proot + "/root", "--runroot", proot + "/run", "load", "-q", "-i", archive],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = os.path.join(WORK, "saved.tar")
    row("`mdlua save` (docker format)", [MDLUA, "--root", root, "save", "-o", out, "bench-debian:1"], runs=5, warmup=1,
        peer=PODMAN + ["--root", proot + "/root", "--runroot", proot + "/run", "save", "-q", "-o", out + ".p",
                       "bench-debian:1"], prepare=f"rm -f {q(out)}; sync", peer_prepare=f"rm -f {q(out)}.p; sync",
        peer_name="podman save")
    # layer create: the unpacked Debian tree.
    tree = subprocess.run([MDLUA, "--root", root, "-e", "print(md.layer.path(md.image.get('bench-debian:1').layers[1]))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The last run's store is moved aside, not deleted, and the lot removed after the row:
    # on this VM's ext4 without a journal, every file created in the next 60 s (300 s while
    # the inode table block is dirty) first steps over each inode just freed (the kernel's
    # recently_deleted()), which added 2-5 s to each run of this row, and nothing to the
    # floor's, which creates no file (docs/benchmarks.md). Interleaved with the floor, and
    # both after a sync: the last layer's dirty pages would be written back during the next run.
    lroot = os.path.join(WORK, "layer-root")
    aside = os.path.join(WORK, "layer-roots-used")
    os.makedirs(aside, exist_ok=True)
    row("`mdlua layer create` of the Debian tree", [MDLUA, "--root", lroot, "layer", "create", tree], runs=5, warmup=1,
        prepare=f"[ ! -d {q(lroot)} ] || mv {q(lroot)} {q(aside)}/$(date +%s%N); sync",
        peer=["sh", "-c", f"tar -C {q(tree)} -cf - . | sha256sum >/dev/null"],
        peer_prepare="sync", peer_name="tar -c | sha256sum", interleave=True, peer_rss=False)
    shutil.rmtree(aside, ignore_errors=True)
    shutil.rmtree(lroot, ignore_errors=True)
    # overlay preparation, in process: mount + unmount of a 5-layer image.
    five = os.path.join(WORK, "five")
    script = os.path.join(WORK, "overlay.lua")
    with open(script, "w") as f:
        f.write("""
local root = ...
local ids = {}
for i = 1, 5 do
  local d = md.fs.tempdir("/tmp/mdlua-bench-layer-")
  md.fs.write(d .. "/f" .. i, tostring(i))
  ids[i] = md.layer.create(d, "bench").id
  md.fs.remove(d)
end
md.image.assemble("five:1", ids)
local dir = md.fs.tempdir("/tmp/mdlua-bench-ovl-")
local samples = {}
for i = 1, 200 do
  local t0 = md.sys.monotonic()
  local merged = md.image.mount("five:1", dir .. "/c" .. i)
  md.image.unmount(merged)
  samples[i] = (md.sys.monotonic() - t0) * 1000
end
md.fs.remove(dir)
table.sort(samples)
print(samples[#samples // 2])
""")
    res = subprocess.run([MDLUA, "--root", five, script, five], check=True, capture_output=True, text=True)
    rows.append({"case": "overlay rootfs of a 5-layer image: mount + unmount, in process (goal < 5 ms)",
                 "mine_ms": float(res.stdout.strip()), "peer": None})


@contextlib.contextmanager
def crun_can_run():
    """crun 1.8 refuses this host's hybrid layout unless hugetlb has a v1 hierarchy
    (docs/design.md, "Running the peers here"): one is mounted for the benchmark and
    removed after it."""
    path = "/sys/fs/cgroup/hugetlb"
    mounted = False
    if not os.path.ismount(path):
        os.makedirs(path, exist_ok=True)
        mounted = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", path],
                                 stderr=subprocess.DEVNULL).returncode == 0
    try:
        yield
    finally:
        if mounted:
            subprocess.run(["umount", path])
            os.rmdir(path)


def busybox_bundle(root, name, args, resources=None, parent=None):
    """An OCI bundle for crun and runc with the busybox image's rootfs, from `crun spec`
    (or `runc spec`), running `args`, in `parent` (default: the benchmark's directory).
    Returns its path, or None with neither installed."""
    tool = next((t for t in ("crun", "runc") if shutil.which(t)), None)
    if tool is None:
        return None
    bundle = os.path.join(parent or WORK, name)
    os.makedirs(bundle + "/rootfs")
    q = shlex_quote
    subprocess.run(f"{q(MDLUA)} --root {q(root)} create --name {name} busybox true >/dev/null && "
                   f"{q(MDLUA)} --root {q(root)} export {name} | tar -x -C {q(bundle)}/rootfs && "
                   f"{q(MDLUA)} --root {q(root)} rm {name} >/dev/null", shell=True, check=True)
    subprocess.run([tool, "spec"], cwd=bundle, check=True)
    with open(bundle + "/config.json") as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    if resources:
        cfg["linux"]["resources"] = resources
    with open(bundle + "/config.json", "w") as f:
        json.dump(cfg, f)
    return bundle


def nft_tables():
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return set(line.strip() for line in out.splitlines() if line.startswith("table "))


def remove_netavark_tables(before):
    """netavark (through iptables-nft) makes `table ip nat` and `table ip filter` and leaves
    them when its networks are gone. A table that was not there before podman ran, and that
    holds only netavark's skeleton now (no rule of a network: nothing matches an address or
    names a container's port chain), is removed; one another program uses stays."""
    for table in nft_tables() - before:
        family_name = table.split()[1:]
        if family_name[:1] != ["ip"] or family_name[1:] not in (["nat"], ["filter"]):
            continue
        text = subprocess.run(["nft", "list", "table"] + family_name, capture_output=True, text=True).stdout
        chains = re.findall(r"^\s*chain (\S+)", text, re.M)
        if any(not (c.startswith("NETAVARK") or c in ("PREROUTING", "POSTROUTING", "OUTPUT", "INPUT", "FORWARD"))
               for c in chains):
            continue
        if re.search(r"\bip [sd]addr\b|NETAVARK-DN-", text):
            continue
        subprocess.run(["nft", "delete", "table"] + family_name, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def podman_with_image(name, root, own_networks=False):
    """podman with its own root, this host's settings (docs/design.md, "Running the peers
    here") and the busybox image loaded; reset afterwards. Yields the podman command line.
    `own_networks`: its network configuration and tmp dir under WORK too (a reset removes
    every network of the configuration dir, and podman-compose makes some), and runc, as
    crun needs a system-wide hugetlb mount on this host (crun_can_run)."""
    conf = os.path.join(WORK, "containers.conf")
    with open(conf, "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    proot = os.path.join(WORK, name)
    podman = ["podman", "--root", proot + "/root", "--runroot", proot + "/run", "--storage-driver", "overlay"]
    if own_networks:
        os.makedirs(proot + "/net", exist_ok=True)
        os.makedirs(proot + "/tmp", exist_ok=True)
        podman += ["--network-config-dir", proot + "/net", "--tmpdir", proot + "/tmp", "--runtime", "runc"]
    archive = os.path.join(WORK, name + ".tar")
    md("save", "-o", archive, "busybox", root=root)
    os.environ["CONTAINERS_CONF"] = conf
    tables = nft_tables()
    try:
        subprocess.run(podman + ["load", "-q", "-i", archive], check=True, stdout=subprocess.DEVNULL)
        yield podman
    finally:
        subprocess.run(podman + ["system", "reset", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        del os.environ["CONTAINERS_CONF"]
        remove_netavark_tables(tables)


def settle():
    """Dirty pages of the set-up (the image's bootstrap, a build just before) written out
    before the rows that make containers, for mdlua and the peer alike."""
    subprocess.run(["sync"])
    time.sleep(5)


@contextlib.contextmanager
def journaled_ext4(name):
    """A fresh ext4 with its journal (mkfs's default, as Debian installs it) on a loop
    device, mounted for the rows inside and removed after them. This VM's own disk is ext4
    without a journal, where each new file scans past the inodes freed in the last minute
    (docs/benchmarks.md): the rows on it pay that for every file a run makes."""
    image = os.path.join(WORK, name + ".img")
    mnt = os.path.join(WORK, name)
    os.makedirs(mnt)
    with open(image, "wb") as f:
        f.truncate(2 << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    subprocess.run(["mount", "-o", "loop", image, mnt], check=True)   # the loop device goes with the umount
    try:
        yield mnt
    finally:
        subprocess.run(["umount", mnt])
        os.unlink(image)


def bench_run():
    root = os.path.join(WORK, "run-root")
    md("image", "bootstrap", "busybox", root=root)
    settle()
    # On --network none: crun, runc and podman --network none set no network up either (the
    # default network's cost is the network area's row).
    mine = [MDLUA, "--root", root, "run", "--rm", "--network", "none", "busybox", "true"]
    bundle = busybox_bundle(root, "run-bundle", ["/bin/true"])
    with crun_can_run():
        for runtime in ["crun", "runc"]:
            if bundle and shutil.which(runtime):
                row(f"`mdlua run --rm --network none busybox true` vs `{runtime} run` (same rootfs)", mine, runs=100,
                    peer=[runtime, "run", "--bundle", bundle, f"bench-{runtime}"], peer_name=f"{runtime} run",
                    interleave=True)
    # The same pair with everything on a journaled ext4: the state root, and the bundle
    # (crun keeps its own state on tmpfs, /run/crun, wherever the bundle is).
    if shutil.which("crun") and shutil.which("mkfs.ext4"):
        with journaled_ext4("ext4j") as fs, crun_can_run():
            jroot = os.path.join(fs, "root")
            md("image", "bootstrap", "busybox", root=jroot)
            jbundle = busybox_bundle(jroot, "run-bundle", ["/bin/true"], parent=fs)
            settle()
            row("`mdlua run --rm --network none busybox true` vs `crun run`, both on a journaled ext4 (a loop device: "
                "the state root and the bundle)", [MDLUA, "--root", jroot, "run", "--rm", "--network", "none", "busybox", "true"],
                runs=100, peer=["crun", "run", "--bundle", jbundle, "bench-crun-ext4j"], peer_name="crun run", interleave=True)
    with podman_with_image("podman-run", root) as podman:
        # Loading the image into podman's store leaves dirty pages that slow whatever runs
        # next on this disk: flushed first, for both.
        subprocess.run(["sync"])
        row("`mdlua run --rm --network none busybox true` vs `podman run --rm --network none`", mine, runs=30,
            peer=podman + ["run", "--rm", "--network", "none", "busybox", "true"], peer_name="podman run --rm --network none")


def rss_kib(pid, field="VmRSS:", path="status"):
    with open(f"/proc/{pid}/{path}") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    """Proportional set size: pages shared with other processes count in part."""
    return rss_kib(pid, "Pss:", "smaps_rollup")


def bench_lifecycle():
    root = os.path.join(WORK, "life-root")
    md("image", "bootstrap", "busybox", root=root)
    mdlua = [MDLUA, "--root", root]

    def run_detached():
        cid = subprocess.run(mdlua + ["run", "-d", "busybox", "sleep", "1000"], check=True, capture_output=True,
                             text=True).stdout.strip()
        monitor = subprocess.run(mdlua + ["-e", f"print(md.container.get('{cid}').monitor_pid)"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        return cid, monitor

    cid, _ = run_detached()
    # crun: a detached container from a bundle of the same rootfs.
    bundle = busybox_bundle(root, "life-bundle", ["sleep", "1000"])
    crun_id = "bench-exec"
    try:
        with crun_can_run():
            peer = None
            if bundle and shutil.which("crun"):
                subprocess.run(["crun", "run", "-d", "--bundle", bundle, crun_id], check=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                peer = ["crun", "exec", crun_id, "/bin/true"]
            row("`mdlua exec C true` vs `crun exec`", mdlua + ["exec", cid, "true"], peer=peer, runs=100,
                peer_name="crun exec")
            if peer:
                subprocess.run(["crun", "kill", crun_id, "KILL"], stderr=subprocess.DEVNULL)
                time.sleep(0.2)
                subprocess.run(["crun", "delete", "-f", crun_id], stderr=subprocess.DEVNULL)
        # podman: a running container of the same image, and its conmon.
        with podman_with_image("podman-life", root) as podman:
            pid_ = subprocess.run(podman + ["run", "-d", "--network", "none", "busybox", "sleep", "1000"], check=True,
                                  capture_output=True, text=True).stdout.strip()
            row("`mdlua exec C true` vs `podman exec`", mdlua + ["exec", cid, "true"], runs=30,
                peer=podman + ["exec", pid_, "true"], peer_name="podman exec")
            # Both idle and settled: a fresh container, nothing else of mdlua's running (the
            # monitor trims its start-up pages after a second, unless another process shares them).
            _, monitor = run_detached()
            time.sleep(2.5)
            conmon = subprocess.run(["pgrep", "-f", "conmon.*" + pid_[:12]], capture_output=True, text=True).stdout.split()
            for case, measure in [("resident memory (RSS) of an idle container's monitor vs conmon (goal: no larger)", rss_kib),
                                  ("the same as PSS (the binary's pages are shared by all monitors: 2 running here)", pss_kib)]:
                rows.append({"case": case, "mine_ms": None, "mine_rss": measure(monitor) / 1024, "peer": "conmon",
                             "peer_rss": measure(conmon[0]) / 1024 if conmon else None})
            subprocess.run(podman + ["rm", "-f", "-t", "0", pid_], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # run -d until running, and ps with 100 containers.
        row("`mdlua run -d busybox sleep 100` (until running)", mdlua + ["run", "-d", "busybox", "sleep", "100"], runs=20,
            rss=False)
        subprocess.run(mdlua + ["-e", "for _, c in ipairs(md.container.list{ all = true }) do c:rm{force=true} end"], check=True)
        for i in range(100):
            subprocess.run(mdlua + ["create", "busybox", "true"], check=True, stdout=subprocess.DEVNULL)
        row("`mdlua ps -a` with 100 containers", mdlua + ["ps", "-a"], runs=20)
    finally:
        subprocess.run(mdlua + ["-e", "for _, c in ipairs(md.container.list{ all = true }) do c:rm{force=true} end"])


def traced_phases(cmd, runs):
    """Median milliseconds between MDLUA_TRACE marks of `cmd`, keyed by (from, to) label."""
    spans = {}
    for _ in range(runs):
        p = subprocess.run(cmd, env=dict(os.environ, MDLUA_TRACE="1"), capture_output=True, text=True)
        marks = {}
        for line in p.stderr.splitlines():
            m = re.match(r"^\+(\d+) us (.*)$", line)
            if m:
                marks[m.group(2)] = int(m.group(1))
        for a in marks:
            for b in marks:
                spans.setdefault((a, b), []).append((marks[b] - marks[a]) / 1000)
    return {k: statistics.median(v) for k, v in spans.items() if len(v) == runs}


def bench_resources():
    root = os.path.join(WORK, "res-root")
    md("image", "bootstrap", "busybox", root=root)
    settle()
    mdlua = [MDLUA, "--root", root]
    # Measured inside the command, from its own trace: the time between the marks around the
    # cgroup's creation (with the limits written) and around its removal.
    spans = traced_phases(mdlua + ["run", "--rm", "--network", "none", "-m", "64m", "--cpus", "1", "busybox", "true"], runs=50)
    create = spans.get(("cgroup to create", "cgroup created"))
    remove = spans.get(("cgroup release", "cgroup removed"))
    rows.append({"case": "cgroups: create, configure and remove, inside `run --rm -m 64m --cpus 1` (MDLUA_TRACE; goal < 1 ms)",
                 "mine_ms": create + remove if create is not None and remove is not None else None, "peer": None})
    bundle = busybox_bundle(root, "res-bundle", ["/bin/true"],
                            {"memory": {"limit": 64 << 20}, "cpu": {"quota": 100000, "period": 100000}})
    with crun_can_run():
        peer = ["crun", "run", "--bundle", bundle, "bench-res"] if bundle and shutil.which("crun") else None
        row("`mdlua run --rm --network none -m 64m --cpus 1 busybox true` vs `crun run` with the same limits",
            mdlua + ["run", "--rm", "--network", "none", "-m", "64m", "--cpus", "1", "busybox", "true"], peer=peer, runs=50,
            peer_name="crun run",
            interleave=True)


@contextlib.contextmanager
def local_registry():
    """Debian's docker-registry on 127.0.0.1 at a free port, its storage in WORK; stopped
    afterwards. Yields HOST:PORT."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    d = os.path.join(WORK, "registry")
    os.makedirs(d)
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {d}/storage\n"
                f"http:\n  addr: 127.0.0.1:{port}\n  secret: bench\n")
    p = subprocess.Popen(["docker-registry", "serve", os.path.join(d, "config.yml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        p.terminate()
        p.wait()


def installed_binary():
    """mdlua as `make install` puts it (stripped, the registry helper inside), copied alone
    into WORK: no `mdlua-registry` beside it, so it runs the helper it carries (its copy in
    the state root). The build's binary when it carries none (a debug build)."""
    sections = subprocess.run(["objdump", "-h", MDLUA], capture_output=True, text=True).stdout
    if ".mdlua_registry" not in sections:
        return MDLUA, "the build's binary, helper beside it"
    d = os.path.join(WORK, "installed")
    os.makedirs(d)
    subprocess.run(["install", "-s", "-m", "0755", MDLUA, os.path.join(d, "mdlua")], check=True)
    return os.path.join(d, "mdlua"), "installed"


def bench_registry():
    """Pulls from a registry on 127.0.0.1 into an empty store: a ~50 MB one-layer image and
    a 5-layer one (gzip layers of incompressible data), against `skopeo copy` to an OCI
    layout and `podman pull` of the same. mdlua is the single-file binary as installed; the
    store is emptied before each pull but for the helper's copy (ROOT/helpers), which an
    installed mdlua writes once; one more row times the first pull of a new binary, which
    writes it."""
    if not available(["docker-registry"]) or not available(["skopeo"]):
        rows.append({"case": "registry pulls", "mine_ms": None, "peer": "docker-registry or skopeo not installed"})
        return
    q = shlex_quote
    binary, how = installed_binary()
    src = os.path.join(WORK, "reg-src")
    with local_registry() as host:
        images = {"one": [50_000_000], "five": [10_000_000] * 5}
        for name, sizes in images.items():
            layers = []
            for i, size in enumerate(sizes):
                tree = os.path.join(WORK, f"tree-{name}-{i}")
                os.makedirs(tree)
                with open(os.path.join(tree, "data"), "wb") as f:
                    f.write(os.urandom(size))
                out = subprocess.run([MDLUA, "--root", src, "layer", "create", tree], check=True,
                                     capture_output=True, text=True).stdout.strip()
                layers.append(out)
            md("image", "assemble", f"bench-{name}:1", *layers, root=src)
            archive = os.path.join(WORK, f"{name}.tar")
            md("save", "--format", "oci", "-o", archive, f"bench-{name}:1", root=src)
            subprocess.run(["skopeo", "copy", "-q", "--dest-compress", "--dest-tls-verify=false",
                            f"oci-archive:{archive}", f"docker://{host}/bench/{name}:1"], check=True)
        for name, label in [("one", "a 50 MB one-layer image"), ("five", "a 5-layer image (5 x 10 MB)")]:
            ref = f"{host}/bench/{name}:1"
            root = os.path.join(WORK, f"pull-{name}")
            layout = os.path.join(WORK, f"skopeo-{name}")
            proot = os.path.join(WORK, "podman-pull")
            mine = [binary, "--root", root, "pull", "-q", ref]
            empty = f"mkdir -p {q(root)}; find {q(root)} -mindepth 1 -maxdepth 1 ! -name helpers -exec rm -rf {{}} +; sync"
            skopeo = ["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"oci:{layout}:x"]
            # In turns with skopeo (which leaves no work behind), so that this VM's slow
            # spells fall on both alike.
            row(f"`mdlua pull` ({how}) of {label} from a local registry vs `skopeo copy docker://... oci:DIR`", mine,
                runs=9, warmup=1, prepare=empty, peer=skopeo, interleave=True,
                peer_prepare=f"rm -rf {q(layout)}; sync", peer_name="skopeo copy")
            if name == "five":
                row(f"`mdlua pull` ({how}) of {label}, the first of a new binary (writes the helper's copy) "
                    "vs `skopeo copy`", mine, runs=9, warmup=1, interleave=True,
                    prepare=f"rm -rf {q(root)}; mkdir {q(root)}; sync", peer=skopeo,
                    peer_prepare=f"rm -rf {q(layout)}; sync", peer_name="skopeo copy")
            podman = PODMAN + ["--root", proot + "/root", "--runroot", proot + "/run"]
            row(f"`mdlua pull` ({how}) of {label} from a local registry vs `podman pull`", mine,
                runs=5, warmup=1, prepare=empty,
                peer=podman + ["pull", "-q", "--tls-verify=false", ref],
                peer_prepare=f"{' '.join(podman)} system reset -f >/dev/null 2>&1; rm -rf {q(proot)}; sync",
                peer_name="podman pull")
            subprocess.run(podman + ["system", "reset", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# Networking (docs/networking.md) ----------------------------------------------------------

def transfer_ms(argv, runs=5):
    """Median wall milliseconds of a command that moves data (a few runs: each is long)."""
    times = []
    for _ in range(runs):
        t = time.monotonic()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.monotonic() - t) * 1000)
    return statistics.median(times)


def veth_floor_ms(send, sink_cmd, mtu=1500):
    """The same transfer between two network namespaces joined by a bare veth pair (what
    every container link is made of) with the MTU `mtu`, made here and removed after: what
    the kernel gives before any bridge or NAT rule."""
    a, b = f"mdbench-a{os.getpid()}", f"mdbench-b{os.getpid()}"
    ip = lambda *args: subprocess.run(["ip", *args], check=True, stdout=subprocess.DEVNULL)
    ip("netns", "add", a)
    try:
        ip("netns", "add", b)
        ip("link", "add", "mdbva", "netns", a, "mtu", str(mtu), "type", "veth", "peer", "name", "mdbvb", "netns", b,
           "mtu", str(mtu))
        ip("-n", a, "addr", "add", "192.0.2.1/30", "dev", "mdbva")   # TEST-NET-1, inside the namespaces only
        ip("-n", b, "addr", "add", "192.0.2.2/30", "dev", "mdbvb")
        ip("-n", a, "link", "set", "mdbva", "up")
        ip("-n", b, "link", "set", "mdbvb", "up")
        sink = subprocess.Popen(["ip", "netns", "exec", b, "busybox", "sh", "-c", sink_cmd.format(9000)],
                                start_new_session=True, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            return transfer_ms(["ip", "netns", "exec", a, "busybox", "sh", "-c", send.format("192.0.2.2", 9000)])
        finally:
            os.killpg(sink.pid, 9)
            sink.wait()
    finally:
        subprocess.run(["ip", "netns", "del", a], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", b], stderr=subprocess.DEVNULL)


def bench_network():
    root = os.path.join(WORK, "net-root")
    md("image", "bootstrap", "busybox", root=root)
    settle()
    mdr = [MDLUA, "--root", root]
    bridge_run = mdr + ["run", "--rm", "busybox", "true"]   # the default network
    none_run = mdr + ["run", "--rm", "--network", "none", "busybox", "true"]
    # Cold: no other container, so each run makes the default network's bridge and its rules
    # and the rm removes them (as Podman's netavark does with podman0 when its last container goes).
    row("`mdlua run --rm busybox true` on the default network, its bridge made and removed by each run, "
        "vs `--network none`", bridge_run, runs=30, peer=none_run, peer_name="mdlua --network none", interleave=True)
    # A container that keeps the default network's bridge up, as on a host that uses it: the
    # rows measure the attachment, not the bridge's first creation.
    subprocess.run(mdr + ["run", "-d", "--name", "keep", "busybox", "sleep", "3600"],
                   check=True, stdout=subprocess.DEVNULL)
    try:
        row("`mdlua run --rm busybox true` on the default network (bridge up) vs `--network none` (goal: under 3 ms more)",
            bridge_run, runs=100, peer=none_run, peer_name="mdlua --network none", interleave=True)
        with podman_with_image("podman-net", root) as podman:
            subprocess.run(["sync"])
            row("`mdlua run --rm busybox true` (default network, bridge up) vs `podman run --rm` (its default bridge) "
                "(goal: under 10%)", bridge_run, runs=30,
                peer=podman + ["run", "--rm", "busybox", "true"], peer_name="podman run --rm (bridge)")
        # Throughput: 256 MiB through busybox nc, against the same over the host's loopback.
        # The sink is a persistent `nc -ll` that hands each connection to dd, which reads it
        # to its end (a plain `nc -l` ends when its own stdin, /dev/null here, ends); the
        # sender's nc shuts its side down at the end of its input and waits for the sink to
        # close, so a transfer's time covers every byte read.
        mib = 256
        send = f"dd if=/dev/zero bs=1M count={mib} 2>/dev/null | nc {{}} {{}}"
        sink_cmd = "nc -ll -p {} -e dd of=/dev/null bs=64k"
        sink = ["busybox", "sh", "-c", sink_cmd.format(9000)]
        subprocess.run(mdr + ["run", "-d", "--name", "sink", "-p", "127.0.0.1:19000:9000"] + sink,
                       check=True, stdout=subprocess.DEVNULL)
        ip = subprocess.run(mdr + ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "sink"], check=True,
                            capture_output=True, text=True).stdout.strip()
        host_sink = subprocess.Popen(["busybox", "sh", "-c", sink_cmd.format(19001)], start_new_session=True,
                                     stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The same on a network created with MTU 65000 (`-o com.docker.network.driver.mtu`), for
        # traffic that stays on the host: at 1500 a veth pair's packet rate is the limit.
        try:
            md("network", "create", "-o", "com.docker.network.driver.mtu=65000", "jumbo", root=root)
            subprocess.run(mdr + ["run", "-d", "--name", "jumbo-sink", "--network", "jumbo", "-p", "127.0.0.1:19002:9000"]
                           + sink, check=True, stdout=subprocess.DEVNULL)
            subprocess.run(mdr + ["run", "-d", "--name", "jumbo-keep", "--network", "jumbo", "busybox", "sleep", "3600"],
                           check=True, stdout=subprocess.DEVNULL)
            jumbo_ip = subprocess.run(mdr + ["inspect", "-f", "{{.NetworkSettings.Networks.jumbo.IPAddress}}", "jumbo-sink"],
                                      check=True, capture_output=True, text=True).stdout.strip()
            time.sleep(0.5)
            loopback = transfer_ms(["busybox", "sh", "-c", send.format("127.0.0.1", 19001)])
            c2c = transfer_ms(mdr + ["exec", "keep", "sh", "-c", send.format(ip, 9000)])
            dnat = transfer_ms(["busybox", "sh", "-c", send.format("127.0.0.1", 19000)])
            veth = veth_floor_ms(send, sink_cmd)
            c2c_jumbo = transfer_ms(mdr + ["exec", "jumbo-keep", "sh", "-c", send.format(jumbo_ip, 9000)])
            dnat_jumbo = transfer_ms(["busybox", "sh", "-c", send.format("127.0.0.1", 19002)])
            veth_jumbo = veth_floor_ms(send, sink_cmd, mtu=65000)
            loopback_again = transfer_ms(["busybox", "sh", "-c", send.format("127.0.0.1", 19001)])
            floors = (veth, veth_jumbo)
            for case, ms, lo in [
                    (f"{mib} MiB container to container (busybox nc) vs the host's loopback", c2c, loopback),
                    (f"{mib} MiB host to a published port on 127.0.0.1 (DNAT) vs the host's loopback", dnat, loopback),
                    (f"{mib} MiB over a bare veth pair between two namespaces (no mdlua, no bridge, no NAT; "
                     "MTU 1500 as mdlua's links: the kernel's floor for the rows above) vs the host's loopback", veth, loopback),
                    (f"{mib} MiB container to container on a network with MTU 65000 vs the host's loopback", c2c_jumbo,
                     loopback_again),
                    (f"{mib} MiB host to a published port on 127.0.0.1 (DNAT) of a container on a network with MTU 65000 "
                     "vs the host's loopback", dnat_jumbo, loopback_again),
                    (f"{mib} MiB over a bare veth pair with MTU 65000 (the floor for the two rows above) vs the host's "
                     "loopback", veth_jumbo, loopback_again)]:
                goal = "" if any(ms is f for f in floors) else "; goal: at least 80% of loopback's"
                rows.append({"case": case + f" ({mib * 1000 / ms:.0f} MiB/s, {lo / ms:.0%} of loopback{goal})",
                             "mine_ms": ms, "peer": f"loopback ({mib * 1000 / lo:.0f} MiB/s)", "peer_ms": lo})
        finally:
            os.killpg(host_sink.pid, 9)
            host_sink.wait()
    finally:
        subprocess.run(mdr + ["rm", "-f", "keep", "sink", "jumbo-sink", "jumbo-keep"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(mdr + ["network", "rm", "jumbo"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_volumes():
    """A run with one bind mount and one named volume against the same run without them,
    in turns (docs/volumes.md; goal: under 1 ms added); a run with a size-limited writable
    layer against the same run without."""
    root = os.path.join(WORK, "vol-root")
    host = os.path.join(WORK, "vol-host")
    os.makedirs(host, exist_ok=True)
    md("image", "bootstrap", "busybox", root=root)
    md("volume", "create", "bench", root=root)
    settle()
    mdlua = [MDLUA, "--root", root]
    plain = mdlua + ["run", "--rm", "busybox", "true"]
    mounted = mdlua + ["run", "--rm", "-v", host + ":/h", "-v", "bench:/v", "busybox", "true"]
    mine_ms, peer_ms = wall_ms_interleaved(mounted, plain, runs=100)
    rows.append({"case": "`mdlua run --rm -v /host:/h -v vol:/v busybox true` vs the same without mounts (goal < 1 ms added)",
                 "mine_ms": mine_ms, "peer": "mdlua run --rm busybox true", "peer_ms": peer_ms})
    md("volume", "rm", "bench", root=root)
    # --storage-opt size=: the writable layer's own ext4 (mkfs.ext4, a loop device, a mount,
    # and their removal at the exit), Container/WritableLayer.swift.
    limited = mdlua + ["run", "--rm", "--storage-opt", "size=1G", "busybox", "true"]
    mine_ms, peer_ms = wall_ms_interleaved(limited, plain, runs=100)
    rows.append({"case": "`mdlua run --rm --storage-opt size=1G busybox true` vs the same without a size limit",
                 "mine_ms": mine_ms, "peer": "mdlua run --rm busybox true", "peer_ms": peer_ms})


def fmt(v, unit):
    return "–" if v is None else f"{v:.2f} {unit}"


def bench_stacks():
    """`up -d` of a 10-service stack until every service runs (and, with health checks, until
    every one is healthy), and `down`, against podman-compose on the same Compose file."""
    root = os.path.join(WORK, "stack-root")
    md("image", "bootstrap", "busybox", root=root)
    d = os.path.join(WORK, "stack10")
    os.makedirs(d, exist_ok=True)
    plain, healthy = os.path.join(d, "compose.yaml"), os.path.join(d, "healthy.yaml")
    # A service that stops on SIGTERM (a shell as PID 1 ignores it without a trap): `down`
    # then measures stopping, not the stop timeout.
    command = "command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 600 & wait\"]"
    with open(plain, "w") as f:
        f.write("services:\n" + "".join(f"  s{i}:\n    image: busybox\n    {command}\n" for i in range(10)))
    with open(healthy, "w") as f:
        f.write("services:\n" + "".join(
            f"  s{i}:\n    image: busybox\n    {command}\n"
            f"    healthcheck: {{test: [\"CMD\", \"true\"], interval: 100ms}}\n" for i in range(10)))
    stack = [MDLUA, "--root", root]
    down = " ".join(stack + ["down", "-t", "0", "-f", plain, "-p", "bench"])
    settle()
    with podman_with_image("podman-stack", root, own_networks=True) as podman:
        compose = ["podman-compose", "--podman-args", " ".join(podman[1:]), "-f", plain, "-p", "benchpc"]
        peer_down = " ".join(shlex_quote(a) for a in compose + ["down", "-t", "0"]) + " >/dev/null 2>&1"
        # podman-compose exits 0 when a container failed to start: check that all ten run.
        subprocess.run(compose + ["up", "-d"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        running = subprocess.run(podman + ["ps", "-q", "--filter", "label=com.docker.compose.project=benchpc"],
                                 capture_output=True, text=True).stdout.split()
        if len(running) != 10:
            sys.exit(f"bench: podman-compose up -d ran {len(running)} of 10 containers here")
        subprocess.run(peer_down, shell=True)
        row("`mdlua up -d` of 10 services (until running) vs `podman-compose up -d`",
            stack + ["up", "-d", "-f", plain, "-p", "bench"], runs=5, warmup=1, prepare=down, rss=False,
            peer=compose + ["up", "-d"], peer_prepare=peer_down, peer_name="podman-compose up -d")
        subprocess.run(peer_down, shell=True)
        subprocess.run(stack + ["up", "-d", "-f", plain, "-p", "bench"], check=True, stderr=subprocess.DEVNULL)
        row("`mdlua down` of 10 services vs `podman-compose down`",
            stack + ["down", "-f", plain, "-p", "bench"], runs=5, warmup=0, rss=False,
            prepare=" ".join(stack + ["up", "-d", "-f", plain, "-p", "bench"]) + " 2>/dev/null",
            peer=compose + ["down"],
            peer_prepare=" ".join(shlex_quote(a) for a in compose + ["up", "-d"]) + " >/dev/null 2>&1",
            peer_name="podman-compose down")
        subprocess.run(peer_down, shell=True)
    hdown = " ".join(stack + ["down", "-t", "0", "-f", healthy, "-p", "benchh"])
    row("`mdlua up -d --wait` of 10 services with health checks (until all healthy)",
        stack + ["up", "-d", "--wait", "-f", healthy, "-p", "benchh"], runs=5, warmup=1, prepare=hdown, rss=False)
    subprocess.run(hdown, shell=True, stderr=subprocess.DEVNULL)
    subprocess.run(down, shell=True, stderr=subprocess.DEVNULL)


# Builds (docs/builds.md) -------------------------------------------------------------------

BUILD_DOCKERFILE = """FROM busybox AS build
ARG WHO=bench
ENV MODE=prod
WORKDIR /work
COPY src/ ./
RUN cat *.txt > all.txt && echo "made by $WHO" >> all.txt && mkdir out && cp all.txt out/
FROM busybox
COPY --from=build /work/out/ /app/
LABEL org.example.bench=1
USER nobody
ENTRYPOINT ["cat"]
CMD ["/app/all.txt"]
"""


def bench_build():
    """A two-stage Dockerfile (ARG, ENV, WORKDIR, COPY, RUN; COPY --from, LABEL, USER,
    ENTRYPOINT, CMD) from busybox, built by `mdlua build` and by `buildah bud --layers` (with
    runc: crun refuses this host's hybrid cgroups), each with its own store: every step run
    (--no-cache), no change (every step cached), and one copied file changed."""
    if not available(["buildah"]):
        rows.append({"case": "builds", "mine_ms": None, "peer": "buildah not installed"})
        return
    q = shlex_quote
    root = os.path.join(WORK, "build-root")
    md("image", "bootstrap", "busybox", root=root)
    ctx = os.path.join(WORK, "build-ctx")
    os.makedirs(os.path.join(ctx, "src"))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(BUILD_DOCKERFILE)
    for i in range(20):
        with open(os.path.join(ctx, "src", f"f{i}.txt"), "w") as f:
            f.write(f"file {i}\n" * 100)
    broot = os.path.join(WORK, "buildah")
    buildah = ["buildah", "--root", broot + "/root", "--runroot", broot + "/run", "--storage-driver", "overlay"]
    archive = os.path.join(WORK, "build-busybox.tar")
    md("save", "-o", archive, "busybox", root=root)
    tables = nft_tables()   # buildah's RUN steps make netavark's too
    try:
        image = subprocess.run(buildah + ["pull", "-q", "docker-archive:" + archive], check=True,
                               capture_output=True, text=True).stdout.strip()
        subprocess.run(buildah + ["tag", image, "docker.io/library/busybox:latest"], check=True)
        mine = [MDLUA, "--root", root, "build", "-q", "-t", "bench-build:1", ctx]
        peer = buildah + ["bud", "--runtime", "runc", "--pull=never", "--layers", "-q", "-t", "bench-build:1", ctx]
        # Warm both caches.
        subprocess.run(mine, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(peer, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        settle()
        row("`mdlua build --no-cache` of a two-stage Dockerfile vs `buildah bud --no-cache`",
            mine[:3] + ["build", "--no-cache"] + mine[4:], runs=5, warmup=1, rss=False,
            peer=peer[:7] + ["bud", "--no-cache"] + peer[8:], peer_name="buildah bud --no-cache")
        row("`mdlua build`, nothing changed (every step cached) vs `buildah bud --layers`",
            mine, runs=10, warmup=1, rss=False, peer=peer, peer_name="buildah bud --layers")
        change = os.path.join(ctx, "src", "f0.txt")
        touch = f"date +%s%N >> {q(change)}"
        row("`mdlua build`, one copied file changed vs `buildah bud --layers`",
            mine, runs=5, warmup=1, rss=False, prepare=touch, peer=peer, peer_prepare=touch,
            peer_name="buildah bud --layers")
    finally:
        subprocess.run(buildah + ["rm", "--all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(buildah + ["rmi", "--all", "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remove_netavark_tables(tables)
        # The overlay driver's own mounts of its home, if it left any.
        with open("/proc/self/mountinfo") as f:
            left = [line.split()[4] for line in f if line.split()[4].startswith(broot + "/")]
        for m in sorted(left, reverse=True):
            subprocess.run(["umount", "-l", m], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report():
    print("| case | mdlua | peer | peer time | time ratio | mdlua peak RSS | peer peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['mine_ms'] / r['peer_ms']:.2f}x" if r.get("peer_ms") and r.get("mine_ms") else "–"
        if r.get("mine_ms") is None and r.get("peer_rss") and r.get("mine_rss"):
            ratio = f"{r['mine_rss'] / r['peer_rss']:.2f}x (RSS)"
        print(f"| {r['case']} | {fmt(r['mine_ms'], 'ms')} | {r['peer'] or '–'} | "
              f"{fmt(r.get('peer_ms'), 'ms')} | {ratio} | {fmt(r.get('mine_rss'), 'MiB')} | "
              f"{fmt(r.get('peer_rss'), 'MiB')} |")


def main():
    if not shutil.which("hyperfine"):
        sys.exit("bench: hyperfine is missing (scripts/install-deps.sh installs it)")
    print(f"mdlua: {subprocess.run([MDLUA, '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"median of {RUNS} runs each; ratio = mdlua / peer (below 1 is faster)\n")
    # The image rows come last: they free tens of thousands of inodes, and ext4 without a
    # journal (this VM's disk) will not reuse an inode freed less than 60 s before (300 s
    # while its inode table block is dirty, as the rows that follow keep it): every file made
    # in those minutes scans past them. After the image rows, mdlua's run row measured 19-23 ms
    # against 12-13 ms before them; crun keeps its state on tmpfs and does not see it.
    areas = sys.argv[1:] or ["binary", "run", "resources", "lifecycle", "volumes", "network", "stacks",
                             "build", "images", "registry"]
    try:
        benches = {"binary": bench_binary, "run": bench_run, "resources": bench_resources,
                   "lifecycle": bench_lifecycle, "volumes": bench_volumes, "images": bench_images,
                   "registry": bench_registry, "network": bench_network, "stacks": bench_stacks,
                   "build": bench_build}
        for area in areas:
            if area not in benches:
                sys.exit(f"bench: unknown area {area!r} (one of {', '.join(benches)})")
            benches[area]()
    finally:
        subprocess.run(PODMAN + ["--root", os.path.join(WORK, "podman", "root"), "--runroot",
                                 os.path.join(WORK, "podman", "run"), "system", "reset", "-f"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(WORK, ignore_errors=True)
    report()


if __name__ == "__main__":
    main()
