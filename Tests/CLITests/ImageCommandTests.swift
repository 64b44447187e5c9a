import Foundation
import XCTest

/// `mdlua images`, `load`, `save`, `import`, `rmi`, `tag`, `history`, `image ...`, `layer ...`
/// through the built binary, each test with its own state root.
final class ImageCommandTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
    }

    @discardableResult
    func md(_ args: [String], root: String? = nil, stdin: String? = nil, file: StaticString = #filePath,
            line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root ?? self.root] + args, stdin: stdin, file: file, line: line)
    }

    @discardableResult
    func ok(_ args: [String], root: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = md(args, root: root, file: file, line: line)
        XCTAssertEqual(r.status, 0, "mdlua \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    func fails(_ args: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = md(args, file: file, line: line)
        XCTAssertEqual(r.status, 125, "mdlua \(args.joined(separator: " "))", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("mdlua: ") && r.stderr.contains(message), "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)", file: file, line: line)
    }

    func sh(_ command: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try! p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "\(command): \(text)", file: file, line: line)
        return text
    }

    func bootstrap() -> String {
        let out = ok(["image", "bootstrap", "busybox"])
        XCTAssertTrue(out.hasPrefix("busybox:latest sha256:"), out)
        return String(out.split(separator: " ")[1].dropLast())
    }

    func testBootstrapAndList() {
        let id = bootstrap()
        let images = ok(["images"])
        XCTAssertTrue(images.hasPrefix("REPOSITORY   TAG      IMAGE ID       CREATED"), images)
        XCTAssertTrue(images.contains("busybox      latest   \(id.dropFirst(7).prefix(12))"), images)
        XCTAssertEqual(ok(["images", "-q"]), String(id.dropFirst(7).prefix(12)) + "\n")
        XCTAssertTrue(ok(["images", "--digests"]).contains("DIGEST"))
        XCTAssertEqual(ok(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
                       "busybox:latest \(id.dropFirst(7).prefix(12))\n")
        XCTAssertEqual(ok(["image", "ls", "-q"]), ok(["images", "-q"]))
        let inspect = ok(["image", "inspect", "busybox"])
        XCTAssertTrue(inspect.contains("\"Id\": \"\(id)\""), inspect)
        XCTAssertTrue(inspect.contains("\"RepoTags\": [\n            \"busybox:latest\""), inspect)
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .Config.Cmd}} {{.Os}}", "busybox"]), "[\"sh\"] linux\n")
        let history = ok(["history", "busybox"])
        XCTAssertTrue(history.hasPrefix("IMAGE          CREATED"), history)
        // The rootfs has busybox, its applets and the files a base image needs.
        let layer = ok(["layer", "ls", "-q", "--no-trunc"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let path = ok(["-e", "print(md.layer.path('\(layer)'))"]).trimmingCharacters(in: .whitespacesAndNewlines)
        for f in ["bin/busybox", "bin/sh", "bin/ls", "etc/passwd", "etc/group", "tmp"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/" + f), f)
        }
    }

    func testSaveLoadRoundTripBothFormats() throws {
        let id = bootstrap()
        for format in ["docker", "oci"] {
            let archive = dir.appendingPathComponent("bb-\(format).tar").path
            ok(["save", "--format", format, "-o", archive, "busybox"])
            let other = dir.appendingPathComponent("other-\(format)").path
            XCTAssertEqual(ok(["load", "-i", archive], root: other), "Loaded image: busybox:latest\n")
            XCTAssertEqual(ok(["images", "-q", "--no-trunc"], root: other), id + "\n")
        }
        // stdin and stdout work too; an archive compressed as a whole loads.
        let piped = dir.appendingPathComponent("piped").path
        _ = sh("'\(MDLuaBinary.path)' --root '\(root)' save busybox | gzip | '\(MDLuaBinary.path)' --root '\(piped)' load")
        XCTAssertEqual(ok(["images", "-q", "--no-trunc"], root: piped), id + "\n")
    }

    func testPeersReadWhatMdluaSaves() throws {
        bootstrap()
        let docker = dir.appendingPathComponent("bb.tar").path
        let oci = dir.appendingPathComponent("bb-oci.tar").path
        ok(["save", "-o", docker, "busybox"])
        ok(["save", "--format", "oci", "-o", oci, "busybox"])
        let podman = "podman --root '\(dir.path)/p' --runroot '\(dir.path)/pr' --storage-driver vfs --events-backend file --cgroup-manager cgroupfs"
        XCTAssertTrue(sh("\(podman) load -i '\(docker)'").contains("Loaded image"))
        XCTAssertTrue(sh("\(podman) load -i '\(oci)'").contains("Loaded image"))
        XCTAssertTrue(sh("skopeo inspect docker-archive:'\(docker)'").contains("\"Layers\""))
        XCTAssertTrue(sh("skopeo inspect oci-archive:'\(oci)'").contains("\"Layers\""))
        _ = sh("skopeo copy -q docker-archive:'\(docker)' oci:'\(dir.path)/copied:latest'")
        // The layer is gzip in members of 1 MiB of tar (busybox's is three): Go's reader, in
        // skopeo, decompresses all of them, to the tar the diff ID names.
        let layer = ok(["layer", "ls", "-q", "--no-trunc"]).trimmingCharacters(in: .newlines)
        XCTAssertEqual(layer.count, 71, layer)
        _ = sh("skopeo copy -q --dest-decompress oci-archive:'\(oci)' dir:'\(dir.path)/decompressed'")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir.path)/decompressed/\(layer.dropFirst(7))"),
                      sh("ls '\(dir.path)/decompressed'"))
        let members = sh("python3 -c 'import sys, zlib\nd, n = open(sys.argv[1], \"rb\").read(), 0\nwhile d:\n    o = zlib.decompressobj(31); o.decompress(d); d, n = o.unused_data, n + 1\nprint(n)' "
                         + "\"$(ls -S '\(root)'/blobs/sha256/* | head -1)\"")
        XCTAssertGreaterThan(Int(members.trimmingCharacters(in: .newlines)) ?? 0, 1, members)
    }

    func testMdluaReadsWhatPeersWrite() throws {
        let id = bootstrap()
        let docker = dir.appendingPathComponent("bb.tar").path
        ok(["save", "-o", docker, "busybox"])
        let d = dir.path
        let podman = "podman --root '\(d)/p' --runroot '\(d)/pr' --storage-driver vfs --events-backend file --cgroup-manager cgroupfs"
        let buildah = "buildah --root '\(d)/b' --runroot '\(d)/br' --storage-driver vfs"
        _ = sh("\(podman) load -q -i '\(docker)'")
        _ = sh("\(podman) save -q --format oci-archive -o '\(d)/podman-oci.tar' busybox")
        _ = sh("\(podman) save -q --format docker-archive -o '\(d)/podman-docker.tar' busybox")
        _ = sh("skopeo copy -q --dest-compress --dest-compress-format zstd docker-archive:'\(docker)' oci:'\(d)/zstd-layout:bb'")
        _ = sh("skopeo copy -q docker-archive:'\(docker)' oci-archive:'\(d)/skopeo.tar:docker.io/library/gz:1'")
        _ = sh("\(buildah) pull -q docker-archive:'\(docker)' && \(buildah) push -q localhost/busybox oci-archive:'\(d)/buildah.tar:localhost/bb:pushed'")
        let cases: [(String, String)] = [
            ("podman-oci.tar", "Loaded image: localhost/busybox:latest"),
            ("podman-docker.tar", "Loaded image: localhost/busybox:latest"),
            ("zstd-layout", "Loaded image ID: sha256:"),
            ("skopeo.tar", "Loaded image: gz:1"),
            ("buildah.tar", "Loaded image: localhost/bb:pushed"),
        ]
        for (file, expected) in cases {
            let other = d + "/load-" + file
            let out = ok(["load", "-i", d + "/" + file], root: other)
            XCTAssertTrue(out.hasPrefix(expected), "\(file): \(out)")
            // Every peer's image has the same rootfs: the same diff ID.
            let layers = ok(["layer", "ls", "-q", "--no-trunc"], root: other)
            XCTAssertEqual(layers, ok(["layer", "ls", "-q", "--no-trunc"]), file)
        }
        let zstdLayer = ok(["layer", "inspect", ok(["layer", "ls", "-q"], root: d + "/load-zstd-layout").trimmingCharacters(in: .newlines)],
                           root: d + "/load-zstd-layout")
        XCTAssertTrue(zstdLayer.contains("tar+zstd"), zstdLayer)
        _ = id
    }

    func testImportWithChanges() throws {
        let tree = dir.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try write("hello", to: tree.appendingPathComponent("bin/hello"))
        _ = sh("tar -C '\(tree.path)' -czf '\(dir.path)/rootfs.tgz' .")
        let id = ok(["import", "--change", "CMD [\"/bin/hello\"]", "-c", "ENV A=1 B=\"two words\"", "-c", "WORKDIR /srv",
                     "-c", "EXPOSE 80", "-m", "imported", dir.path + "/rootfs.tgz", "mine:v1"])
        XCTAssertTrue(id.hasPrefix("sha256:"), id)
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .Config.Cmd}} {{json .Config.Env}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{.Comment}}", "mine:v1"]),
                       "[\"/bin/hello\"] [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"A=1\",\"B=two words\"] /srv {\"80/tcp\":{}} imported\n")
        // From stdin.
        let r = md(["import", "-", "fromstdin"], stdin: nil)
        XCTAssertEqual(r.status, 125, "an empty stdin is not a tar")
    }

    func testHistoryFormat() {
        let id = bootstrap()
        XCTAssertEqual(ok(["history", "--format", "{{.ID}}|{{.Size}}", "busybox"]).split(separator: "|").first.map(String.init),
                       String(id.dropFirst(7).prefix(12)))
        let table = ok(["history", "--format", "table {{.ID}}\t{{.CreatedBy}}", "busybox"])
        XCTAssertTrue(table.hasPrefix("IMAGE          CREATED BY\n"), table)
        let json = ok(["history", "--no-trunc", "--format", "json", "busybox"])
        let doc = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual(doc?["ID"] as? String, id, json)
        XCTAssertNotNil(doc?["CreatedAt"] as? String, json)
        fails(["history", "--format", "{{.Nope}}", "busybox"], "can't evaluate field Nope")
        fails(["history", "--format", "{{.ID", "busybox"], "unclosed action")
    }

    func testImagesFilter() throws {
        let tree = dir.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try write("x", to: tree.appendingPathComponent("x"))
        _ = sh("tar -C '\(tree.path)' -cf '\(dir.path)/x.tar' .")
        ok(["import", "-c", "LABEL tier=web team=a", dir.path + "/x.tar", "example.com/web:1"])
        sleep(1)   // creation times are whole seconds
        ok(["import", "-c", "LABEL tier=db", dir.path + "/x.tar", "example.com/db:1"])
        sleep(1)
        ok(["import", dir.path + "/x.tar"])   // untagged: dangling
        func repos(_ filters: String...) -> [String] {
            ok(["images", "--format", "{{.Repository}}:{{.Tag}}"] + filters.flatMap { ["--filter", $0] })
                .split(separator: "\n").map(String.init).sorted()
        }
        XCTAssertEqual(repos("dangling=true"), ["<none>:<none>"])
        XCTAssertEqual(repos("dangling=false"), ["example.com/db:1", "example.com/web:1"])
        XCTAssertEqual(repos("label=tier"), ["example.com/db:1", "example.com/web:1"])
        XCTAssertEqual(repos("label=tier=web"), ["example.com/web:1"])
        XCTAssertEqual(repos("label=tier", "label=team=a"), ["example.com/web:1"], "labels must all match")
        XCTAssertEqual(repos("reference=*/web:*", "reference=*/db:1"), ["example.com/db:1", "example.com/web:1"], "references are alternatives")
        XCTAssertEqual(repos("reference=example.com/w*"), ["example.com/web:1"])
        XCTAssertEqual(repos("before=example.com/db:1"), ["example.com/web:1"])
        XCTAssertEqual(repos("since=example.com/web:1", "dangling=false"), ["example.com/db:1"])
        fails(["images", "--filter", "colour=red"], "invalid filter 'colour'")
        fails(["images", "--filter", "dangling=maybe"], "expected true or false")
        fails(["images", "--filter", "nonsense"], "expected KEY=VALUE")
        fails(["images", "--filter", "before=nosuch:1"], "nosuch")
    }

    func testBadInputIsOneLineAnd125AndLeavesNothing() throws {
        try write("not an archive", to: dir.appendingPathComponent("junk"))
        fails(["load", "-i", dir.appendingPathComponent("junk").path], "junk")
        fails(["load", "-i", dir.appendingPathComponent("missing").path], "missing: No such file or directory")
        fails(["import", dir.appendingPathComponent("junk").path], "not a tar archive")
        _ = sh("tar -C / -cf '\(dir.path)/small.tar' etc/hostname")
        fails(["import", "-c", "BOGUS x", dir.path + "/small.tar"], "invalid --change \"BOGUS x\"")
        fails(["import", "-c", "CMD [\"unterminated", dir.path + "/small.tar"], "not a JSON array")
        fails(["import", dir.path + "/small.tar", "Bad:Name"], "invalid reference")
        XCTAssertEqual(ok(["layer", "ls", "-q"]), "", "a refused import leaves no layer")
        fails(["rmi", "nothere"], "no such image: nothere")
        fails(["image", "inspect", "nothere"], "no such image: nothere")
        fails(["history", "nothere"], "no such image: nothere")
        fails(["tag", "nothere", "x"], "no such image: nothere")
        fails(["save", "-o", dir.path + "/x.tar", "nothere"], "no such image: nothere")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/x.tar"), "no half-written archive")
        bootstrap()
        fails(["save", "--format", "zip", "-o", dir.path + "/x.tar", "busybox"], "invalid --format \"zip\"")
        fails(["tag", "busybox", "UPPER"], "invalid reference \"UPPER\"")
        fails(["layer", "create", dir.path + "/nodir"], "is not a directory")
        fails(["image", "bootstrap", "alpine"], "expected busybox or debian")
        fails(["image", "frobnicate"], "unknown command \"frobnicate\" for \"mdlua image\"")
        XCTAssertEqual(ok(["images", "-q"]).split(separator: "\n").count, 1)
        let tmp = root + "/tmp"
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [], [], "no staging left")
    }

    func testTagRmiAndPrune() throws {
        let id = bootstrap()
        let short = String(id.dropFirst(7).prefix(12))
        ok(["tag", "busybox", "localhost:5000/team/bb:v1"])
        XCTAssertTrue(ok(["images"]).contains("localhost:5000/team/bb   v1"))
        let refused = md(["rmi", short])
        XCTAssertEqual(refused.status, 125)
        XCTAssertTrue(refused.stderr.contains("has several names"), refused.stderr)
        XCTAssertEqual(ok(["rmi", "localhost:5000/team/bb:v1"]), "Untagged: localhost:5000/team/bb:v1\n")
        XCTAssertEqual(ok(["rmi", "busybox"]), "Untagged: busybox:latest\nDeleted: \(id)\n")
        XCTAssertEqual(ok(["layer", "ls", "-q"]).count, 13, "the layer made by bootstrap is kept until layer rm")
        bootstrap()
        _ = ok(["-e", "md.image.get('busybox'):tag('keep')"])
        ok(["rmi", "busybox"])
        XCTAssertEqual(ok(["image", "prune", "-f"]), "Total reclaimed space: 0B\n", "a tagged image is not pruned")
        ok(["rmi", "keep"])
        let layers = ok(["layer", "ls", "-q"]).split(separator: "\n").map(String.init)
        // Each bootstrap made a layer: two, or one when both ran within the same second (the
        // tar's mtimes are whole seconds: the same bytes, the same layer).
        XCTAssertTrue((1...2).contains(layers.count), "\(layers)")
        XCTAssertEqual(ok(["layer", "rm"] + layers).split(separator: "\n").count, layers.count)
        XCTAssertEqual(ok(["layer", "ls", "-q"]), "")
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256")) ?? []
        XCTAssertEqual(blobs, [], "nothing left in the store")
    }

    func testImageUsedByAContainer() {
        let id = bootstrap()
        XCTAssertEqual(md(["create", "--name", "user", "busybox", "true"]).status, 0)
        let refused = md(["rmi", "busybox"])
        XCTAssertEqual(refused.status, 125)
        XCTAssertTrue(refused.stderr.contains("is used by a container"), refused.stderr)
        XCTAssertEqual(ok(["rmi", "-f", "busybox"]), "Untagged: busybox:latest\n", "the names go, the image stays")
        XCTAssertEqual(ok(["images", "-q", "--no-trunc"]), id + "\n")
        XCTAssertEqual(md(["start", "-a", "user"]).status, 0, "its container still runs")
        XCTAssertEqual(ok(["image", "prune", "-a", "-f"]), "Total reclaimed space: 0B\n", "in use: not pruned")
        ok(["rm", "user"])
        XCTAssertTrue(ok(["image", "prune", "-f"]).contains("deleted: " + id))
    }

    func testLayersAndAssemble() throws {
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: b, withIntermediateDirectories: true)
        try write("1", to: a.appendingPathComponent("one"))
        try write("2", to: b.appendingPathComponent("two"))
        let la = ok(["layer", "create", a.path, "first layer"]).trimmingCharacters(in: .newlines)
        let lb = ok(["layer", "create", b.path]).trimmingCharacters(in: .newlines)
        XCTAssertTrue(la.hasPrefix("sha256:") && la.count == 71, la)
        XCTAssertTrue(ok(["layer", "ls"]).contains("first layer"))
        let id = ok(["image", "assemble", "stack:1", String(la.dropFirst(7).prefix(8)), lb, "-c", "CMD [\"cat\",\"/one\"]"])
        XCTAssertTrue(id.hasPrefix("sha256:"), id)
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .RootFS.Layers}}", "stack:1"]), "[\"\(la)\",\"\(lb)\"]\n")
        let inUse = md(["layer", "rm", la])
        XCTAssertEqual(inUse.status, 125)
        XCTAssertTrue(inUse.stderr.contains("used by image stack:1"), inUse.stderr)
        XCTAssertTrue(ok(["layer", "inspect", la]).contains("\"Comment\": \"first layer\""))
    }

    func testLuaAPI() throws {
        bootstrap()
        let script = dir.appendingPathComponent("api.lua")
        try write("""
            local img = md.image.get("busybox")
            assert(tostring(img):match("^image %x+ %(busybox:latest%)$"), tostring(img))
            assert(img:config().config.Cmd[1] == "sh")
            assert(#img:history() == 1 and img:history()[1].size > 1000000)
            img:tag("copy:1")
            local names = {}
            for _, i in ipairs(md.image.list()) do for _, n in ipairs(i.names) do names[#names + 1] = n end end
            table.sort(names)
            print(table.concat(names, " "))
            local ok, err = pcall(md.image.get, "nothere")
            print(ok, err)
            local l = md.layer.create(arg[1], "from lua")
            print(l.comment, l.size, tostring(l):match("^layer %x+") ~= nil)
            """, to: script)
        let data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try write("12345", to: data.appendingPathComponent("f"))
        let r = md([script.path, data.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            docker.io/library/busybox:latest docker.io/library/copy:1
            false\tmd.image.get: no such image: nothere
            from lua\t5\ttrue

            """)
    }

    /// Loads and removals from several processes at once never corrupt the store.
    func testConcurrentLoadsAndRemovals() throws {
        bootstrap()
        var archives: [String] = []
        for i in 0..<4 {
            let tree = dir.appendingPathComponent("t\(i)")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            try write("\(i)", to: tree.appendingPathComponent("f"))
            let l = ok(["layer", "create", tree.path]).trimmingCharacters(in: .newlines)
            _ = ok(["image", "assemble", "img\(i):1", ok(["-e", "print(md.image.get('busybox').layers[1])"]).trimmingCharacters(in: .newlines), l])
            let a = dir.appendingPathComponent("img\(i).tar").path
            ok(["save", "-o", a, "img\(i):1"])
            archives.append(a)
        }
        let shared = dir.appendingPathComponent("shared").path
        var commands: [String] = []
        for (i, a) in archives.enumerated() {
            for _ in 0..<2 { commands.append("'\(MDLuaBinary.path)' --root '\(shared)' load -q -i '\(a)'") }
            commands.append("for n in 1 2 3; do '\(MDLuaBinary.path)' --root '\(shared)' load -q -i '\(a)'; '\(MDLuaBinary.path)' --root '\(shared)' rmi -f img\(i):1 >/dev/null 2>&1; done; true")
        }
        _ = sh(commands.map { "(\($0)) &" }.joined(separator: " ") + " wait")
        // Whatever the interleaving: every image left is whole, nothing is half-made.
        let check = ok(["-e", """
            local n = 0
            for _, img in ipairs(md.image.list()) do
              for _, l in ipairs(img.layers) do assert(md.fs.isdir(md.layer.path(l)), "missing layer " .. l) end
              assert(img:config().rootfs)
              n = n + 1
            end
            print(n)
            """], root: shared)
        XCTAssertLessThanOrEqual(Int(check.trimmingCharacters(in: .newlines)) ?? 99, 4)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: shared + "/tmp")) ?? [], [])
        for a in archives { ok(["load", "-q", "-i", a], root: shared) }
        XCTAssertEqual(ok(["images", "-q"], root: shared).split(separator: "\n").count, 4)
    }
}
