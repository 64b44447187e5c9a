import Foundation
import XCTest

/// `cp` as Docker's: tar streams on stdout and stdin, -a, -L, the container's own /etc files,
/// and paths that stay inside the container's root whatever `..` and symlinks say.
final class CopyTests: ContainerTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        let r = md(["run", "-d", "--name", "c", "--hostname", "box", "busybox", "sh", "-c",
                    "mkdir -p /data/sub; echo hi > /data/sub/f; chown -R 1234:5678 /data; ln -s / /data/up; "
                    + "ln -s /proc /data/p; ln -s sub/f /data/lf; ln -s ../../../../.. /data/deep; touch /ready; sleep 600"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for _ in 0..<50 where md(["exec", "c", "test", "-e", "/ready"]).status != 0 { usleep(50_000) }
    }

    /// A shell pipeline on the host, with mdlua as $MD; its stdout.
    func sh(_ script: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "set -e; " + script]
        p.environment = ["MD": "\(MDLuaBinary.path) --root \(root)", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"]
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, script, file: file, line: line)
        return String(decoding: data, as: UTF8.self)
    }

    func testTarStreamsBothWays() throws {
        let listing = sh("$MD cp c:/etc - | tar -t")
        for name in ["etc/", "etc/passwd", "etc/hostname", "etc/hosts", "etc/resolv.conf"] {
            XCTAssertTrue(listing.split(separator: "\n").contains(Substring(name)), "\(name) in \(listing)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("-").path), "no file named -")
        // Owners as they are in the container.
        XCTAssertTrue(sh("$MD cp c:/data/sub - | tar -tv --numeric-owner").contains("1234/5678"))
        // From stdin, extracted into a directory of the container.
        sh("mkdir -p src/d && echo one > src/d/a && tar -C src -c d | $MD cp - c:/data/")
        XCTAssertEqual(md(["exec", "c", "cat", "/data/d/a"]).stdout, "one\n")
        XCTAssertEqual(sh("$MD cp c:/data/d - | tar -t"), "d/\nd/a\n")
        // DIR/. is what is in DIR; / is the whole root, with the container's own /etc files.
        XCTAssertEqual(sh("$MD cp c:/data/sub/. - | tar -t"), "f\n")
        XCTAssertEqual(md(["cp", "c:/data/sub/.", dir.appendingPathComponent("contents").path]).status, 0)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("contents/f"), encoding: .utf8), "hi\n")
        XCTAssertEqual(sh("$MD cp c:/ - | tar -xO etc/hostname"), "box\n")
        // Into what is not a directory: refused, nothing written.
        let file = md(["cp", "-", "c:/data/sub/f"], stdin: "")
        XCTAssertEqual(file.status, 125)
        XCTAssertTrue(file.stderr.contains("not a directory"), file.stderr)
    }

    func testArchiveModeAndFollowingLinks() throws {
        let out = dir.appendingPathComponent("out").path
        XCTAssertEqual(md(["cp", "c:/data/sub", out + "-plain"]).status, 0)
        var st = stat()
        XCTAssertEqual(stat(out + "-plain/f", &st), 0)
        XCTAssertEqual([st.st_uid, st.st_gid], [0, 0], "the caller's without -a")
        XCTAssertEqual(md(["cp", "-a", "c:/data/sub", out + "-a"]).status, 0)
        XCTAssertEqual(stat(out + "-a/f", &st), 0)
        XCTAssertEqual([st.st_uid, st.st_gid], [1234, 5678], "the container's with -a")
        // Into the container: root's without -a, the host's owners with it.
        sh("mkdir -p h && echo x > h/x && chown 42:43 h/x")
        XCTAssertEqual(md(["cp", dir.appendingPathComponent("h").path, "c:/plain"]).status, 0)
        XCTAssertEqual(md(["cp", "-a", dir.appendingPathComponent("h").path, "c:/kept"]).status, 0)
        XCTAssertEqual(md(["exec", "c", "stat", "-c", "%u:%g", "/plain/x", "/kept/x"]).stdout, "0:0\n42:43\n")
        // -L: a link named as the source is followed; without it the link is copied.
        XCTAssertEqual(md(["cp", "c:/data/lf", out + "-link"]).status, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: out + "-link"), "sub/f")
        XCTAssertEqual(md(["cp", "-L", "c:/data/lf", out + "-followed"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: out + "-followed", encoding: .utf8), "hi\n")
        XCTAssertEqual(sh("$MD cp -L c:/data/lf - | tar -t"), "lf\n")
    }

    func testTheContainersOwnEtcFiles() throws {
        let hostname = md(["inspect", "-f", "{{.Config.Hostname}}", "c"]).stdout
        XCTAssertEqual(hostname, "box\n")
        let f = dir.appendingPathComponent("hostname").path
        XCTAssertEqual(md(["cp", "c:/etc/hostname", f]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: f, encoding: .utf8), hostname)
        XCTAssertEqual(sh("$MD cp c:/etc/hosts - | tar -xO"), md(["exec", "c", "cat", "/etc/hosts"]).stdout)
        XCTAssertEqual(sh("$MD cp c:/etc/resolv.conf - | tar -xO"), md(["exec", "c", "cat", "/etc/resolv.conf"]).stdout)
        XCTAssertEqual(sh("$MD cp c:/etc - | tar -xO etc/hostname"), hostname, "inside a copied directory too")
        // Written through: the container sees it.
        try write("10.0.0.9 db\n", to: dir.appendingPathComponent("hosts"))
        XCTAssertEqual(md(["cp", dir.appendingPathComponent("hosts").path, "c:/etc/hosts"]).status, 0)
        XCTAssertEqual(md(["exec", "c", "cat", "/etc/hosts"]).stdout, "10.0.0.9 db\n")
        XCTAssertEqual(sh("$MD cp c:/etc/hosts - | tar -xO"), "10.0.0.9 db\n")
        // A stopped container: the same files.
        XCTAssertEqual(md(["stop", "-t", "0", "c"]).status, 0)
        XCTAssertEqual(sh("$MD cp c:/etc/hostname - | tar -xO"), hostname)
        XCTAssertEqual(md(["cp", "c:/data/sub/f", dir.appendingPathComponent("after").path]).status, 0)
    }

    func testDotDotAndSymlinksStayInsideTheRoot() throws {
        for stopped in [false, true] {
            if stopped { XCTAssertEqual(md(["stop", "-t", "0", "c"]).status, 0) }
            // `..` at the root is the root, as the kernel resolves it (RESOLVE_IN_ROOT).
            XCTAssertEqual(sh("$MD cp c:/../../../etc/hostname - | tar -xO"), "box\n")
            XCTAssertEqual(sh("$MD cp c:/data/../../etc/passwd - | tar -t"), "passwd\n")
            // Through symlinks to /, to /proc and up past the root.
            XCTAssertEqual(sh("$MD cp c:/data/up/etc/hostname - | tar -xO"), "box\n")
            XCTAssertEqual(sh("$MD cp c:/data/deep/etc/hostname - | tar -xO"), "box\n")
            XCTAssertEqual(sh("$MD cp -L c:/data/deep - | tar -t | head -1"), "deep/\n")
            let proc = md(["cp", "c:/data/p/self/status", dir.appendingPathComponent("status").path])
            XCTAssertNotEqual(proc.status, 0, "the root's own /proc is an empty directory: nothing of the host's")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("status").path))
            XCTAssertEqual(sh("$MD cp -L c:/data/p - | tar -t"), "p/\n")
            // Into the container through them: it lands inside.
            let marker = "mdlua-cp-\(UUID().uuidString.prefix(8))"
            try write("in", to: dir.appendingPathComponent("in"))
            XCTAssertEqual(md(["cp", dir.appendingPathComponent("in").path, "c:/../../" + marker]).status, 0)
            XCTAssertEqual(md(["cp", dir.appendingPathComponent("in").path, "c:/data/deep/tmp/" + marker]).status, 0)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/" + marker), "the host's / is untouched")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/" + marker), "the host's /tmp is untouched")
            XCTAssertEqual(sh("$MD cp c:/\(marker) - | tar -xO"), "in")
            XCTAssertEqual(sh("$MD cp c:/tmp/\(marker) - | tar -xO"), "in")
            sh("mkdir -p t/z && echo z > t/z/z && tar -C t -c z | $MD cp - c:/data/deep/../tmp")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/z/z"))
            XCTAssertEqual(sh("$MD cp c:/tmp/z/z - | tar -xO"), "z\n")
        }
    }
}
