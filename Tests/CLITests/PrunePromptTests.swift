import Foundation
import XCTest

/// The prune commands ask as Docker's do (stdlib/mdlua/prompt.lua): the warning and
/// "[y/N] " on stdout; only y or Y goes on; a no, an empty line or end of input does
/// nothing (exit status 0); -f asks nothing.
final class PrunePromptTests: ContainerTestCase {
    let ask = "\nAre you sure you want to continue? [y/N] "

    /// Each prune command, what it warns, what makes something for it to remove, and whether
    /// that is there.
    func cases() -> [(args: [String], warning: String, make: () -> Void, exists: () -> Bool)] {
        [
            (["container", "prune"], "WARNING! This will remove all stopped containers.",
             { XCTAssertEqual(self.md(["create", "--name", "stopped", "busybox"]).status, 0) },
             { self.md(["inspect", "stopped"]).status == 0 }),
            (["image", "prune"], "WARNING! This will remove all dangling images.",
             { XCTAssertEqual(self.md(["run", "--name", "src", "busybox", "touch", "/x"]).status, 0)
               XCTAssertEqual(self.md(["commit", "src"]).status, 0)
               XCTAssertEqual(self.md(["rm", "src"]).status, 0) },
             { self.md(["images", "-q", "--filter", "dangling=true"]).stdout != "" }),
            (["volume", "prune"], "WARNING! This will remove anonymous local volumes not used by at least one container.",
             { XCTAssertEqual(self.md(["create", "--name", "anon", "-v", "/a", "busybox"]).status, 0)
               XCTAssertEqual(self.md(["rm", "anon"]).status, 0) },
             { self.md(["volume", "ls", "-q"]).stdout != "" }),
            (["volume", "prune", "-a"], "WARNING! This will remove all local volumes not used by at least one container.",
             { XCTAssertEqual(self.md(["volume", "create", "named"]).status, 0) },
             { self.md(["volume", "ls", "-q"]).stdout != "" }),
            (["network", "prune"], "WARNING! This will remove all custom networks not used by at least one container.",
             { XCTAssertEqual(self.md(["network", "create", "--subnet", "10.247.13.0/24", "prunable"]).status, 0) },
             { self.md(["network", "inspect", "prunable"]).status == 0 }),
            (["builder", "prune", "-a"], "WARNING! This will remove all build cache.",
             { let ctx = self.dir.appendingPathComponent("ctx")
               try? FileManager.default.createDirectory(at: ctx, withIntermediateDirectories: true)
               try? write("FROM busybox\nRUN --mount=type=cache,target=/c touch /c/x\n", to: ctx.appendingPathComponent("Dockerfile"))
               XCTAssertEqual(self.md(["build", "-q", ctx.path]).status, 0) },
             { !((try? FileManager.default.contentsOfDirectory(atPath: self.root + "/build-cache/mounts")) ?? []).isEmpty }),
            // Last: it removes busybox, which the others run.
            (["image", "prune", "-a"], "WARNING! This will remove all images without at least one container associated to them.",
             {}, { self.md(["images", "-q"]).stdout != "" }),
        ]
    }

    func testEveryPruneAsksAndOnlyYesGoesOn() {
        for c in cases() {
            c.make()
            for answer: String? in [nil, "", "n\n", "no\n", "yes\n", "\n"] {
                let r = md(c.args, stdin: answer)
                XCTAssertEqual(r.status, 0, "\(c.args) \(String(describing: answer))")
                XCTAssertEqual(r.stdout, c.warning + ask, "\(c.args) \(String(describing: answer)): only the question")
                XCTAssertTrue(c.exists(), "\(c.args) \(String(describing: answer)): nothing removed")
            }
            let yes = md(c.args, stdin: " Y\n")
            XCTAssertEqual(yes.status, 0, yes.stderr)
            XCTAssertTrue(yes.stdout.hasPrefix(c.warning + ask + "Deleted "), "\(c.args): \(yes.stdout)")
            XCTAssertFalse(c.exists(), "\(c.args): removed after y")
        }
    }

    func testForceAsksNothing() {
        for c in cases() {
            c.make()
            let r = md(c.args + ["-f"], stdin: "n\n")
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertFalse(r.stdout.contains("WARNING"), "\(c.args): \(r.stdout)")
            XCTAssertFalse(c.exists(), "\(c.args): removed with -f")
        }
    }

    func testSystemPruneListsWhatItRemoves() {
        XCTAssertEqual(md(["create", "--name", "stopped", "busybox"]).status, 0)
        var r = md(["system", "prune"])
        XCTAssertEqual(r.stdout, """
            WARNING! This will remove:
              - all stopped containers
              - all networks not used by at least one container
              - all dangling images
              - unused build cache
              - the staging of interrupted writes and the caches

            Are you sure you want to continue? [y/N] 
            """)
        XCTAssertEqual(md(["inspect", "stopped"]).status, 0, "end of input is a no")
        r = md(["system", "prune", "-a", "--volumes"], stdin: "n\n")
        XCTAssertEqual(r.stdout, """
            WARNING! This will remove:
              - all stopped containers
              - all networks not used by at least one container
              - all volumes not used by at least one container
              - all images without at least one container associated to them
              - all build cache
              - all layers not used by an image
              - the staging of interrupted writes and the caches

            Are you sure you want to continue? [y/N] 
            """)
        XCTAssertEqual(md(["images", "-q"]).stdout.isEmpty, false, "no: nothing removed")
        r = md(["system", "prune"], stdin: "y\n")
        XCTAssertTrue(r.stdout.contains("Deleted Containers:\n"), r.stdout)
        XCTAssertNotEqual(md(["inspect", "stopped"]).status, 0)
        XCTAssertFalse(md(["system", "prune", "-f"]).stdout.contains("WARNING"))
    }
}
