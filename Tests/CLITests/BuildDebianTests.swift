import Foundation
import XCTest

/// A real multi-stage build: a C program compiled by gcc in a Debian image made by
/// debootstrap (`image bootstrap debian --include gcc,libc6-dev`), its static binary copied
/// into a busybox image, which runs it. The Debian image is made once, before the suite, by
/// scripts/test-images.sh and kept as a docker archive (MDLUA_TEST_CACHE, default
/// /var/tmp/mdlua-test-cache); each test loads it into its own root.
final class BuildDebianTests: ContainerTestCase {
    static var cacheDir: String {
        let env = ProcessInfo.processInfo.environment["MDLUA_TEST_CACHE"] ?? ""
        return env.isEmpty ? "/var/tmp/mdlua-test-cache" : env
    }

    /// The archive of debian-gcc:bookworm, which scripts/test-images.sh makes before the suite
    /// (`make test` runs it): a test sends nothing beyond 127.0.0.0/8, a mirror included.
    func debianWithGcc() throws -> String {
        let archive = Self.cacheDir + "/debian-gcc-bookworm.tar"
        guard FileManager.default.fileExists(atPath: archive) else {
            XCTFail("no \(archive): scripts/test-images.sh makes it (make test runs it first)")
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
