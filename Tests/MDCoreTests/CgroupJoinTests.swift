import Foundation
import XCTest
@testable import MDCore

/// A container's process enters its cgroup by itself (v1: through `tasks`; v2: created in it
/// by clone3), on this host's real hierarchies.
final class CgroupJoinTests: XCTestCase {
    var scratch: Scratch!
    var rootfs: String { scratch.path + "/rootfs" }
    let parent = "mdlua-test-join-\(getpid())"

    override func setUpWithError() throws {
        scratch = try Scratch(for: self)
        try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: rootfs + "/bin/busybox")
    }

    func spec() throws -> RuntimeSpec {
        try RuntimeSpec(json: JSON.parse(#"""
            {"process": {"args": ["/bin/busybox", "sleep", "30"]},
             "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
            """#))
    }

    /// The cgroups of a process started in the driver's cgroup, as /proc/PID/cgroup says.
    func cgroupsOfAProcessStarted(in d: CgroupDriver) throws -> String {
        let p = try ContainerProcess.start(try spec(), rootfs: rootfs, io: ProcessIO(), cgroup: try d.join())
        defer {
            kill(p.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(p.pid, &status, 0)
        }
        return String(decoding: try FileSystem.readFile("/proc/\(p.pid)/cgroup"), as: UTF8.self)
    }

    func v1Driver() throws -> CgroupV1Driver {
        guard case .v1(let controllers, _) = CgroupLayout.current() else { throw XCTSkip("no cgroup v1 here") }
        let d = CgroupV1Driver(controllers: controllers, parent: parent, id: "c1")
        addTeardownBlock { [parent] in
            d.remove()
            for mount in Set(controllers.values) { rmdir(mount + "/" + parent) }
        }
        return d
    }

    func testV1ProcessIsInEveryHierarchy() throws {
        let d = try v1Driver()
        try d.create(CgroupResources())
        let lines = try cgroupsOfAProcessStarted(in: d).split(separator: "\n")
        for c in CgroupV1Driver.used where d.controllers[c] != nil {
            let line = lines.first { $0.split(separator: ":")[1].split(separator: ",").contains(Substring(c)) }
            XCTAssertEqual(line?.split(separator: ":").last.map(String.init), "/\(parent)/c1", c)
        }
    }

    /// Fifty runs at once with a new --cgroup-parent: one makes the parent, and another's
    /// mkdir of its own cgroup may come before the first has given the parent its cpus and
    /// memory nodes. That run still gets a cgroup a process can join.
    func testV1ParentJustMadeByAConcurrentRun() throws {
        let d = try v1Driver()
        guard let mount = d.controllers["cpuset"] else { throw XCTSkip("no cpuset hierarchy") }
        XCTAssertEqual(mkdir(mount + "/" + parent, 0o755), 0, "the parent as a concurrent run's mkdir leaves it")
        XCTAssertEqual(Cgroups.read(mount + "/" + parent + "/cpuset.mems"), "")
        try d.create(CgroupResources())
        XCTAssertNotEqual(Cgroups.read(mount + "/" + parent + "/cpuset.mems"), "")
        XCTAssertNotEqual(Cgroups.read(mount + "/" + parent + "/cpuset.cpus"), "")
        let lines = try cgroupsOfAProcessStarted(in: d).split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasSuffix(":cpuset:/\(parent)/c1") }, lines.joined(separator: "\n"))
    }

    /// The parents are set up under a name of their own and renamed into place: whole when
    /// they appear (a devices parent with a child refuses its deny-all), nothing staged left.
    func testV1ParentsAppearSetUp() throws {
        let d = try v1Driver()
        // One staged by a run killed before its rename (no such process): removed.
        let killed = try XCTUnwrap(d.controllers["devices"] ?? d.controllers["cpuset"]) + "/" + parent + ".new-2147483646"
        XCTAssertEqual(mkdir(killed, 0o755), 0)
        try d.create(CgroupResources())
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed), "a killed run's staged parent is removed")
        for (c, mount) in d.controllers where CgroupV1Driver.used.contains(c) {
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mount).filter { $0.hasPrefix(parent + ".new-") }, [], c)
        }
        if let devices = d.controllers["devices"] {
            XCTAssertEqual(Cgroups.read(devices + "/" + parent + "/devices.list"), CgroupV1Driver.defaultDeviceList)
        }
        if let cpuset = d.controllers["cpuset"] {
            XCTAssertNotEqual(Cgroups.read(cpuset + "/" + parent + "/cpuset.mems"), "")
            XCTAssertEqual(Cgroups.read(cpuset + "/" + parent + "/cgroup.clone_children"), "1")
        }
    }

    func testV2ProcessIsCreatedInTheCgroup() throws {
        let mount: String
        switch CgroupLayout.current() {
        case .v2(let m): mount = m
        case .v1(_, let unified?): mount = unified
        case .v1: throw XCTSkip("no cgroup2 hierarchy on this host")
        }
        let d = CgroupV2Driver(mount: mount, parent: parent, id: "c1")
        try d.create(CgroupResources())
        defer { d.remove(); rmdir(mount + "/" + parent) }
        let p = try ContainerProcess.start(try spec(), rootfs: rootfs, io: ProcessIO(), cgroup: try d.join())
        // An exec'd process too (its helper is created in the cgroup, then enters the
        // container's namespaces).
        let e = try ContainerProcess.execStart(try spec(), target: p.pid, args: ["/bin/busybox", "sleep", "30"], env: [],
                                               user: nil, cwd: nil, io: ProcessIO(), cgroup: try d.join())
        defer {
            for pid in [e.pid, p.pid] {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        for pid in [p.pid, e.pid] {
            let lines = String(decoding: try FileSystem.readFile("/proc/\(pid)/cgroup"), as: UTF8.self).split(separator: "\n")
            XCTAssertTrue(lines.contains("0::/\(parent)/c1"), lines.joined(separator: "\n"))
        }
    }

    /// Where clone3 cannot create the process in the cgroup (here: the directory is not a
    /// cgroup), the process writes itself into cgroup.procs, and says which cgroup failed.
    func testV2FallbackNamesTheCgroup() throws {
        let fake = scratch.path + "/not-a-cgroup"
        try FileManager.default.createDirectory(atPath: fake + "/p/c1", withIntermediateDirectories: true)
        var d = CgroupV2Driver(mount: fake, parent: "p", id: "c1")
        d.deviceRules = nil
        XCTAssertThrowsError(try cgroupsOfAProcessStarted(in: d)) { error in
            XCTAssertEqual((error as? StartError)?.status, 125)
            XCTAssertEqual("\(error)", "join the cgroup \(fake)/p/c1: No such file or directory")
        }
    }

    func testAJoinThatFailsSaysWhichCgroup() throws {
        let d = try v1Driver()
        try d.create(CgroupResources())
        guard let cpuset = d.dir("cpuset") else { throw XCTSkip("no cpuset hierarchy") }
        // A cpuset cgroup without memory nodes takes no process.
        try Cgroups.write(cpuset + "/cpuset.mems", "\n")
        XCTAssertThrowsError(try cgroupsOfAProcessStarted(in: d)) { error in
            XCTAssertEqual((error as? StartError)?.status, 125)
            XCTAssertEqual("\(error)", "join the cgroup \(cpuset)/tasks: No space left on device")
        }
        XCTAssertEqual(Cgroups.read(cpuset + "/tasks"), "", "nothing is left in it")
    }
}
