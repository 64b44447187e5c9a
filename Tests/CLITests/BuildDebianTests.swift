import Foundation
import XCTest

/// A real multi-stage build: a C program compiled by gcc in a Debian image made by
/// debootstrap (`image bootstrap debian --include gcc,libc6-dev`), its static binary copied
/// into a busybox image, which runs it. The Debian image is made once and kept as a docker
/// archive in a fixed directory (MDLUA_TEST_CACHE, default /var/tmp/mdlua-test-cache), so
/// only the first run downloads from the Debian mirror; each test loads it into its own root.
final class BuildDebianTests: ContainerTestCase {
    static var cacheDir: String {
        let env = ProcessInfo.processInfo.environment["MDLUA_TEST_CACHE"] ?? ""
        return env.isEmpty ? "/var/tmp/mdlua-test-cache" : env
    }

    /// The archive of debian-gcc:bookworm, made now if the cache has none.
    func debianWithGcc() throws -> String {
        let archive = Self.cacheDir + "/debian-gcc-bookworm.tar"
        if FileManager.default.fileExists(atPath: archive) { return archive }
        try FileManager.default.createDirectory(atPath: Self.cacheDir, withIntermediateDirectories: true)
        let work = Self.cacheDir + "/make-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: work) }
        // (debootstrap takes minutes: 2.5 on this machine.)
        let made = MDLuaBinary.run(["--root", work + "/root", "image", "bootstrap", "debian", "--include", "gcc,libc6-dev",
                                    "debian-gcc:bookworm"], timeout: 1800)
        guard made.status == 0 else {
            XCTFail("debootstrap from the Debian mirror: status \(made.status): \(made.stderr)")
            throw CancellationError()
        }
        let partial = work + "/debian-gcc.tar"
        let saved = MDLuaBinary.run(["--root", work + "/root", "save", "-o", partial, "debian-gcc:bookworm"], timeout: 600)
        guard saved.status == 0 else {
            XCTFail("save: \(saved.stderr)")
            throw CancellationError()
        }
        // Whole or not at all: the archive appears under its name only when written.
        guard rename(partial, archive) == 0 || FileManager.default.fileExists(atPath: archive) else {
            XCTFail("could not keep \(archive)")
            throw CancellationError()
        }
        return archive
    }

    func testACStaticBinaryCompiledInDebianRunsInBusybox() throws {
        let archive = try debianWithGcc()
        XCTAssertEqual(MDLuaBinary.run(["--root", root, "load", "-q", "-i", archive], timeout: 600).status, 0)
        let ctx = dir.appendingPathComponent("ctx")
        try FileManager.default.createDirectory(at: ctx.appendingPathComponent("src"), withIntermediateDirectories: true)
        try write("""
            #include <stdio.h>
            int main(int argc, char **argv) {
                printf("hello from C, %d argument%s\\n", argc - 1, argc == 2 ? "" : "s");
                return argc > 3 ? 3 : 0;
            }
            """, to: ctx.appendingPathComponent("src/hello.c"))
        try write("""
            FROM debian-gcc:bookworm AS compile
            WORKDIR /build
            COPY src/hello.c .
            RUN gcc -static -O2 -o hello hello.c && ./hello

            FROM busybox
            COPY --from=compile /build/hello /usr/local/bin/hello
            ENTRYPOINT ["hello"]
            CMD ["one"]
            """, to: ctx.appendingPathComponent("Dockerfile"))
        let r = md(["build", "--progress", "plain", "-t", "hello:1", ctx.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("hello from C, 0 arguments"), "the compile stage ran it: \(r.stderr)")
        XCTAssertEqual(md(["run", "--rm", "hello:1"]).stdout, "hello from C, 1 argument\n")
        let exit = md(["run", "--rm", "hello:1", "a", "b", "c"])
        XCTAssertEqual(exit.status, 3)
        // The final image is busybox and the binary: no compiler, no C library.
        let ls = md(["run", "--rm", "--entrypoint", "sh", "hello:1", "-c", "ls /usr/bin/gcc /usr/lib/x86_64-linux-gnu 2>&1; ls /usr/local/bin"])
        XCTAssertTrue(ls.stdout.contains("/usr/bin/gcc: No such file or directory"), ls.stdout)
        XCTAssertTrue(ls.stdout.hasSuffix("hello\n"), ls.stdout)
        func layers(_ image: String) -> Int {
            md(["inspect", "--format", "{{json .RootFS.Layers}}", image]).stdout.components(separatedBy: "sha256:").count - 1
        }
        XCTAssertEqual(layers("hello:1"), layers("busybox") + 1, "busybox's layers and one more")

        // No change: cached throughout, well under a second of work.
        let again = md(["build", "--progress", "plain", "-t", "hello:1", ctx.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("(not built before)"), again.stderr)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }
}
