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

    /// RUN --mount=type=ssh (as BuildKit): the agent given with --ssh (here a stand-in on a
    /// unix socket of the test's own, answering what it is sent) is reached from the step
    /// through SSH_AUTH_SOCK by a C client compiled in Debian; the socket is in no layer.
    func testAnSSHAgentIsReachedFromARunStep() throws {
        let archive = try debianWithGcc()
        XCTAssertEqual(MDLuaBinary.run(["--root", root, "load", "-q", "-i", archive], timeout: 600).status, 0)
        let sock = dir.appendingPathComponent("agent.sock").path
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        agent.arguments = ["-c", """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.bind(sys.argv[1])
            s.listen(4)
            while True:
                c, _ = s.accept()
                c.sendall(b"agent says: " + c.recv(64) + b"\\n")
                c.close()
            """, sock]
        try agent.run()
        defer { agent.terminate(); agent.waitUntilExit() }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: sock) { usleep(50_000) }
        let ctx = dir.appendingPathComponent("ctx")
        try FileManager.default.createDirectory(at: ctx, withIntermediateDirectories: true)
        try write("""
            #include <stdio.h>
            #include <string.h>
            #include <sys/socket.h>
            #include <sys/un.h>
            #include <unistd.h>
            int main(int argc, char **argv) {
                struct sockaddr_un a = { .sun_family = AF_UNIX };
                strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
                int fd = socket(AF_UNIX, SOCK_STREAM, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror(argv[1]); return 1; }
                if (write(fd, "ping", 4) != 4) return 2;
                char buf[64];
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0) return 3;
                fwrite(buf, 1, n, stdout);
                return 0;
            }
            """, to: ctx.appendingPathComponent("client.c"))
        try write("""
            FROM debian-gcc:bookworm
            COPY client.c /client.c
            RUN gcc -O2 -o /client /client.c
            RUN --mount=type=ssh /client "$SSH_AUTH_SOCK" > /answer && stat -c '%F %n' "$SSH_AUTH_SOCK" >> /answer
            """, to: ctx.appendingPathComponent("Dockerfile"))
        let r = md(["build", "--progress", "plain", "--ssh", "default=" + sock, "-t", "agent:1", ctx.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(md(["run", "--rm", "agent:1", "sh", "-c", "cat /answer; ls /run/buildkit 2>&1 >/dev/null | wc -l"]).stdout,
                       "agent says: ping\nsocket /run/buildkit/ssh_agent.0\n1\n")
        // Without --ssh the mount is left out (it is not required), and required it is an error.
        try write("FROM debian-gcc:bookworm\nRUN --mount=type=ssh,required=true true\n", to: ctx.appendingPathComponent("Dockerfile"))
        let missing = md(["build", "-q", ctx.path])
        XCTAssertEqual(missing.status, 125, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("Dockerfile:2: ssh default is required: give it with --ssh default=SOCKET"), missing.stderr)
        XCTAssertEqual(md(["build", "-q", "--ssh", "default=" + ctx.path, ctx.path]).status, 125, "a directory is no agent")
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }
}
