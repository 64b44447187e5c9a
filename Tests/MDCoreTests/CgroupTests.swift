import Foundation
import XCTest
@testable import MDCore

/// Layout detection on the three kinds of host, and both drivers against a cgroupfs tree
/// written by the test, which checks every file written (DeviceFilterTests runs the v2
/// driver on a real cgroup2 hierarchy).
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
        // The parent is made with the container's first cgroup. The kernel would give the new
        // directories their files; this fake tree gets them from the test afterwards.
        var d = CgroupV2Driver(mount: mount, parent: "mdlua", id: "c1")
        d.deviceRules = nil   // a BPF program needs a real cgroup2 directory: testV2DeviceFilter
        try d.create(CgroupResources())
        let dir = mount + "/mdlua/c1"
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir), "the parent and the container's cgroup are made")
        XCTAssertEqual(read(mount + "/cgroup.subtree_control"), "+cpu +cpuset +memory +pids +io")
        for f in ["memory.max", "memory.swap.max", "memory.low", "cpu.max", "cpu.weight", "cpuset.cpus", "pids.max",
                  "io.weight", "cgroup.procs", "cgroup.freeze"] {
            FileManager.default.createFile(atPath: dir + "/" + f, contents: nil)
        }
        try "frozen 1\n".write(toFile: dir + "/cgroup.events", atomically: true, encoding: .utf8)
        try d.create(resources())   // the cgroup is there already: only the limits are written
        XCTAssertEqual(read(dir + "/memory.max"), String(64 << 20))
        XCTAssertEqual(read(dir + "/memory.swap.max"), String(32 << 20), "v2 counts swap alone")
        XCTAssertEqual(read(dir + "/memory.low"), String(32 << 20))
        XCTAssertEqual(read(dir + "/cpu.max"), "50000 100000")
        XCTAssertEqual(read(dir + "/cpu.weight"), "39")
        XCTAssertEqual(read(dir + "/cpuset.cpus"), "0")
        XCTAssertEqual(read(dir + "/pids.max"), "20")
        XCTAssertEqual(read(dir + "/io.weight"), "default 4950")
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
        // A parent that a concurrent run made and has not yet handed the controllers down
        // from: the container's own cgroup gets them all the same.
        try FileManager.default.createDirectory(atPath: mount + "/other", withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: mount + "/other/cgroup.subtree_control", contents: nil)
        try "".write(toFile: mount + "/cgroup.subtree_control", atomically: true, encoding: .utf8)
        var late = CgroupV2Driver(mount: mount, parent: "other", id: "c2")
        late.deviceRules = nil
        try late.create(CgroupResources())
        XCTAssertEqual(read(mount + "/cgroup.subtree_control"), "+cpu +cpuset +memory +pids +io")
        XCTAssertEqual(read(mount + "/other/cgroup.subtree_control"), "+cpu +cpuset +memory +pids +io")
        var noOOM = CgroupResources()
        noOOM.disableOOMKiller = true
        XCTAssertThrowsError(try d.update(noOOM), "not on v2")
    }

    func testTheEngineRefusesHarmfulLimitsFromAnySpec() throws {
        func spec(_ resources: String) throws -> RuntimeSpec {
            try RuntimeSpec(json: JSON.parse(Array("""
                {"process": {"args": ["true"]}, "linux": {"resources": \(resources)}}
                """.utf8)))
        }
        let bad: [(String, String)] = [
            (#"{"memory": {"limit": 4194304}}"#, "memory.limit 4194304 is below the minimum of 6 MiB"),
            (#"{"memory": {"limit": 67108864, "swap": 1048576}}"#, "memory.swap 1048576 is below memory.limit"),
            (#"{"cpu": {"shares": 1}}"#, "cpu.shares 1 is outside 2 to 262144"),
            (#"{"cpu": {"quota": 10}}"#, "cpu.quota 10 is below 1000"),
            (#"{"cpu": {"period": 100}}"#, "cpu.period 100 is outside"),
            (#"{"cpu": {"cpus": "3-1"}}"#, "cpu.cpus \"3-1\" is not a list"),
            (#"{"cpu": {"mems": "a"}}"#, "cpu.mems \"a\" is not a list"),
            (#"{"pids": {"limit": 0}}"#, "pids.limit 0 is neither positive nor -1"),
            (#"{"blockIO": {"weight": 5}}"#, "blockIO.weight 5 is outside 10 to 1000"),
        ]
        for (resources, message) in bad {
            XCTAssertThrowsError(try spec(resources), resources) { e in
                XCTAssertTrue("\(e)".hasPrefix("config.json: linux.resources.") && "\(e)".contains(message), "\(e)")
            }
        }
        for ok in [#"{"memory": {"limit": -1, "swap": -1}}"#, #"{"memory": {"limit": 6291456}}"#,
                   #"{"cpu": {"quota": -1, "period": 100000, "shares": 1024, "cpus": "0-1,3"}}"#, #"{"pids": {"limit": -1}}"#] {
            XCTAssertNoThrow(try spec(ok), ok)
        }
    }

    func testIOThrottlesAreOneIOMaxLinePerDevice() throws {
        let r = CgroupResources(json: try JSON.parse(Array("""
            {"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                         "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                         "throttleReadIOPSDevice": [{"major": 254, "minor": 16, "rate": 100}],
                         "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 50}, {"major": -1, "rate": 1}]}}
            """.utf8)))
        XCTAssertEqual(r.ioMax, ["8:0 rbps=1048576 wbps=2097152 wiops=50", "254:16 riops=100"])
        XCTAssertEqual(r.readBps, [CgroupResources.DeviceRate(major: 8, minor: 0, rate: 1 << 20)])
        XCTAssertEqual(r.writeIOPS.count, 1, "an entry without a minor is dropped")
    }

    func testTheStatfsShortcutAgreesWithMountinfo() throws {
        let text = String(decoding: try FileSystem.readFile("/proc/self/mountinfo"), as: UTF8.self)
        let fast = try XCTUnwrap(CgroupLayout.conventional(), "this host's layout is the usual one")
        guard case .v1(let c, let u) = fast, case .v1(let c2, let u2) = CgroupLayout.detect(mountinfo: text) else {
            return XCTAssertEqual(fast, CgroupLayout.detect(mountinfo: text))
        }
        // Mountinfo names a co-mounted hierarchy by its real directory ("cpu,cpuacct"), the
        // shortcut by the controller's link to it: the same directory.
        XCTAssertEqual(Set(c.keys), Set(c2.keys))
        for (k, v) in c { XCTAssertEqual(realpath(v, nil).map { String(cString: $0) }, realpath(c2[k]!, nil).map { String(cString: $0) }, k) }
        XCTAssertEqual(u, u2)
        XCTAssertNil(CgroupLayout.conventional(root: "/proc"), "anything unusual is left to mountinfo")
    }

    func testV1DriverMakesMissingParentsAndKeepsThem() throws {
        let scratch = try Scratch(for: self)
        var controllers: [String: String] = [:]
        for c in ["memory", "cpuset", "pids"] {
            controllers[c] = scratch.path + "/" + c
            try FileManager.default.createDirectory(atPath: scratch.path + "/" + c, withIntermediateDirectories: true)
        }
        let d = CgroupV1Driver(controllers: controllers, parent: "a/b", id: "c1")
        try d.create(CgroupResources())
        for c in controllers.keys {
            XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path + "/\(c)/a/b/c1"), c)
        }
        d.remove()
        for c in controllers.keys {
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path + "/\(c)/a/b/c1"), "the container's cgroup goes")
            XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path + "/\(c)/a/b"), "the parent stays")
        }
        try d.create(CgroupResources())   // again, with the parents there
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path + "/memory/a/b/c1"))
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
        // One write a rule, through one open file: a plain file holds them all in a row.
        XCTAssertEqual(read(scratch.path + "/devices/mdlua/c1/devices.allow"),
                       "c *:* mb *:* mc 1:3 rwmc 1:5 rwmc 1:7 rwmc 1:8 rwmc 1:9 rwmc 5:0 rwmc 5:1 rwmc 5:2 rwmc 136:* rwmc 10:200 rwm")
    }

    func testTheV1DeviceListIsDockersDefaults() {
        XCTAssertEqual(CgroupV1Driver.defaultDeviceList, DeviceRule.defaults.filter(\.allow).map(\.text).joined(separator: "\n"))
    }

    func testV1WithoutSwapAccountingWritesTheMemoryLimitAlone() throws {
        let scratch = try Scratch(for: self)
        let m = scratch.path + "/memory/mdlua/c1"
        try FileManager.default.createDirectory(atPath: m, withIntermediateDirectories: true)
        for f in ["memory.limit_in_bytes", "memory.soft_limit_in_bytes"] { FileManager.default.createFile(atPath: m + "/" + f, contents: nil) }
        let d = CgroupV1Driver(controllers: ["memory": scratch.path + "/memory"], parent: "mdlua", id: "c1")
        try d.create(resources())
        XCTAssertEqual(read(m + "/memory.limit_in_bytes"), String(64 << 20))
        XCTAssertFalse(FileManager.default.fileExists(atPath: m + "/memory.memsw.limit_in_bytes"), "no memsw file: no swap accounting")
        try d.update(resources())
        XCTAssertEqual(read(m + "/memory.limit_in_bytes"), String(64 << 20))
    }
}

/// The cgroup v2 device filter, on this host's real cgroup2 hierarchy (the unified one of a
/// hybrid layout, or the only one on pure v2).
final class DeviceFilterTests: XCTestCase {
    func cgroup2Mount() throws -> String {
        switch CgroupLayout.current() {
        case .v2(let mount): return mount
        case .v1(_, let unified?): return unified
        case .v1: throw XCTSkip("no cgroup2 hierarchy on this host")
        }
    }

    /// Runs `script` in a shell that first moves itself into `dir`; returns its output.
    func runInCgroup(_ dir: String, _ script: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "echo $$ > \(dir)/cgroup.procs || exit 99\n" + script]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 99, "could not join \(dir)")
        return String(decoding: data, as: UTF8.self)
    }

    func testRulesAreEnforcedByTheKernel() throws {
        let mount = try cgroup2Mount()
        let parent = "mdlua-test-devices-\(getpid())"
        var d = CgroupV2Driver(mount: mount, parent: parent, id: "c1")
        d.deviceRules = [try DeviceRule("a", allow: false), try DeviceRule("c 1:3 r", allow: true),
                         try DeviceRule("c 1:5 rwm", allow: true), try DeviceRule("c 1:* m", allow: true),
                         try DeviceRule("c 1:5 w", allow: false)]
        try d.create(CgroupResources())
        defer { d.remove(); rmdir(mount + "/" + parent) }
        let out = try runInCgroup(mount + "/" + parent + "/c1", """
            cat /dev/null && echo read-null-ok
            echo x > /dev/null 2>/dev/null || echo write-null-denied
            head -c 3 /dev/zero | wc -c
            echo x > /dev/zero 2>/dev/null || echo write-zero-denied-by-later-rule
            head -c 1 /dev/full 2>/dev/null || echo full-denied
            """)
        XCTAssertTrue(out.contains("read-null-ok"), out)
        XCTAssertTrue(out.contains("write-null-denied"), "r only: writing is refused\n" + out)
        XCTAssertTrue(out.contains("3"), "c 1:5 rwm reads\n" + out)
        XCTAssertTrue(out.contains("write-zero-denied-by-later-rule"), "the last matching rule wins\n" + out)
        XCTAssertTrue(out.contains("full-denied"), "c 1:7 matches nothing but mknod: denied\n" + out)
    }

    func testDefaultRulesKeepHostDevicesOut() throws {
        let mount = try cgroup2Mount()
        let parent = "mdlua-test-devices-\(getpid())"
        let d = CgroupV2Driver(mount: mount, parent: parent, id: "c2")
        try d.create(CgroupResources())
        defer { d.remove(); rmdir(mount + "/" + parent) }
        let out = try runInCgroup(mount + "/" + parent + "/c2", """
            echo x > /dev/null && echo null-ok
            head -c 1 /dev/urandom | wc -c
            head -c 1 /dev/kmsg >/dev/null 2>&1 || echo kmsg-denied
            dd if=/dev/mem bs=1 count=1 >/dev/null 2>&1 || echo mem-denied
            """)
        XCTAssertTrue(out.contains("null-ok"), out)
        XCTAssertTrue(out.contains("1"), out)
        XCTAssertTrue(out.contains("kmsg-denied"), "c 1:11 is not in Docker's list\n" + out)
        XCTAssertTrue(out.contains("mem-denied"), out)
    }

    func testRuleParsing() throws {
        XCTAssertEqual(try DeviceRule("c 136:* rwm", allow: true).text, "c 136:* rwm")
        XCTAssertEqual(try DeviceRule("a", allow: false).text, "a")
        XCTAssertEqual(try DeviceRule("b 8:0", allow: true).text, "b 8:0 rwm")
        for bad in ["x 1:3 rwm", "c 1 rwm", "c 1:3 rwx", "c a:3 r", "", "c 1:3 r extra", "c -1:3 r"] {
            XCTAssertThrowsError(try DeviceRule(bad, allow: true), bad)
        }
    }
}
