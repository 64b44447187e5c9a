import Foundation
import XCTest

/// `mdlua build` beside `buildah bud` (Debian's buildah, with runc: crun refuses this host's
/// hybrid cgroups) of the same Dockerfiles from the same busybox: the image configs agree
/// (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels, Healthcheck, Volumes,
/// StopSignal) and so do the files the builds added: variables, the forms of ENTRYPOINT and
/// CMD, USER and WORKDIR across stages, .dockerignore. Buildah keeps its store in the test's
/// directory and never pulls.
final class BuildParityTests: ContainerTestCase {
    var buildahRoot: [String] {
        ["--root", dir.appendingPathComponent("buildah/root").path,
         "--runroot", dir.appendingPathComponent("buildah/run").path, "--storage-driver", "overlay"]
    }

    func buildah(_ args: [String]) -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/buildah")
        p.arguments = buildahRoot + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/buildah"), "buildah is not installed")
        let tablesBefore = NetavarkTables.current()
        addTeardownBlock { [unowned self] in
            defer { NetavarkTables.removeSkeletons(before: tablesBefore) }
            _ = buildah(["rm", "--all"])
            _ = buildah(["rmi", "--all", "--force"])
            // The overlay driver's own mounts of its home, if it left any.
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            let ours = mounts.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ")
                return f.count > 4 && f[4].contains(dir.path + "/buildah") ? String(f[4]) : nil
            }
            for m in ours.sorted(by: >) { umount2(m, Int32(MNT_DETACH)) }
        }
        let archive = dir.appendingPathComponent("busybox.tar").path
        XCTAssertEqual(md(["save", "-o", archive, "busybox"]).status, 0)
        let pulled = buildah(["pull", "-q", "docker-archive:" + archive])
        XCTAssertEqual(pulled.0, 0, pulled.2)
        let tagged = buildah(["tag", pulled.1.trimmingCharacters(in: .whitespacesAndNewlines), "docker.io/library/busybox:latest"])
        XCTAssertEqual(tagged.0, 0, tagged.2)
    }

    let keys = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Healthcheck", "Volumes", "StopSignal",
                "OnBuild"]

    /// The keys above of a config, empty values dropped (buildah writes "", [] and {} where
    /// mdlua leaves a key out) and buildah's own label removed.
    func normalized(_ json: String) -> [String: NSObject] {
        let obj = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        var out: [String: NSObject] = [:]
        for k in keys {
            guard var v = obj[k], !(v is NSNull) else { continue }
            if let s = v as? String, s.isEmpty { continue }
            // An ENV that sets a variable the image has: Docker (and mdlua) replace it where
            // it is, buildah 1.28 moves it to the end. The set is what is compared.
            if k == "Env", let env = v as? [String] { v = env.sorted() }
            if var labels = v as? [String: Any] {
                labels.removeValue(forKey: "io.buildah.version")
                if labels.isEmpty { continue }
                v = labels
            }
            if let d = v as? [String: Any], d.isEmpty { continue }
            if let a = v as? [Any], a.isEmpty { continue }
            out[k] = v as? NSObject
        }
        return out
    }

    /// Path, type, mode, owner and content digest of every file under `paths` in a tree.
    func listing(_ tree: String, _ paths: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "cd \"$0\" && find \(paths.joined(separator: " ")) -printf '%p %y %m %U:%G %l\\n' | sort"
                       + " && find \(paths.joined(separator: " ")) -type f | sort | xargs -r sha256sum", tree]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The context of a check, made before it when it needs files that are not text.
    func contextDir(_ name: String) -> URL { dir.appendingPathComponent("ctx-" + name) }

    /// Builds `dockerfile` with both and compares. "{TOOL}" in it is "md" for mdlua and "bh"
    /// for buildah (a base image one of the two built before); `extra` goes to both builds.
    func check(_ name: String, _ dockerfile: String, files: [String: String] = [:], paths: [String],
               buildArgs: [String] = [], extra: [String] = [], line: UInt = #line) throws {
        let ctx = contextDir(name)
        try FileManager.default.createDirectory(at: ctx, withIntermediateDirectories: true)
        for (f, text) in files {
            let url = ctx.appendingPathComponent(f)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try write(text, to: url)
        }
        let mdFile = dir.appendingPathComponent("Dockerfile-\(name)-md"), bhFile = dir.appendingPathComponent("Dockerfile-\(name)-bh")
        try write(dockerfile.replacingOccurrences(of: "{TOOL}", with: "md"), to: mdFile)
        try write(dockerfile.replacingOccurrences(of: "{TOOL}", with: "bh"), to: bhFile)
        let args = buildArgs.flatMap { ["--build-arg", $0] } + extra
        let ours = md(["build", "-q", "-f", mdFile.path, "-t", name + ":md"] + args + [ctx.path])
        XCTAssertEqual(ours.status, 0, ours.stderr, line: line)
        let theirs = buildah(["bud", "--runtime", "runc", "--pull=never", "--format", "docker", "-q", "-f", bhFile.path,
                              "-t", name + ":bh"] + args + [ctx.path])
        XCTAssertEqual(theirs.0, 0, theirs.2, line: line)
        let mine = md(["inspect", "--format", "{{json .Config}}", name + ":md"]).stdout
        // buildah 1.28's templates have no json function: the whole document, then its part.
        let whole = buildah(["inspect", "--type", "image", name + ":bh"]).1
        let doc = (try? JSONSerialization.jsonObject(with: Data(whole.utf8))) as? [String: Any]
        let part = (doc?["Docker"] as? [String: Any])?["config"] ?? [:]
        let bh = String(decoding: (try? JSONSerialization.data(withJSONObject: part)) ?? Data(), as: UTF8.self)
        XCTAssertEqual(normalized(mine), normalized(bh), "\(name): mdlua \(mine)\nbuildah \(bh)", line: line)

        // The files: mdlua's image exported, buildah's mounted. (No paths: configs only.)
        if paths.isEmpty { return }
        let export = dir.appendingPathComponent("export-" + name)
        try FileManager.default.createDirectory(at: export, withIntermediateDirectories: true)
        let c = md(["create", name + ":md", "true"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let tar = dir.appendingPathComponent(name + ".tar").path
        XCTAssertEqual(md(["export", "-o", tar, c]).status, 0, line: line)
        md(["rm", c])
        XCTAssertEqual(Process.run("/bin/tar", ["-xpf", tar, "-C", export.path]), 0, line: line)
        let container = buildah(["from", "--pull=never", name + ":bh"]).1.trimmingCharacters(in: .whitespacesAndNewlines)
        let mnt = buildah(["mount", container]).1.trimmingCharacters(in: .whitespacesAndNewlines)
        let mineFiles = listing(export.path, paths)
        for p in paths { XCTAssertTrue(mineFiles.contains(p + " "), "\(p) in \(mineFiles)", line: line) }
        XCTAssertEqual(mineFiles, listing(mnt, paths), name, line: line)
        _ = buildah(["umount", container])
        _ = buildah(["rm", container])
    }

    func testConfigsAndFilesAgreeWithBuildah() throws {
        try check("config", """
            FROM busybox
            ENV A=1 B="two words"
            ENV C=$A-x
            LABEL org.example.name="parity" version=2
            WORKDIR /srv
            WORKDIR app
            USER nobody:nogroup
            EXPOSE 8080 53/udp
            VOLUME ["/data", "/cache"]
            STOPSIGNAL SIGINT
            HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD ["true"]
            ENTRYPOINT ["/bin/echo"]
            CMD ["hello"]
            """, paths: ["bin/busybox"])
        try check("shellform", """
            FROM busybox
            ENTRYPOINT echo from entrypoint
            HEALTHCHECK CMD wget -q -O- http://127.0.0.1/ || exit 1
            """, paths: ["bin/busybox"])
        try check("files", """
            FROM busybox AS build
            ARG WHO=parity
            WORKDIR /work
            COPY src/ ./
            RUN echo "made by $WHO" > made.txt && chmod 640 made.txt && mkdir -p out && cp *.txt out/
            FROM busybox
            COPY --from=build /work/out/ /app/
            COPY --chown=1000:1000 --chmod=600 src/a.txt /app/secret
            COPY src/*.txt /globbed/
            CMD ["cat", "/app/made.txt"]
            """, files: ["src/a.txt": "a\n", "src/b.txt": "b\n", "src/sub/c": "c\n"],
            paths: ["app", "globbed"])
    }

    /// ARG before FROM, ARG defaults and --build-arg, ${VAR:-default} and ${VAR:+alt}, ENV
    /// that refers to ARG and to ENV, a variable in WORKDIR, COPY and USER.
    func testVariableExpansionAgreesWithBuildah() throws {
        try check("vars", """
            ARG BASE=busybox
            FROM $BASE
            ARG NAME=app
            ARG LEVEL
            ARG UNUSED=x
            ENV APP=$NAME HOME_DIR=/opt/${NAME} LEVEL=${LEVEL:-low} FLAG=${NAME:+on} NONE=${MISSING:+never}
            ENV PATH=$HOME_DIR/bin:$PATH
            WORKDIR $HOME_DIR
            COPY ${NAME}.txt ./
            ARG OWNER=1000
            USER ${OWNER}:${OWNER}
            CMD ["sh", "-c", "echo $APP"]
            """, files: ["app.txt": "a\n", "other.txt": "o\n"], paths: ["opt/other", "opt/other/other.txt"],
            buildArgs: ["NAME=other", "LEVEL=high"])
    }

    /// ENTRYPOINT and CMD in shell and exec form, a later CMD replacing an earlier one, an
    /// ENTRYPOINT that resets CMD, and SHELL changing how the shell form is run.
    func testEntrypointAndCmdFormsAgreeWithBuildah() throws {
        try check("cmdshell", """
            FROM busybox
            CMD echo "shell form" $HOME
            """, paths: ["bin/busybox"])
        try check("entryexec", """
            FROM busybox
            CMD ["first"]
            ENTRYPOINT ["/bin/echo", "-n"]
            CMD ["second", "third"]
            """, paths: ["bin/busybox"])
        // (A shell-form ENTRYPOINT or CMD after SHELL: Docker runs it with that shell, as
        // mdlua does; buildah 1.28 keeps /bin/sh -c. Not compared.)
        try check("shell", """
            FROM busybox
            SHELL ["/bin/sh", "-ec"]
            RUN echo "$0 $-" > /shell.txt
            """, paths: ["shell.txt"])
    }

    /// USER and WORKDIR across stages: files a non-root RUN makes (COPY --from keeps their
    /// owners), WORKDIRs that make their directory (owned by USER) or find it, and COPY
    /// --from of a named stage and of a stage by index.
    func testUserWorkdirAndStagesAgreeWithBuildah() throws {
        try check("stages", """
            FROM busybox AS base
            RUN mkdir -p /home/u && chown 1000:1000 /home/u
            USER 1000:1000
            WORKDIR /home/u
            RUN echo mine > owned.txt && mkdir sub && echo deep > sub/file
            FROM busybox
            COPY --from=base /home/u/ /copied/
            COPY --from=0 /home/u/owned.txt /by-index.txt
            WORKDIR /made/by/workdir
            USER 1000:1000
            WORKDIR /as/user
            WORKDIR /made/by
            USER nobody
            """, paths: ["copied", "by-index.txt", "made", "as"])
    }

    /// .dockerignore: patterns, a negation, a directory and ** decide what COPY . copies.
    func testDockerignoreAgreesWithBuildah() throws {
        try check("ignore", """
            FROM busybox
            COPY . /ctx/
            """, files: [".dockerignore": "*.log\n!keep.log\ntmp\n**/*.bak\nDockerfile\n.dockerignore\n",
                         "a.txt": "a\n", "debug.log": "x\n", "keep.log": "k\n", "tmp/t": "t\n",
                         "dir/b.txt": "b\n", "dir/old.bak": "o\n", "dir/deeper/c.bak": "c\n", "dir/deeper/c.txt": "c\n"],
            paths: ["ctx"])
    }

    /// ONBUILD: the triggers kept in the config, then run by a build FROM the image (which
    /// does not inherit them).
    func testOnbuildAgreesWithBuildah() throws {
        try check("onbase", """
            FROM busybox
            ONBUILD RUN echo triggered > /trig
            ONBUILD ENV TRIG=yes
            ONBUILD COPY a.txt /from-trigger.txt
            """, files: ["a.txt": "a\n"], paths: [])   // (buildah from runs the triggers: configs only)
        try check("onchild", """
            FROM onbase:{TOOL}
            RUN cat /trig > /child.txt && echo "$TRIG" >> /child.txt
            """, files: ["a.txt": "child context\n"], paths: ["trig", "child.txt", "from-trigger.txt"])
    }

    /// ADD of local archives (plain, gzip, xz, bzip2), unpacked with their owners and modes;
    /// COPY of one, and ADD of a file named like one, copy it as it is.
    func testAddArchivesAgreeWithBuildah() throws {
        let ctx = contextDir("addtar"), tree = dir.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("d/e"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: ctx, withIntermediateDirectories: true)
        try write("in the archive\n", to: tree.appendingPathComponent("d/f"))
        try write("#!/bin/sh\n", to: tree.appendingPathComponent("d/e/x.sh"))
        XCTAssertEqual(chmod(tree.appendingPathComponent("d/e/x.sh").path, 0o750), 0)
        for (file, flag) in [("a.tar", "-c"), ("b.tar.gz", "-cz"), ("c.txz", "-cJ"), ("d.tar.bz2", "-cj")] {
            XCTAssertEqual(Process.run("/bin/tar", [flag, "--owner=7", "--group=8", "--numeric-owner", "-f",
                                                    ctx.appendingPathComponent(file).path, "-C", tree.path, "d"]), 0)
        }
        try check("addtar", """
            FROM busybox
            ADD a.tar /plain/
            ADD b.tar.gz c.txz /many/
            ADD d.tar.bz2 /bz
            COPY b.tar.gz /copied/
            ADD fake.tar.gz /fake.tar.gz
            """, files: ["fake.tar.gz": "not an archive\n"], paths: ["plain", "many", "bz", "copied", "fake.tar.gz"])
    }

    /// RUN --mount: a bind of the context and of a stage, a cache mount, a tmpfs, a secret, a
    /// read-write bind (what the step wrote in it is not compared after the step: buildah 1.28
    /// keeps it for the next steps, BuildKit and mdlua throw it away; BuildTests checks that).
    func testRunMountsAgreeWithBuildah() throws {
        let secret = dir.appendingPathComponent("secret.txt")
        try write("classified\n", to: secret)
        try check("mounts", """
            FROM busybox AS tools
            RUN echo tool > /tool
            FROM busybox
            RUN --mount=type=bind,source=src,target=/src cp -r /src /from-src
            RUN --mount=type=bind,from=tools,source=/tool,target=/t cp /t /from-tool
            RUN --mount=type=cache,target=/cache echo x > /cache/f && ls /cache > /cache.ls
            RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs.ls
            RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /secret.len
            RUN --mount=type=bind,source=src,target=/src,rw echo changed > /src/a.txt && cat /src/a.txt > /rw.txt
            """, files: ["src/a.txt": "a\n", "src/sub/b.txt": "b\n"],
            paths: ["from-src", "from-tool", "cache.ls", "tmpfs.ls", "secret.len", "rw.txt"],
            extra: ["--secret", "id=tok,src=" + secret.path])
    }

    /// The escape directive: a backtick continues lines, a backslash is an ordinary character.
    func testEscapeDirectiveAgreesWithBuildah() throws {
        try check("escape", """
            # escape=`
            FROM busybox
            ENV A=one `
                B=two
            RUN echo "$A $B" > /ab.txt && `
                echo 'back\\slash' > /bs.txt
            COPY `
              a.txt /a.txt
            LABEL path="c:\\dir"
            """, files: ["a.txt": "a\n"], paths: ["ab.txt", "bs.txt", "a.txt"])
    }

    /// HEALTHCHECK with every option, then NONE in an image FROM it; STOPSIGNAL as a number
    /// and a name; VOLUME in both forms, added to the base's.
    func testHealthcheckStopsignalAndVolumesAgreeWithBuildah() throws {
        try check("health", """
            FROM busybox
            HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=2 CMD wget -q -O- http://127.0.0.1/ || exit 1
            STOPSIGNAL 9
            VOLUME /data /logs
            VOLUME ["/json"]
            """, paths: ["bin/busybox"])
        try check("healthnone", """
            FROM health:{TOOL}
            HEALTHCHECK NONE
            STOPSIGNAL SIGUSR1
            VOLUME /more
            """, paths: ["bin/busybox"])
    }

    /// COPY's flags with globs and several sources: --chown by name, --chmod on files, a
    /// character class, a relative destination under WORKDIR.
    func testCopyFlagsAndGlobsAgreeWithBuildah() throws {
        try check("copyflags", """
            FROM busybox
            COPY --chown=nobody:nogroup src/*.txt /owned/
            COPY --chmod=755 src/run.sh src/b?.txt /bin2/
            COPY --chown=1:1 src/sub /subdir/
            COPY src/[ab].txt /classes/
            WORKDIR /rel
            COPY src/a.txt relative/
            """, files: ["src/a.txt": "a\n", "src/b.txt": "b\n", "src/b1.txt": "b1\n", "src/run.sh": "#!/bin/sh\n",
                         "src/sub/c": "c\n", "src/sub/deeper/d": "d\n"],
            paths: ["owned", "bin2", "subdir", "classes", "rel"])
    }

    /// FROM scratch: files copied from a stage, and an exec-form ENTRYPOINT.
    func testScratchAgreesWithBuildah() throws {
        try check("scratch", """
            FROM busybox AS b
            RUN mkdir /out && echo hi > /out/hi && chmod 600 /out/hi
            FROM scratch
            COPY --from=b /out/hi /hi
            COPY --from=b /bin/busybox /busybox
            ENTRYPOINT ["/busybox", "echo"]
            """, paths: ["hi", "busybox"])
    }
}
