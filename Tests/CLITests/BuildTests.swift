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
            ("ONBUILD FROM busybox", "Dockerfile:2: stage:onbuild: FROM is not allowed as an ONBUILD trigger"),
            ("RUN --mount=type=bind,source=../x,target=/x true", "Dockerfile:2: --mount source=../x: the path is outside the build context"),
            ("RUN --mount=type=bind,source=passwd,target=/x true",
             "Dockerfile:2: --mount source=passwd: passwd is a symlink that points outside the build context"),
            ("RUN --mount=type=tmpfs,target=/x,rw true", "Dockerfile:2: RUN --mount=type=tmpfs: rw and ro are for bind and cache mounts"),
            ("RUN --mount=type=secret,id=missing,required=true true", "Dockerfile:2: secret missing is required"),
            ("RUN <<EOF\ntrue\n", "Dockerfile:2: heredoc EOF: no line \"EOF\" ends it"),
            ("ADD https://127.0.0.1/x /x", "Dockerfile:2: ADD from a URL is not supported"),
            ("RUN --mount=type=ssh,required=true true", "Dockerfile:2: ssh default is required: give it with --ssh default=SOCKET"),
            ("RUN --mount=type=cache,target=/c,sharing=mine true", "Dockerfile:2: stage:run: mounts[1]: sharing=mine: expected shared, private or locked"),
            ("RUN --mount=type=cache,target=/c,from=busybox true", "Dockerfile:2: RUN --mount=type=cache,from= is not supported"),
            ("RUN --security=insecure true", "Dockerfile:2: RUN --security is not supported yet"),
            ("COPY <<EOF nothere /d/\nx\nEOF", "Dockerfile:2: COPY nothere: no such file or directory in the build context"),
            ("COPY <<EOF ../f /d/\nx\nEOF", "Dockerfile:2: COPY ../f: the path is outside the build context"),
            ("COPY <<EOF /x\nx", "Dockerfile:2: heredoc EOF: no line \"EOF\" ends it"),
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
        for bad in [["--secret", "src=/etc/hostname"], ["--secret", "id=x,src=/nonexistent"], ["-o", "type=tar,dest=/tmp/x"],
                    ["-o", "type=docker"], ["--timestamp", "yesterday"]] {
            let r = md(["build"] + bad + [context.path])
            XCTAssertEqual(r.status, 125, "\(bad): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(bad): \(r.stderr)")
        }
        checkNoContainersOrStaging()
    }

    /// A build script that fails halfway: the error names its line, exit status 125, the
    /// stage it built before stays (it is complete: a cache entry), the one tagged after is
    /// not made, and nothing is left staged, mounted or running.
    func testABuildScriptThatFailsHalfwayLeavesNothingHalfMade() throws {
        try file("build.lua", """
            local ctx = ...
            local first = md.build.from("busybox"):run("echo one > /one")
            first:build()
            local second = first:run("echo two > /two"):tag("half:1")
            error("stopped halfway")
            """)
        let r = md(["build", "--progress", "plain", context.path])
        XCTAssertEqual(r.status, 125, r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("mdlua: build.lua:5: stopped halfway\n") || r.stderr.contains("build.lua:5: stopped halfway"), r.stderr)
        XCTAssertNotEqual(md(["inspect", "half:1"]).status, 0, "the stage tagged after the error is not built")
        let check = md(["system", "check"])
        XCTAssertEqual(check.status, 0, check.stdout)
        checkNoContainersOrStaging()
    }

    /// RUN --mount: a cache mount kept between builds (and out of the image), a secret seen
    /// by the step and absent from every layer and from the history, a bind of the context
    /// (.dockerignore applies), a bind of another stage; heredocs, with and without #!.
    func testRunMountsSecretsAndHeredocs() throws {
        let secret = "s3cr3t-\(UUID().uuidString)"
        let secretFile = dir.appendingPathComponent("token")
        try write(secret + "\n", to: secretFile)
        try file("src/a.txt", "a\n")
        try file("src/skip.o", "o\n")
        try file(".dockerignore", "**/*.o\n")
        try file("Dockerfile", """
            FROM busybox AS tools
            RUN echo from-tools > /tool.txt
            FROM busybox
            RUN --mount=type=cache,target=/var/cache/app,id=app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /runs
            RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -c1-64 > /tok.sum && stat -c '%a %u' /run/secrets/tok > /tok.stat
            RUN --mount=type=secret,id=tok,target=/etc/tok,mode=0444 cat /etc/tok | wc -c > /tok.len
            RUN --mount=type=bind,source=src,target=/src ls /src > /src.ls
            RUN --mount=type=bind,from=tools,source=/tool.txt,target=/mnt/tool.txt cp /mnt/tool.txt /tool.copy
            RUN <<EOF
            echo heredoc > /hd
            echo "second line" >> /hd
            EOF
            RUN <<-EOF
            \t#!/bin/sh
            \techo "by $0" > /sb
            \tEOF
            RUN cat > /cat.txt <<EOF
            piped
            EOF
            """)
        let (first, id1) = build(["-t", "mounts:1", "--secret", "id=tok,src=" + secretFile.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        let run = md(["run", "--rm", "mounts:1", "sh", "-c",
                      "cat /runs /tok.sum /tok.stat /tok.len /src.ls /tool.copy /hd /sb /cat.txt; ls -d /run /var/cache/app /src /mnt 2>&1"])
        let digest = Process.capture("/usr/bin/sha256sum", [secretFile.path]).prefix(64)
        XCTAssertEqual(run.stdout, """
            1
            \(digest)
            400 0
            \(secret.count + 1)
            a.txt
            from-tools
            heredoc
            second line
            by /dev/pipes/EOF
            piped
            ls: /run: No such file or directory
            ls: /var/cache/app: No such file or directory
            ls: /src: No such file or directory
            ls: /mnt: No such file or directory

            """)
        XCTAssertEqual(id1.isEmpty, false)

        // The secret's bytes are in no layer, no config and no history entry.
        let archive = dir.appendingPathComponent("mounts.tar").path
        XCTAssertEqual(md(["save", "-o", archive, "mounts:1"]).status, 0)
        let unpacked = dir.appendingPathComponent("saved").path
        XCTAssertEqual(Process.run("/bin/sh", ["-c", "mkdir -p \"$0\" && tar -xf \"$1\" -C \"$0\"", unpacked, archive]), 0)
        let everything = Process.capture("/bin/sh", ["-c", "find \"$0\" -type f -exec zcat -f {} + | grep -ac \"$1\" || true", unpacked, secret])
        XCTAssertEqual(everything.trimmingCharacters(in: .whitespacesAndNewlines), "0", "the secret is in the saved image")
        let history = md(["history", "--no-trunc", "mounts:1"]).stdout
        XCTAssertFalse(history.contains(secret), history)
        XCTAssertTrue(history.contains("sha256sum /run/secrets/tok"), history)

        // The cache mount is kept between builds: a build that runs the step again sees it.
        let (again, _) = build(["-t", "mounts:2", "--no-cache", "--secret", "id=tok,src=" + secretFile.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(md(["run", "--rm", "mounts:2", "cat", "/runs"]).stdout, "2\n")
        // A file read through a bind mount is an input: changing it reruns that step.
        try file("src/b.txt", "b\n")
        let (third, _) = build(["-t", "mounts:3", "--secret", "id=tok,src=" + secretFile.path])
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertTrue(third.stderr.contains("(changed: src/b.txt)"), third.stderr)
        XCTAssertEqual(md(["run", "--rm", "mounts:3", "cat", "/src.ls"]).stdout, "a.txt\nb.txt\n")
        checkNoContainersOrStaging()
    }

    /// ADD of a local archive unpacks it (gzip, bzip2, xz, zstd and plain, known by content),
    /// owners and modes kept; a file that only looks like one is copied; ONBUILD triggers
    /// are kept in the config and run by a build FROM the image; -o writes archives,
    /// --label labels the image.
    func testAddArchivesOnbuildAndOutputs() throws {
        let tree = dir.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("d"), withIntermediateDirectories: true)
        try write("in the archive\n", to: tree.appendingPathComponent("d/f"))
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        for (name, flag) in [("a.tar", ""), ("b.tar.gz", "-z"), ("c.tbz", "-j"), ("d.txz", "-J"), ("e.tar.zst", "--zstd")] {
            XCTAssertEqual(Process.run("/bin/tar", ["-c"] + (flag.isEmpty ? [] : [flag]) + ["--owner=7", "--group=8", "--numeric-owner",
                           "-f", context.appendingPathComponent(name).path, "-C", tree.path, "d"]), 0)
        }
        try file("fake.tar.gz", "not an archive\n")
        try file("Dockerfile", """
            FROM busybox
            ADD a.tar /plain/
            ADD b.tar.gz c.tbz /many/
            ADD d.txz /xz
            ADD e.tar.zst /zst/
            ADD fake.tar.gz /fake.tar.gz
            ONBUILD RUN echo triggered > /triggered
            ONBUILD ENV FROM_TRIGGER=yes
            """)
        let oci = dir.appendingPathComponent("oci.tar").path, docker = dir.appendingPathComponent("docker.tar").path
        let (r, id) = build(["-t", "base:1", "--label", "made.by=test", "-o", "type=oci,dest=" + oci, "-o", "type=docker,dest=" + docker])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ls = md(["run", "--rm", "base:1", "sh", "-c", "cd / && for f in plain/d/f many/d/f xz/d/f zst/d/f; do stat -c '%n %u:%g %a' $f; cat $f; done; cat fake.tar.gz"])
        XCTAssertEqual(ls.stdout, ["plain", "many", "xz", "zst"].map { "\($0)/d/f 7:8 644\nin the archive\n" }.joined() + "not an archive\n", ls.stderr)
        let config = md(["inspect", "--format", "{{json .Config}}", "base:1"]).stdout
        XCTAssertTrue(config.contains("\"OnBuild\":[\"RUN echo triggered > /triggered\",\"ENV FROM_TRIGGER=yes\"]"), config)
        XCTAssertTrue(config.contains("\"made.by\":\"test\""), config)
        // The archives load as the same image.
        for archive in [oci, docker] {
            let other = dir.appendingPathComponent("other-\(archive.hasSuffix("oci.tar") ? "oci" : "docker")").path
            let loaded = MDLuaBinary.run(["--root", other, "load", "-q", "-i", archive])
            XCTAssertEqual(loaded.status, 0, loaded.stderr)
            let found = MDLuaBinary.run(["--root", other, "inspect", "--format", "{{.Id}}", id])
            XCTAssertEqual(found.stdout, id + "\n", "\(archive): \(found.stderr)")
        }

        try file("Dockerfile", "FROM base:1\nRUN cat /triggered\n")
        let (child, _) = build(["-t", "child:1"])
        XCTAssertEqual(child.status, 0, child.stderr)
        XCTAssertTrue(child.stderr.contains("STEP 1/3: RUN echo triggered > /triggered"), child.stderr)
        XCTAssertEqual(md(["run", "--rm", "child:1", "sh", "-c", "cat /triggered; echo $FROM_TRIGGER"]).stdout, "triggered\nyes\n")
        XCTAssertFalse(md(["inspect", "--format", "{{json .Config}}", "child:1"]).stdout.contains("OnBuild\":["), "triggers are not inherited")
        checkNoContainersOrStaging()
    }

    /// SOURCE_DATE_EPOCH (or --timestamp): two builds of the same inputs in two clean state
    /// roots, at different times and with the context's files touched in between, make the
    /// same image ID; another time makes another.
    func testATimestampMakesTheBuildReproducible() throws {
        try file("src/a.txt", "a\n")
        try file("Dockerfile", """
            FROM busybox AS build
            RUN mkdir -p /out && echo built > /out/f && touch /out/g
            FROM busybox
            COPY src/ /app/
            COPY --from=build /out/ /app/out/
            RUN echo x > /app/x
            WORKDIR /new/dir
            ENV A=1
            """)
        let base = dir.appendingPathComponent("busybox.tar").path
        XCTAssertEqual(md(["save", "-o", base, "busybox"]).status, 0)
        func clean(_ name: String, _ extra: [String], env: [String: String]) -> String {
            let other = dir.appendingPathComponent(name).path
            XCTAssertEqual(MDLuaBinary.run(["--root", other, "load", "-q", "-i", base]).status, 0)
            let r = MDLuaBinary.run(["--root", other, "build", "-q"] + extra + [context.path], env: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let one = clean("r1", [], env: ["SOURCE_DATE_EPOCH": "1700000000"])
        sleep(1)
        try file("src/a.txt", "a\n")
        let two = clean("r2", [], env: ["SOURCE_DATE_EPOCH": "1700000000"])
        let three = clean("r3", ["--timestamp", "1700000000"], env: [:])
        let other = clean("r4", ["--timestamp", "1700000001"], env: [:])
        XCTAssertTrue(one.hasPrefix("sha256:"), one)
        XCTAssertEqual(one, two)
        XCTAssertEqual(one, three)
        XCTAssertNotEqual(one, other)
        let created = MDLuaBinary.run(["--root", dir.appendingPathComponent("r1").path, "inspect", "--format", "{{.Created}}", one])
        XCTAssertTrue(created.stdout.hasPrefix("2023-11-14T22:13:20"), created.stdout)
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

    /// Independent stages run at the same time: each RUN marks its start in a cache mount
    /// both share, then waits (up to 60 s) for the other's mark. One after the other, the
    /// first would wait in vain and fail; together, both see the other and the build ends.
    func testIndependentStagesRunAtTheSameTime() throws {
        func stage(_ me: String, _ other: String) -> String {
            """
            FROM busybox AS \(me)
            RUN --mount=type=cache,id=sync,target=/sync touch /sync/\(me) && \\
                i=0; while [ ! -e /sync/\(other) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \\
                [ -e /sync/\(other) ] && echo "\(me) saw \(other)" > /\(me).txt
            """
        }
        try file("Dockerfile", stage("left", "right") + "\n" + stage("right", "left") + """

            FROM busybox
            COPY --from=left /left.txt /
            COPY --from=right /right.txt /
            CMD ["cat", "/left.txt", "/right.txt"]
            """)
        let (r, _) = build(["-t", "together:1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(md(["run", "--rm", "together:1"]).stdout, "left saw right\nright saw left\n")
        checkNoContainersOrStaging()

        // A stage that fails stops the one running beside it: its container is removed too.
        try file("Dockerfile", """
            FROM busybox AS slow
            RUN sleep 600
            FROM busybox AS broken
            RUN exit 7
            FROM busybox
            COPY --from=slow /bin/sh /a
            COPY --from=broken /bin/sh /b
            """)
        let (failed, _) = build()
        XCTAssertEqual(failed.status, 1, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("Dockerfile:4: RUN exit 7: exited with 7"), failed.stderr)
        checkNoContainersOrStaging()
    }

    /// `builder prune`: dangling entries (the intermediate images) go, the tagged image and
    /// the cache mounts stay; --keep-storage keeps what fits; --all takes the cache mounts
    /// too; `system df` has a Build Cache row.
    func testBuilderPruneAndSystemDf() throws {
        try file("src/a.txt", "a\n")
        try file("Dockerfile", """
            FROM busybox
            RUN --mount=type=cache,target=/c echo run >> /c/log && wc -l < /c/log > /runs
            COPY src/ /src/
            RUN echo done > /done
            """)
        let (r, id) = build(["-t", "pruned:1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let df = md(["system", "df"])
        XCTAssertTrue(df.stdout.contains("Build Cache"), df.stdout)
        func intermediates() -> String {
            md(["-e", "local n = 0 for _, i in ipairs(md.image.list()) do if #i.names == 0 then n = n + 1 end end print(n)"]).stdout
        }
        XCTAssertEqual(intermediates(), "2\n", "the RUN and the COPY before the last step")

        let keep = md(["builder", "prune", "-a", "-f", "--keep-storage", "1GB"])
        XCTAssertEqual(keep.status, 0, keep.stderr)
        XCTAssertFalse(keep.stdout.contains("Deleted build cache objects"), keep.stdout)
        XCTAssertEqual(intermediates(), "2\n")

        let pruned = md(["builder", "prune", "-f"])
        XCTAssertEqual(pruned.status, 0, pruned.stderr)
        XCTAssertTrue(pruned.stdout.hasPrefix("Deleted build cache objects:\n"), pruned.stdout)
        XCTAssertTrue(pruned.stdout.contains("Total reclaimed space: "), pruned.stdout)
        XCTAssertEqual(intermediates(), "0\n")
        XCTAssertEqual(md(["inspect", "--format", "{{.Id}}", "pruned:1"]).stdout, id + "\n", "the tagged image stays")
        // The cache mount was kept: a step that runs again sees what it holds.
        let (again, _) = build(["-t", "pruned:2", "--no-cache"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(md(["run", "--rm", "pruned:2", "cat", "/runs"]).stdout, "2\n")

        let all = md(["builder", "prune", "--all", "-f"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(all.stdout.contains("mount "), all.stdout)
        let (third, _) = build(["-t", "pruned:3"])
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertEqual(lines(third.stderr, containing: "CACHED"), [], "nothing is cached after --all")
        XCTAssertEqual(md(["run", "--rm", "pruned:3", "cat", "/runs"]).stdout, "1\n", "the cache mount was removed")
        XCTAssertEqual(md(["builder", "prune", "-f", "--keep-storage", "lots"]).status, 125)
        // Without -f it asks, as Docker's; no answer is a no.
        let asked = md(["builder", "prune", "-a"], stdin: "")
        XCTAssertEqual(asked.status, 0, asked.stderr)
        XCTAssertTrue(asked.stdout.hasPrefix("WARNING! This will remove all build cache."), asked.stdout)
        XCTAssertFalse(asked.stdout.contains("Deleted"), asked.stdout)
        checkNoContainersOrStaging()
    }

    /// COPY into directories the image has: their mode and owner stay (/tmp stays 1777), a
    /// symlink on the way is followed inside the image, a directory made for --chown is
    /// that user's; a destination that is a directory of the image, or ".", gets the file.
    func testCopyKeepsTheImagesDirectoriesAndFollowsItsSymlinks() throws {
        try file("a.txt", "a\n")
        try file("Dockerfile", """
            FROM busybox
            RUN mkdir -p /usr/share/real && ln -s /usr/share/real /linked && chmod 750 /usr/share/real
            COPY a.txt /tmp/
            COPY a.txt /linked/
            COPY --chown=nobody:nogroup a.txt /made/for/nobody/
            COPY a.txt /usr
            WORKDIR /w
            COPY a.txt .
            """)
        let (r, _) = build(["-t", "dirs:1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = md(["run", "--rm", "dirs:1", "sh", "-c",
                      "stat -c '%n %a %u' /tmp /usr/share/real /usr/share/real/a.txt /made /made/for /made/for/nobody /usr/a.txt /w/a.txt; readlink /linked"])
        XCTAssertEqual(out.stdout, """
            /tmp 1777 0
            /usr/share/real 750 0
            /usr/share/real/a.txt 644 0
            /made 755 65534
            /made/for 755 65534
            /made/for/nobody 755 65534
            /usr/a.txt 644 0
            /w/a.txt 644 0
            /usr/share/real

            """, out.stderr)
        checkNoContainersOrStaging()
    }

    /// --progress auto on a real terminal (a pseudo-terminal 60 columns wide): each step's
    /// line is written when it starts and rewritten in place when it ends, cut to the
    /// terminal's width, its output hidden; a rebuild's steps say CACHED.
    func testProgressOnATerminalRewritesEachStepsLineInItsWidth() throws {
        try file("Dockerfile", """
            FROM busybox
            RUN echo hidden-$((40+2)) && echo "a step whose line is much longer than the sixty columns of the terminal"
            ENV A=1

            """)
        for pass in ["first", "again"] {
            let term = try REPLTests.Terminal(arguments: ["--root", root, "build", "--progress", "auto", "-t", "tty:1", context.path],
                                              environment: ["TERM": "xterm", "PATH": "/usr/bin:/bin"], rows: 24, columns: 60)
            let run = "STEP 1/2: RUN echo hidden-$((40+2)) && echo \"a step whose line is much longer than the sixty columns of the terminal\""
            let cut = String(run.prefix(56)) + "..."
            term.expect("\r\u{1B}[K" + cut + "\r\u{1B}[K" + cut + "\r\n")
            term.expect("\r\u{1B}[KSTEP 2/2: ENV A=1\r\u{1B}[KSTEP 2/2: ENV A=1  " + (pass == "first" ? "0." : "CACHED"))
            let rest = term.expect("Built sha256:")
            term.waitForExit()
            XCTAssertEqual(term.process.terminationStatus, 0, term.screen)
            XCTAssertFalse(term.screen.contains("hidden-42"), term.screen.debugDescription)
            XCTAssertTrue(rest.contains("Tagged tty:1"), rest.debugDescription)
        }
        checkNoContainersOrStaging()
    }

    /// Cache mounts' sharing (as BuildKit): two stages that run at the same time (each waits
    /// for the other's mark in a shared cache) see one instance each of a private cache; two
    /// with a locked cache take turns (neither finds the other inside), and the stage after
    /// them finds what both wrote, and cannot write in it through a read-only mount.
    func testCacheMountSharingPrivateAndLocked() throws {
        func privateStage(_ me: String, _ other: String) -> String {
            """
            FROM busybox AS \(me)
            RUN --mount=type=cache,id=sync,target=/sync --mount=type=cache,id=p,target=/c,sharing=private \\
                touch /c/\(me) && touch /sync/\(me) && \\
                i=0; while [ ! -e /sync/\(other) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \\
                [ -e /sync/\(other) ] && ls /c > /\(me).ls
            """
        }
        func lockedStage(_ me: String) -> String {
            """
            FROM busybox AS \(me)
            RUN --mount=type=cache,id=l,target=/c,sharing=locked \\
                [ ! -e /c/inside ] && touch /c/inside && echo "\(me) in" >> /c/log && sleep 0.5 && \\
                echo "\(me) out" >> /c/log && rm /c/inside && echo \(me) > /\(me).txt
            """
        }
        try file("Dockerfile", privateStage("left", "right") + "\n" + privateStage("right", "left") + "\n"
            + lockedStage("one") + "\n" + lockedStage("two") + """

            FROM busybox
            COPY --from=left /left.ls /
            COPY --from=right /right.ls /
            COPY --from=one /one.txt /
            COPY --from=two /two.txt /
            RUN --mount=type=cache,id=l,target=/c,sharing=locked cp /c/log /log
            RUN --mount=type=cache,id=l,target=/c,ro [ -s /c/log ] && ! touch /c/new 2>/dev/null
            CMD ["cat", "/left.ls", "/right.ls", "/log"]
            """)
        let (r, _) = build(["-t", "sharing:1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = md(["run", "--rm", "sharing:1"]).stdout
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(2)), ["left", "right"], out)
        XCTAssertTrue(lines.dropFirst(2) == ["one in", "one out", "two in", "two out"]
                      || lines.dropFirst(2) == ["two in", "two out", "one in", "one out"], out)
        checkNoContainersOrStaging()
    }

    /// A read-write bind (as BuildKit): the step writes in a copy of the context's files or
    /// the stage's, owners and modes kept, and its writes go with it: the next step, the
    /// context and the stage see the files as they were.
    func testARwBindWritesInACopyThrownAwayAfterTheStep() throws {
        try file("src/a.txt", "a\n")
        try file("Dockerfile", """
            FROM busybox AS tools
            RUN mkdir /t && echo tool > /t/tool && chown 1:2 /t/tool && chmod 640 /t/tool
            FROM busybox
            RUN --mount=type=bind,source=src,target=/src,rw echo changed > /src/a.txt && echo new > /src/new && cat /src/a.txt > /rw.txt && ls /src > /rw.ls
            RUN --mount=type=bind,source=src,target=/src cat /src/a.txt > /after.txt && ls /src > /after.ls
            RUN --mount=type=bind,from=tools,source=/t,target=/t,rw echo y > /t/new && stat -c '%u:%g %a' /t/tool > /tool.stat && ls /t > /t.ls
            RUN --mount=type=bind,from=tools,source=/t,target=/t ls /t > /t.after
            RUN --mount=type=bind,source=src/a.txt,target=/one,readwrite echo z >> /one && cat /one > /one.txt
            """)
        let (r, _) = build(["-t", "rw:1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = md(["run", "--rm", "rw:1", "sh", "-c", "cat /rw.txt /rw.ls /after.txt /after.ls /tool.stat /t.ls /t.after /one.txt; ls -d /src /t /one 2>&1"])
        XCTAssertEqual(out.stdout, """
            changed
            a.txt
            new
            a
            a.txt
            1:2 640
            new
            tool
            tool
            a
            z
            ls: /src: No such file or directory
            ls: /t: No such file or directory
            ls: /one: No such file or directory

            """, out.stderr)
        XCTAssertEqual(try String(contentsOf: context.appendingPathComponent("src/a.txt"), encoding: .utf8), "a\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: context.appendingPathComponent("src/new").path))
        checkNoContainersOrStaging()
    }

    /// COPY <<EOF and ADD <<EOF (as BuildKit's Dockerfile frontend, whose tests these
    /// mirror: buildah 1.28 has no heredocs to compare with): a file named by the end word
    /// (several make a directory), mode 0644 and root's unless --chmod/--chown, the content
    /// expanded (quotes kept, \X gives X) unless the word is quoted, <<- without leading tabs,
    /// an ADD never unpacking one; the content is the step's input in the cache. A build
    /// script does the same with md.build.inline.
    func testCopyHeredocsMakeFilesOfTheirContent() throws {
        let dockerfile = """
            FROM busybox
            ARG name=world
            WORKDIR /dest
            COPY <<EOF single
            single file
            EOF
            COPY <<EOF <<EOF2 double/
            first file
            EOF
            second file
            EOF2
            COPY --chmod=777 <<EOF /perm/all
            x
            EOF
            COPY --chown=nobody:nogroup <<EOF /perm/owned
            x
            EOF
            COPY <<EOF c1
            Hello ${name}! '${name}' "${name}"
            EOF
            COPY <<'EOF' c2
            Hello ${name}!
            EOF
            COPY <<EOF slash
            \\
            \\\\
            \\$
            EOF
            COPY <<"EOF" rawslash
            \\\\
            \\$
            EOF
            COPY <<EOF tab
            \tfoo
            EOF
            COPY <<-EOF notab
            \tbar
            \tEOF
            ADD <<EOF /added.tar
            not an archive
            EOF
            COPY ctx.txt <<EOF /mixed/
            from a heredoc
            EOF

            """
        try file("Dockerfile", dockerfile)
        try file("ctx.txt", "from the context\n")
        let (first, id1) = build(["-t", "heredocs:1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("STEP 4/14: COPY <<EOF <<EOF2 double/"), first.stderr)
        let out = md(["run", "--rm", "heredocs:1", "sh", "-c", """
            cd /dest && stat -c '%n %a %u:%g' /dest single double double/EOF double/EOF2 /perm /perm/all /perm/owned /added.tar /mixed/*
            for f in single double/EOF double/EOF2 c1 c2 slash rawslash tab notab /added.tar /mixed/*; do echo "[$f]"; cat $f; done
            """])
        XCTAssertEqual(out.stdout, """
            /dest 755 0:0
            single 644 0:0
            double 755 0:0
            double/EOF 644 0:0
            double/EOF2 644 0:0
            /perm 755 0:0
            /perm/all 777 0:0
            /perm/owned 644 65534:65534
            /added.tar 644 0:0
            /mixed/EOF 644 0:0
            /mixed/ctx.txt 644 0:0
            [single]
            single file
            [double/EOF]
            first file
            [double/EOF2]
            second file
            [c1]
            Hello world! 'world' "world"
            [c2]
            Hello ${name}!
            [slash]

            \\
            $
            [rawslash]
            \\\\
            \\$
            [tab]
            \tfoo
            [notab]
            bar
            [/added.tar]
            not an archive
            [/mixed/EOF]
            from a heredoc
            [/mixed/ctx.txt]
            from the context

            """, out.stderr)

        // Built again: every step cached. One heredoc changed: its COPY runs, naming it, and
        // the steps before stay cached.
        let (again, id2) = build(["-t", "heredocs:1"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(id2, id1)
        XCTAssertEqual(lines(again.stderr, containing: "-->").filter { !$0.contains("CACHED") }, [], again.stderr)
        try file("Dockerfile", dockerfile.replacingOccurrences(of: "Hello ${name}! '", with: "Bye ${name}! '"))
        let (changed, id3) = build(["-t", "heredocs:1"])
        XCTAssertEqual(changed.status, 0, changed.stderr)
        XCTAssertNotEqual(id3, id1)
        let after = changed.stderr.components(separatedBy: "COPY <<EOF c1")
        XCTAssertEqual(after.count, 2, changed.stderr)
        XCTAssertTrue(after[1].split(separator: "\n").first?.contains("(changed: EOF)") ?? false, changed.stderr)
        XCTAssertEqual(lines(after[0], containing: "-->").filter { !$0.contains("CACHED") }, [], changed.stderr)
        XCTAssertEqual(md(["run", "--rm", "heredocs:1", "cat", "/dest/c1", "/dest/c2"]).stdout,
                       "Bye world! 'world' \"world\"\nHello ${name}!\n")

        let script = dir.appendingPathComponent("inline.lua")
        try write("""
            local files = md.build.inline{ ["app.conf"] = "port=8080\\n", ["other.conf"] = "x\\n" }
            return md.build.from("busybox"):copy(files, "app.conf", "/etc/app/", { chmod = "600" }):tag("inline:1")
            """, to: script)
        let r = md(["build", "-q", "-f", script.path, context.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let conf = md(["run", "--rm", "inline:1", "sh", "-c", "stat -c '%n %a %u:%g' /etc/app/app.conf; cat /etc/app/app.conf; ls /etc/app"])
        XCTAssertEqual(conf.stdout, "/etc/app/app.conf 600 0:0\nport=8080\napp.conf\n", conf.stderr)
        checkNoContainersOrStaging()
    }
}
