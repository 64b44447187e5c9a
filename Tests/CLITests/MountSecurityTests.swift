import Foundation
import XCTest

/// Mounts that a container's own files cannot turn against the host: targets resolved in
/// the root (symlinks to /, /proc, host paths), masks whose source is the real null device
/// whatever a volume over /dev holds, nothing mounted on /proc, the symlink-swap race of
/// CVE-2021-30465, and --sysctl's rules.
final class MountSecurityTests: ContainerTestCase {
    /// A host directory whose path a hostile image's symlinks name.
    var hostDir: URL { dir.appendingPathComponent("hostside") }

    /// The host's mount points that matter here: on / itself and under the host-side
    /// directory (other tests run beside these ones, so the total count may change).
    func hostMounts() -> [String] {
        let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count > 4 else { return nil }
            let point = String(f[4])
            return point == "/" || point.hasPrefix(hostDir.path) ? point : nil
        }
    }

    /// An image whose mount targets are symlinks: to /, to /proc, to a host path, relative up.
    func makeHostileImage() throws {
        try FileManager.default.createDirectory(at: hostDir, withIntermediateDirectories: true)
        let r = md(["run", "--name", "h", "busybox", "sh", "-c",
                    "ln -s / /toroot; ln -s /proc /toproc; ln -s \(hostDir.path) /tohost; ln -s ../../../../.. /up; "
                    + "mkdir -p /deep && ln -s ../../../etc /deep/etc"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(md(["commit", "h", "hostile"]).status, 0)
        XCTAssertEqual(md(["rm", "h"]).status, 0)
    }

    func testSymlinkTargetsStayInsideTheRoot() throws {
        try makeHostileImage()
        let before = hostMounts()
        // To a host path: the mount lands at that path inside the root, made there.
        var r = md(["run", "--rm", "-v", "v:/tohost", "hostile", "sh", "-c",
                    "echo in > /tohost/f; cat \(hostDir.path)/f; grep -c ' \(hostDir.path) ' /proc/self/mountinfo"])
        XCTAssertEqual(r.stdout, "in\n1\n", r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: hostDir.appendingPathComponent("f").path), "nothing on the host")
        XCTAssertEqual(try? String(contentsOfFile: root + "/volumes/v/_data/f", encoding: .utf8), "in\n")
        // Relative links that climb: they stop at the root.
        r = md(["run", "--rm", "-v", "v:/deep/etc/x", "hostile", "sh", "-c", "cat /etc/x/f"])
        XCTAssertEqual(r.stdout, "in\n", r.stderr)
        r = md(["run", "--rm", "--tmpfs", "/up/tmp/t", "hostile", "sh", "-c", "grep -c ' /tmp/t ' /proc/self/mountinfo"])
        XCTAssertEqual(r.stdout, "1\n", r.stderr)
        // To / and to /proc: refused, one line.
        r = md(["run", "--rm", "-v", "v:/toroot", "hostile", "true"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("mount point /toroot: it is the container's root"), r.stderr)
        r = md(["run", "--rm", "-v", "v:/toproc", "hostile", "true"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("mount point /toproc: it is inside /proc"), r.stderr)
        r = md(["run", "--rm", "--mount", "type=tmpfs,target=/toproc/sys", "hostile", "true"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("inside /proc"), r.stderr)
        XCTAssertEqual(hostMounts(), before, "no mount on the host's / or its directory")
    }

    func testAVolumeOverProcIsRefused() {
        for target in ["/proc", "/proc/sys", "//proc/", "/proc/self/fd"] {
            let r = md(["run", "--rm", "-v", "v:" + target, "busybox", "true"])
            XCTAssertEqual(r.status, 125, target)
            XCTAssertTrue(r.stderr.contains("nothing but proc may be mounted on /proc"), r.stderr)
        }
        let r = md(["run", "--rm", "--mount", "type=bind,source=/tmp,target=/proc", "busybox", "true"])
        XCTAssertEqual(r.status, 125)
    }

    func testMasksTakeTheRealNullDeviceWhateverDevHolds() throws {
        // A volume over /dev whose null is a symlink to a file the container must not write,
        // and whose other names are symlinks too.
        var r = md(["run", "--rm", "-v", "devvol:/x", "busybox", "sh", "-c",
                    "ln -s /proc/sys/kernel/core_pattern /x/null; ln -s /proc/sysrq-trigger /x/zero; mkdir /x/pts /x/shm /x/mqueue"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let corePattern = try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)
        r = md(["run", "--rm", "-v", "devvol:/dev", "busybox", "sh", "-c",
                "ls -l /dev/null | cut -c1; stat -c '%t:%T' /proc/keys /proc/timer_list; echo '|/bin/pwned' > /proc/keys; "
                + "echo '|/bin/pwned' > /proc/sys/kernel/core_pattern; true"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "l\n1:3\n1:3\n", r.stderr)
        XCTAssertEqual(try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8), corePattern)
    }

    func testSysctlRules() {
        var r = md(["run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=1048576",
                    "--sysctl", "fs.mqueue.msg_max=20", "busybox", "cat",
                    "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax", "/proc/sys/fs/mqueue/msg_max"])
        XCTAssertEqual(r.stdout, "1\n1048576\n20\n", r.stderr)
        // Written in the container's namespaces: the host's are untouched.
        let hostForward = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)) ?? ""
        XCTAssertEqual(md(["run", "--rm", "--sysctl", "net.ipv4.ip_forward=0", "busybox", "true"]).status, 0)
        XCTAssertEqual((try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)) ?? "", hostForward)
        // And /proc/sys stays read-only after.
        r = md(["run", "--rm", "--sysctl", "kernel.sem=250 32000 100 128", "busybox", "sh", "-c",
                "cat /proc/sys/kernel/sem; echo 1 > /proc/sys/kernel/shmmni"])
        XCTAssertTrue(r.stdout.hasPrefix("250\t32000\t100\t128"), r.stdout)
        XCTAssertTrue(r.stderr.contains("Read-only file system"), r.stderr)
        for bad in ["kernel.hostname=x", "vm.swappiness=1", "net.ipv4.ip_forward=1+1", "net.ipv4.ip_forward=1=2",
                    "net.ipv4.ip_forward=1\nkernel.core_pattern=|x", "net/ipv4/ip_forward=1", "net..ipv4=1", "net.ipv4.=1",
                    "noequals", "=1", "net.ipv4.conf.all.forwarding"] {
            r = md(["run", "--rm", "--sysctl", bad, "busybox", "true"])
            XCTAssertEqual(r.status, 125, bad)
            XCTAssertTrue(r.stderr.hasPrefix("mdlua: invalid --sysctl"), "\(bad): \(r.stderr)")
        }
        r = md(["run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("own network namespace"), r.stderr)
    }

    /// CVE-2021-30465's pattern: one container swaps a directory in a shared volume for a
    /// symlink to / while another container with the same volume mounts something there.
    /// The mount goes where the target was when it was opened, inside the root, or the start
    /// fails with one line; never on the root or outside it.
    func testSymlinkSwapRace() {
        let before = hostMounts()
        let r = md(["run", "-d", "--name", "swapper", "-v", "race:/v", "busybox", "sh", "-c",
                    "while true; do rm -rf /v/t; mkdir /v/t; rm -rf /v/t; ln -s / /v/t; rm -f /v/t; ln -s /proc /v/t; done"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var landed = 0, refused = 0
        for _ in 0..<40 {
            let s = md(["run", "--rm", "-v", "race:/v", "--mount", "type=tmpfs,target=/v/t", "busybox", "sh", "-c",
                        "stat -f -c %t /; test -x /bin/sh"])
            if s.status == 0 {
                // The root is still the container's overlay (0x794c7630), its files there.
                XCTAssertEqual(s.stdout, "794c7630\n", s.stderr)
                landed += 1
            } else {
                XCTAssertEqual(s.status, 125, s.stderr)
                XCTAssertEqual(s.stderr.split(separator: "\n").count, 1, s.stderr)
                XCTAssertTrue(s.stderr.contains("/v/t"), s.stderr)
                refused += 1
            }
        }
        XCTAssertEqual(landed + refused, 40)
        XCTAssertEqual(md(["rm", "-f", "swapper"]).status, 0)
        XCTAssertEqual(hostMounts(), before, "no mount on the host's /")
    }
}
