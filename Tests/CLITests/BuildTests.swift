import Foundation
import XCTest

/// `mdlua build` and build scripts (docs/builds.md) with real builds from busybox: steps,
/// the cache (hits, a miss exactly where an input changed, --no-cache), stages copied from,
/// failing steps and hostile input. Each test has its own state root and context.
final class BuildTests: ContainerTestCase {
    var context: URL { dir.appendingPathComponent("ctx") }

    func file(_ name: String, _ text: String) throws {
        let url = context.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try write(text, to: url)
    }

    /// `mdlua build --progress plain` of the context; returns the result and the image ID.
    func build(_ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) -> (MDLuaBinary.Result, String) {
        let iid = dir.appendingPathComponent("iid").path
        try? FileManager.default.removeItem(atPath: iid)
        let r = md(["build", "--progress", "plain", "--iidfile", iid] + extra + [context.path], file: file, line: line)
        return (r, (try? String(contentsOfFile: iid, encoding: .utf8)) ?? "")
    }

    func lines(_ text: String, containing s: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains(s) }
    }

    func checkNoContainersOrStaging() {
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "no container is left")
        let staging = (try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? []
        XCTAssertEqual(staging.filter { !$0.hasPrefix(".") }, [], "nothing is left staged")
    }

    let dockerfile = """
        # syntax=docker/dockerfile:1
        ARG BASE=busybox
        FROM $BASE AS builder
        ARG GREETING=hello
        ENV A=1 \\
            B="two words"
        WORKDIR /work
        COPY src/ ./
        RUN echo "$GREETING $A $B" > out.txt && cat a.txt b.txt >> out.txt

        FROM busybox
        COPY --from=builder /work/out.txt /app/
        COPY --chown=nobody:nogroup --chmod=600 src/a.txt /app/secret
        LABEL version="1.0"
        EXPOSE 8080
        USER nobody
        ENTRYPOINT ["cat"]
        CMD ["/app/out.txt"]

        """

    func testMultiStageBuildCachesEveryStepAndMissesExactlyWhereAFileChanged() throws {
        try file("Dockerfile", dockerfile)
        try file("src/a.txt", "a\n")
        try file("src/b.txt", "b\n")
        try file("src/junk.o", "x\n")
        try file(".dockerignore", "**/*.o\n")

        let (first, id1) = build(["-t", "app:1", "--build-arg", "GREETING=hey"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(id1.hasPrefix("sha256:"), first.stderr)
        XCTAssertEqual(lines(first.stderr, containing: "CACHED"), [], first.stderr)
        XCTAssertEqual(md(["run", "--rm", "app:1"]).stdout, "hey 1 two words\na\nb\n")
        let ls = md(["run", "--rm", "--entrypoint", "ls", "app:1", "-ln", "/app", "/work"])
        XCTAssertTrue(ls.stdout.contains("-rw-------    1 65534    65534            2"), ls.stdout)
        XCTAssertFalse(ls.stdout.contains("junk.o"), ".dockerignore leaves junk.o out")
        let config = md(["inspect", "--format", "{{json .Config}}", "app:1"]).stdout
        for part in ["\"User\":\"nobody\"", "\"Entrypoint\":[\"cat\"]", "\"8080/tcp\":{}", "\"version\":\"1.0\""] {
            XCTAssertTrue(config.contains(part), "\(part) in \(config)")
        }

        // No change: every step cached, the same image.
        let (second, id2) = build(["-t", "app:1", "--build-arg", "GREETING=hey"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let steps = lines(second.stderr, containing: "STEP ").count
        XCTAssertEqual(steps, 12, second.stderr)
        XCTAssertEqual(lines(second.stderr, containing: "--> CACHED").count, steps, second.stderr)
        XCTAssertEqual(id2, id1)

        // One file changed: the steps before the COPY that reads it are cached, the COPY
        // says which file changed, what follows runs again.
        try file("src/b.txt", "B\n")
        let (third, id3) = build(["-t", "app:1", "--build-arg", "GREETING=hey", "--explain"])
        XCTAssertEqual(third.status, 0, third.stderr)
        let explained = lines(third.stdout, containing: "COPY src/ ./")
        XCTAssertEqual(explained.count, 1, third.stdout)
        XCTAssertTrue(explained.first?.contains("RAN") == true && explained.first?.contains("changed: src/b.txt") == true, third.stdout)
        XCTAssertTrue(lines(third.stdout, containing: "COPY --from=builder").first?.contains("changed: stage builder") == true,
                      third.stdout)
        XCTAssertNotEqual(id3, id1)
        let out = third.stderr.split(separator: "\n").map(String.init)
        guard let copy = out.firstIndex(where: { $0.contains("COPY src/ ./") }) else { return XCTFail(third.stderr) }
        XCTAssertTrue(out[copy + 1].contains("(changed: src/b.txt)"), third.stderr)
        XCTAssertEqual(lines(out[..<copy].joined(separator: "\n"), containing: "--> CACHED").count, 3, third.stderr)
        XCTAssertEqual(md(["run", "--rm", "app:1"]).stdout, "hey 1 two words\na\nB\n")
        // COPY src/a.txt reads a file that did not change, but its parent did.
        XCTAssertTrue(third.stderr.contains("an earlier step changed"), third.stderr)

        // A build arg is an input too.
        let (fourth, id4) = build(["--build-arg", "GREETING=hi"])
        XCTAssertEqual(fourth.status, 0, fourth.stderr)
        XCTAssertNotEqual(id4, id3)

        // --no-cache runs everything.
        let (fifth, _) = build(["--no-cache", "--build-arg", "GREETING=hey"])
        XCTAssertEqual(fifth.status, 0, fifth.stderr)
        XCTAssertEqual(lines(fifth.stderr, containing: "CACHED"), [], fifth.stderr)
        XCTAssertEqual(lines(fifth.stderr, containing: "(--no-cache)").count, 12, fifth.stderr)
        checkNoContainersOrStaging()
    }

    func testAFailingRunIsAnErrorAtItsLineAndLeavesNothing() throws {
        try file("Dockerfile", "FROM busybox\nRUN echo made > /made\nRUN echo one; echo last words >&2; exit 3\n")
        let (r, _) = build(["-t", "broken:1"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("mdlua: Dockerfile:3: RUN echo one; echo last words >&2; exit 3: exited with 3"), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("last words\n"), r.stderr)
        XCTAssertNotEqual(md(["inspect", "broken:1"]).status, 0, "no image is named")
        checkNoContainersOrStaging()

        // A script: the error names the script's line.
        try file("build.lua", """
            local ctx = ...
            local ok = md.build.from("busybox"):run("true")
            local broken = ok:run({ "sh", "-c", "echo halfway; exit 4" })
            return broken
            """)
        let s = md(["build", "-q", context.path])
        XCTAssertEqual(s.status, 1, s.stderr)
        XCTAssertTrue(s.stderr.contains("build.lua:3: RUN [\"sh\",\"-c\",\"echo halfway; exit 4\"]: exited with 4\nhalfway"), s.stderr)
        checkNoContainersOrStaging()
    }

    func testHostileAndUnsupportedInputIsRefusedWithItsLine() throws {
        try file("f", "x\n")
        try FileManager.default.createSymbolicLink(atPath: context.appendingPathComponent("passwd").path,
                                                   withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: context.appendingPathComponent("up").path,
                                                   withDestinationPath: "..")
        let cases: [(String, String)] = [
            ("COPY ../x /x", "Dockerfile:2: COPY ../x: the path is outside the build context"),
            ("COPY passwd /x", "Dockerfile:2: COPY passwd: passwd is a symlink that points outside the build context"),
            ("COPY up/root/x /x", "Dockerfile:2: COPY up/root/x: up is a symlink that points outside the build context"),
            ("COPY nothere /x", "Dockerfile:2: COPY nothere: no such file or directory in the build context"),
            ("ONBUILD RUN true", "Dockerfile:2: ONBUILD is not supported yet"),
            ("RUN --mount=type=cache,target=/c true", "Dockerfile:2: RUN --mount is not supported yet"),
            ("ADD https://127.0.0.1/x /x", "Dockerfile:2: ADD from a URL is not supported"),
        ]
        for (line, message) in cases {
            try file("Dockerfile", "FROM busybox\n\(line)\n")
            let (r, _) = build()
            XCTAssertEqual(r.status, 125, "\(line): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("mdlua: " + message), "\(line): \(r.stderr)")
        }
        try file("Dockerfile", "FROM busybox\nRUN " + String(repeating: "x", count: 1_048_577) + "\n")
        let (long, _) = build()
        XCTAssertEqual(long.status, 125)
        XCTAssertTrue(long.stderr.contains("mdlua: Dockerfile:2: line longer than 1 MiB"), long.stderr)
        XCTAssertEqual(md(["build", "--progress", "fancy", context.path]).status, 125)
        XCTAssertEqual(md(["build", dir.appendingPathComponent("none").path]).status, 125)
        checkNoContainersOrStaging()
    }

    func testABuildScriptTagsWhatItReturnsAndReusesTheCache() throws {
        try file("src/app.sh", "#!/bin/sh\necho from app\n")
        let script = dir.appendingPathComponent("build.lua")
        try write("""
            local ctx = md.build.context(arg[1])
            local tools = md.build.from("busybox"):copy(ctx, "src/app.sh", "/src/app.sh"):run("chmod 755 /src/app.sh")
            local app = md.build.from("busybox")
              :copy(tools, "/src/app.sh", "/usr/local/bin/app")
              :env{ MODE = "prod" }:workdir("/srv"):expose(8080)
              :entrypoint{ "app" }
            return app:tag("scripted:1")
            """, to: script)
        let r = md([script.path, context.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(md(["run", "--rm", "scripted:1"]).stdout, "from app\n")
        let again = md([script.path, context.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(lines(again.stderr, containing: "STEP ").count, lines(again.stderr, containing: "--> CACHED").count)
        XCTAssertEqual(lines(again.stderr, containing: "STEP ").count, 7, again.stderr)
        checkNoContainersOrStaging()
    }
}
