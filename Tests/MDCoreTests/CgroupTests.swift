import Foundation
import XCTest
@testable import MDCore

/// Layout detection on the three kinds of host, and both drivers against a cgroupfs tree
/// written by the test (the v2 driver cannot run for real on this hybrid host).
final class CgroupTests: XCTestCase {
    let hybrid = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
    let pureV1 = """
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        """
    let pureV2 = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate"

    func testDetection() {
        XCTAssertEqual(CgroupLayout.detect(mountinfo: hybrid).name, "hybrid")
        XCTAssertEqual(CgroupLayout.detect(mountinfo: pureV1).name, "v1")
        XCTAssertEqual(CgroupLayout.detect(mountinfo: pureV2), .v2(mount: "/sys/fs/cgroup"))
        guard case .v1(let c, let unified) = CgroupLayout.detect(mountinfo: pureV1 + "\n" + hybrid) else { return XCTFail() }
        XCTAssertEqual(c["cpu"], "/sys/fs/cgroup/cpu", "the later mount of a controller wins")
        XCTAssertEqual(c["cpuacct"], "/sys/fs/cgroup/cpu,cpuacct")
        XCTAssertEqual(unified, "/sys/fs/cgroup/unified")
        guard case .v1(let c1, nil) = CgroupLayout.detect(mountinfo: pureV1) else { return XCTFail() }
        XCTAssertEqual(c1["cpu"], "/sys/fs/cgroup/cpu,cpuacct")
        XCTAssertEqual(c1["cpuacct"], "/sys/fs/cgroup/cpu,cpuacct")
    }

    func testConversions() {
        XCTAssertEqual(CgroupResources.weight(fromShares: 2), 1)
        XCTAssertEqual(CgroupResources.weight(fromShares: 1024), 39)
        XCTAssertEqual(CgroupResources.weight(fromShares: 262144), 10000)
        XCTAssertEqual(CgroupResources.ioWeight(fromBlkio: 10), 1)
        XCTAssertEqual(CgroupResources.ioWeight(fromBlkio: 1000), 10000)
    }

    func resources() -> CgroupResources {
        var r = CgroupResources()
        r.memoryLimit = 64 << 20
        r.memorySwap = 96 << 20
        r.memoryReservation = 32 << 20
        r.cpuShares = 1024
        r.cpuQuota = 50_000
        r.cpuPeriod = 100_000
        r.cpusetCpus = "0"
        r.pidsLimit = 20
        r.blkioWeight = 500
        return r
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing>" }

    func testV2DriverWritesEveryFile() throws {
        let scratch = try Scratch(for: self)
        let mount = scratch.path
        try "cpu cpuset memory pids io".write(toFile: mount + "/cgroup.controllers", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: mount + "/cgroup.subtree_control", contents: nil)
        // The kernel creates these when the directories are made; the test makes them first.
        let dir = mount + "/mdlua/c1"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: mount + "/mdlua/cgroup.subtree_control", contents: nil)
        for f in ["memory.max", "memory.swap.max", "memory.low", "cpu.max", "cpu.weight", "cpuset.cpus", "pids.max",
                  "io.weight", "cgroup.procs", "cgroup.freeze"] {
            FileManager.default.createFile(atPath: dir + "/" + f, contents: nil)
        }
        try "frozen 1\n".write(toFile: dir + "/cgroup.events", atomically: true, encoding: .utf8)
        let d = Cgroups.driver(parent: "mdlua", id: "c1", layout: .v2(mount: mount))
        try d.create(resources())
        XCTAssertEqual(read(mount + "/cgroup.subtree_control"), "+cpu +cpuset +memory +pids +io")
        XCTAssertEqual(read(mount + "/mdlua/cgroup.subtree_control"), "+cpu +cpuset +memory +pids +io")
        XCTAssertEqual(read(dir + "/memory.max"), String(64 << 20))
        XCTAssertEqual(read(dir + "/memory.swap.max"), String(32 << 20), "v2 counts swap alone")
        XCTAssertEqual(read(dir + "/memory.low"), String(32 << 20))
        XCTAssertEqual(read(dir + "/cpu.max"), "50000 100000")
        XCTAssertEqual(read(dir + "/cpu.weight"), "39")
        XCTAssertEqual(read(dir + "/cpuset.cpus"), "0")
        XCTAssertEqual(read(dir + "/pids.max"), "20")
        XCTAssertEqual(read(dir + "/io.weight"), "default 4950")
        try d.add(pid: 1234)
        XCTAssertEqual(read(dir + "/cgroup.procs"), "1234")
        try d.freeze(true)
        XCTAssertEqual(read(dir + "/cgroup.freeze"), "1")
        var unlimited = CgroupResources()
        unlimited.memoryLimit = -1
        unlimited.memorySwap = -1
        unlimited.pidsLimit = -1
        unlimited.cpuQuota = -1
        try d.update(unlimited)
        XCTAssertEqual(read(dir + "/memory.max"), "max")
        XCTAssertEqual(read(dir + "/memory.swap.max"), "max")
        XCTAssertEqual(read(dir + "/pids.max"), "max")
        XCTAssertEqual(read(dir + "/cpu.max"), "max 100000")
        var noOOM = CgroupResources()
        noOOM.disableOOMKiller = true
        XCTAssertThrowsError(try d.update(noOOM), "not on v2")
    }

    func testV1DriverWritesEveryFile() throws {
        let scratch = try Scratch(for: self)
        var controllers: [String: String] = [:]
        for c in ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"] {
            controllers[c] = scratch.path + "/" + c
            try FileManager.default.createDirectory(atPath: scratch.path + "/" + c + "/mdlua/c1", withIntermediateDirectories: true)
        }
        try "0-1".write(toFile: scratch.path + "/cpuset/mdlua/cpuset.cpus", atomically: true, encoding: .utf8)
        let m = scratch.path + "/memory/mdlua/c1"
        for f in ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes"] {
            FileManager.default.createFile(atPath: m + "/" + f, contents: nil)
        }
        for (c, files) in [("cpu", ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"]), ("pids", ["pids.max"]),
                           ("blkio", ["blkio.weight"]), ("cpuset", ["cpuset.cpus", "cpuset.mems"]),
                           ("devices", ["devices.allow", "devices.deny"])] {
            for f in files { FileManager.default.createFile(atPath: scratch.path + "/\(c)/mdlua/c1/" + f, contents: nil) }
        }
        let d = CgroupV1Driver(controllers: controllers, parent: "mdlua", id: "c1")
        try d.create(resources())
        XCTAssertEqual(read(m + "/memory.limit_in_bytes"), String(64 << 20))
        XCTAssertEqual(read(m + "/memory.memsw.limit_in_bytes"), String(96 << 20))
        XCTAssertEqual(read(m + "/memory.soft_limit_in_bytes"), String(32 << 20))
        XCTAssertEqual(read(scratch.path + "/cpu/mdlua/c1/cpu.shares"), "1024")
        XCTAssertEqual(read(scratch.path + "/cpu/mdlua/c1/cpu.cfs_quota_us"), "50000")
        XCTAssertEqual(read(scratch.path + "/cpu/mdlua/c1/cpu.cfs_period_us"), "100000")
        XCTAssertEqual(read(scratch.path + "/pids/mdlua/c1/pids.max"), "20")
        XCTAssertEqual(read(scratch.path + "/blkio/mdlua/c1/blkio.weight"), "500")
        XCTAssertEqual(read(scratch.path + "/cpuset/mdlua/c1/cpuset.cpus"), "0")
        XCTAssertEqual(read(scratch.path + "/devices/mdlua/c1/devices.deny"), "a")
        XCTAssertEqual(read(scratch.path + "/devices/mdlua/c1/devices.allow"), "c 10:200 rwm", "the last rule written")
    }
}
