import Foundation
import XCTest

/// Runs the built `mdlua` binary (MDLUA_BIN, or the debug build next to the tests).
struct MDLuaBinary {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var path: String {
        if let p = ProcessInfo.processInfo.environment["MDLUA_BIN"], !p.isEmpty { return p }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/mdlua").path
    }

    /// Runs mdlua with a clean environment: no MDLUA_* from the caller, HOME in `home`.
    static func run(_ args: [String], env: [String: String] = [:], stdin: String? = nil,
                    cwd: String? = nil, executable: String? = nil, timeout: Double = 120,
                    file: StaticString = #filePath, line: UInt = #line) -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable ?? path)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MDLUA_") }
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        do { try p.run() } catch {
            XCTFail("cannot start \(path): \(error)", file: file, line: line)
            return Result(status: -1, stdout: "", stderr: "")
        }
        // A hung command fails its test instead of hanging the suite.
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        if let stdin { input.fileHandleForWriting.write(stdin.data(using: .utf8)!) }
        try? input.fileHandleForWriting.close()
        // Read both pipes before waiting, so a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let stderrBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            stderrBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let stderrData = stderrBox.data
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}

/// A temporary directory removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    CgroupParentCleanup.registered
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("mdlua-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock {
        // Its state roots' networks: nothing of them may stay on the host.
        let candidates = NetworkLeaks.candidateRoots(in: dir.path)
        for root in candidates where FileManager.default.fileExists(atPath: root + "/networks") {
            // A test may leave containers in its root (the root goes with the directory):
            // their leases would keep the root's bridge. A test that kills mdlua may leave
            // what `system check --repair` is for (a lease whose create died before its record).
            _ = MDLuaBinary.run(["--root", root, "-e",
                                 "for _, c in ipairs(md.container.list{all=true}) do pcall(c.unpause, c); pcall(c.rm, c, {force=true}) end"])
            _ = MDLuaBinary.run(["--root", root, "system", "check", "--repair"])
        }
        // Every directory that may have been a state root, by its name's tag: also one whose
        // files are gone already (a tmpfs root a test unmounted, a root it removed).
        for root in NetworkLeaks.rootsWithLinksOrTables(candidates) {
            let left = NetworkLeaks.left(root: root)
            XCTAssertEqual(left, [], "networking of \(root) left behind")
            if !left.isEmpty { NetworkLeaks.clean(root: root) }
        }
        try? FileManager.default.removeItem(at: dir)
    }
    return dir
}

func write(_ text: String, to url: URL) throws {
    try text.write(to: url, atomically: true, encoding: .utf8)
}

/// The cgroup parents the tests use. mdlua keeps a parent cgroup once made (as Docker keeps
/// `docker`); the suite removes its own when it ends, so that it leaves no cgroup behind.
let testCgroupParents = ["mdlua", "mdlua-test", "mdlua-crash"]

/// Container cgroups left under a parent in any hierarchy (none should be).
func leftoverCgroups(under parent: String) -> [String] {
    let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
    return hierarchies.flatMap { h -> [String] in
        let dir = "/sys/fs/cgroup/\(h)/\(parent)"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return entries.filter { e in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir + "/" + e, isDirectory: &isDir) && isDir.boolValue
        }.map { "\(h)/\(parent)/\($0)" }
    }
}

/// Removes the test parents when the whole suite is done (empty ones only: rmdir).
final class CgroupParentCleanup: NSObject, XCTestObservation {
    static let registered: Void = { XCTestObservationCenter.shared.addTestObserver(CgroupParentCleanup()) }()

    func testBundleDidFinish(_ testBundle: Bundle) {
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        for h in hierarchies {
            for p in testCgroupParents {
                rmdir("/sys/fs/cgroup/\(h)/\(p)")
                removeStagedParents(of: p, in: "/sys/fs/cgroup/\(h)")
            }
        }
    }
}

/// A parent's staged copies (`NAME.new-PID`) that a run killed while setting it up left:
/// the next run that makes the parent removes them, a test that ends first does it itself.
func removeStagedParents(of parent: String, in hierarchy: String) {
    for e in (try? FileManager.default.contentsOfDirectory(atPath: hierarchy)) ?? [] where e.hasPrefix(parent + ".new-") {
        rmdir(hierarchy + "/" + e)
    }
}

extension Process {
    /// Runs a host tool to its end; its exit status.
    static func run(_ tool: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Runs a host tool to its end; what it wrote to stdout.
    static func capture(_ tool: String, _ args: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        do { try p.run() } catch { return "" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
