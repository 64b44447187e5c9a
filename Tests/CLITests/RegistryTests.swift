import Foundation
import XCTest

/// `pull`, `push`, `login`, `logout` and `run --pull` against Debian's docker-registry on
/// 127.0.0.1 (LocalRegistry): plain HTTP, TLS with a CA made here, basic and token auth.
/// Every test has its own state root, Docker config, certs directory and registry.
final class RegistryTests: ContainerTestCase {
    override var bootstrapsBusybox: Bool { false }
    var home: String { dir.appendingPathComponent("home").path }
    /// Where Docker Hub is reached: never Docker Hub itself in a test, port 1 of loopback
    /// (nothing listens) unless a test makes a local registry stand in for it.
    var hubHost = "127.0.0.1:1"
    var env: [String: String] {
        ["HOME": home, "DOCKER_CONFIG": home + "/.docker", "XDG_RUNTIME_DIR": home + "/run",
         "MDLUA_CERTS_D": home + "/certs.d", "MDLUA_REGISTRIES_CONF": home + "/registries.json",
         "MDLUA_DOCKER_HUB_HOST": hubHost].merging(extraEnv) { $1 }
    }
    var extraEnv: [String: String] = [:]

    override func setUpWithError() throws {
        try super.setUpWithError()
        try FileManager.default.createDirectory(atPath: home + "/run", withIntermediateDirectories: true)
    }

    /// mdlua with this test's environment, in `root` (this test's by default).
    @discardableResult
    func mdr(_ args: [String], root: String? = nil, stdin: String? = nil, file: StaticString = #filePath,
             line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root ?? self.root] + args, env: env, stdin: stdin, file: file, line: line)
    }

    @discardableResult
    func ok(_ args: [String], root: String? = nil, stdin: String? = nil, file: StaticString = #filePath,
            line: UInt = #line) -> String {
        let r = mdr(args, root: root, stdin: stdin, file: file, line: line)
        XCTAssertEqual(r.status, 0, "mdlua \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    /// Refused: one line naming `message`, status 125.
    func refused(_ args: [String], _ message: String, root: String? = nil, stdin: String? = nil,
                 file: StaticString = #filePath, line: UInt = #line) {
        let r = mdr(args, root: root, stdin: stdin, file: file, line: line)
        XCTAssertEqual(r.status, 125, "\(args): \(r.stdout) \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("mdlua: ") && r.stderr.contains(message), "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)", file: file, line: line)
    }

    /// A new, empty state root.
    func freshRoot(_ name: String) -> String { dir.appendingPathComponent("root-" + name).path }

    /// Nothing of an image in `root`: no image, layer, blob, staging dir or partial download.
    func assertEmptyStore(_ root: String, file: StaticString = #filePath, line: UInt = #line) {
        for sub in ["blobs/sha256", "tmp", "partial"] {
            let left = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + sub)) ?? []
            XCTAssertEqual(left, [], "\(sub) is empty", file: file, line: line)
        }
        let layers = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/layers")) ?? []).filter { $0 != "l" }
        XCTAssertEqual(layers, [], "no layer", file: file, line: line)
        XCTAssertEqual(ok(["images", "-q"], root: root, file: file, line: line), "", "no image", file: file, line: line)
    }

    /// busybox bootstrapped in this test's root and saved as an OCI archive; its image ID.
    @discardableResult
    /// busybox pushed to `reg` as test/bb:1, and of the descriptor `pick` takes from its
    /// manifest: the digest and the file that holds the blob in the registry's storage.
    func busyboxInRegistry(_ reg: LocalRegistry, _ pick: ([String: Any]) -> [String: Any]) throws -> (digest: String, data: String) {
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/bb:1")
        let manifest = try JSONSerialization.jsonObject(with: Data(sh("skopeo inspect --raw --tls-verify=false docker://\(reg.host)/test/bb:1").utf8)) as! [String: Any]
        let digest = pick(manifest)["digest"] as! String
        let hex = String(digest.dropFirst(7))
        return (digest, "\(reg.storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data")
    }

    func busyboxArchive() -> (archive: String, id: String) {
        let archive = dir.appendingPathComponent("bb-oci.tar").path
        if !FileManager.default.fileExists(atPath: archive) {
            ok(["image", "bootstrap", "busybox"])
            ok(["save", "--format", "oci", "-o", archive, "busybox"])
        }
        return (archive, ok(["images", "-q", "--no-trunc", "busybox"]).trimmingCharacters(in: .newlines))
    }

    func sh(_ command: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { return try LocalRegistry.sh(command) } catch {
            XCTFail("\(error)", file: file, line: line)
            return ""
        }
    }

    // MARK: pull

    func testPullOCISchema2ZstdByTagAndByDigest() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, id) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/bb:v2s2", extra: "--format v2s2")
        try reg.put("oci-archive:\(archive)", as: "test/bb:oci", extra: "--format oci")
        // zstd made locally first, then copied as it is (skopeo would reuse the gzip blob).
        let zstdLayout = dir.appendingPathComponent("zstd-layout").path
        _ = sh("skopeo copy -q --dest-compress --dest-compress-format zstd oci-archive:'\(archive)' oci:'\(zstdLayout):bb'")
        try reg.put("oci:\(zstdLayout):bb", as: "test/bb:zstd", extra: "--preserve-digests")
        let sourceLayers = ok(["layer", "ls", "-q", "--no-trunc"])
        for tag in ["oci", "v2s2", "zstd"] {
            let r = freshRoot(tag)
            let out = ok(["pull", "\(reg.host)/test/bb:\(tag)"], root: r)
            XCTAssertTrue(out.hasPrefix("\(tag): Pulling from test/bb\n"), out)
            XCTAssertTrue(out.contains(": Pull complete\n"), out)
            XCTAssertTrue(out.contains("\nDigest: sha256:"), out)
            XCTAssertTrue(out.hasSuffix("Status: Downloaded newer image for \(reg.host)/test/bb:\(tag)\n\(reg.host)/test/bb:\(tag)\n"), out)
            XCTAssertEqual(ok(["layer", "ls", "-q", "--no-trunc"], root: r), sourceLayers, "\(tag): the same rootfs")
            XCTAssertEqual(ok(["images", "--format", "{{.Repository}}:{{.Tag}}"], root: r), "\(reg.host)/test/bb:\(tag)\n")
            if tag != "v2s2" { XCTAssertEqual(ok(["images", "-q", "--no-trunc"], root: r), id + "\n", "\(tag): the same config") }
            // A second pull finds it whole.
            XCTAssertTrue(ok(["pull", "\(reg.host)/test/bb:\(tag)"], root: r).contains("Status: Image is up to date"))
        }
        let zstd = ok(["layer", "inspect", ok(["layer", "ls", "-q"], root: freshRoot("zstd")).trimmingCharacters(in: .newlines)],
                      root: freshRoot("zstd"))
        XCTAssertTrue(zstd.contains("tar+zstd"), zstd)
        let v2s2 = ok(["image", "inspect", "-f", "{{.ManifestDigest}}", "\(reg.host)/test/bb:v2s2"], root: freshRoot("v2s2"))
        let raw = sh("skopeo inspect --raw --tls-verify=false docker://\(reg.host)/test/bb:v2s2 | sha256sum")
        XCTAssertEqual(v2s2, "sha256:" + raw.prefix(64) + "\n", "the manifest is kept byte for byte")
        // By digest, quietly: only the reference.
        let byDigest = freshRoot("digest")
        let digest = v2s2.trimmingCharacters(in: .newlines)
        XCTAssertEqual(ok(["pull", "-q", "\(reg.host)/test/bb@\(digest)"], root: byDigest), "\(reg.host)/test/bb@\(digest)\n")
        XCTAssertEqual(ok(["layer", "ls", "-q", "--no-trunc"], root: byDigest), sourceLayers)
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{.Id}}", "\(reg.host)/test/bb@\(digest)"], root: byDigest).count, 72)
        // The digest is kept (Docker's RepoDigests), and `images` shows the repository,
        // untagged, with it.
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .RepoDigests}} {{json .RepoTags}}", "\(reg.host)/test/bb@\(digest)"],
                          root: byDigest), "[\"\(reg.host)/test/bb@\(digest)\"] []\n")
        XCTAssertEqual(ok(["images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"], root: byDigest),
                       "\(reg.host)/test/bb <none> \(digest)\n")
        // --filter reference matches such a row by its repository or NAME@DIGEST, as Docker does.
        for pattern in ["\(reg.host)/test/bb", "\(reg.host)/test/*", "\(reg.host)/test/bb@\(digest)"] {
            XCTAssertEqual(ok(["images", "--filter", "reference=" + pattern, "--format", "{{.Repository}} {{.Tag}}"], root: byDigest),
                           "\(reg.host)/test/bb <none>\n", pattern)
        }
        XCTAssertEqual(ok(["images", "--filter", "reference=\(reg.host)/other", "-q"], root: byDigest), "")
        // By tag: the tag's digest, in the DIGEST column of its row.
        let table = ok(["images", "--digests"], root: freshRoot("v2s2")).split(separator: "\n")
        XCTAssertEqual(table.count, 2)
        XCTAssertTrue(table[0].hasPrefix("REPOSITORY") && table[0].contains("DIGEST"), "\(table)")
        XCTAssertTrue(table[1].hasPrefix("\(reg.host)/test/bb") && table[1].contains(" v2s2 ") && table[1].contains(digest), "\(table)")
        // A missing tag, a missing repository, a bad reference: one line, nothing stored.
        let missing = freshRoot("missing")
        refused(["pull", "\(reg.host)/test/bb:nope"], "\(reg.host)/test/bb:nope: not found", root: missing)
        refused(["pull", "\(reg.host)/test/nothing"], "not found", root: missing)
        refused(["pull", "\(reg.host)/Bad"], "invalid reference", root: missing)
        refused(["pull", "--platform", "linux", "\(reg.host)/test/bb:oci"], "invalid platform \"linux\"", root: missing)
        assertEmptyStore(missing)
    }

    func testIndexChoosesThePlatformAndSkipsAttestations() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, _) = busyboxArchive()
        let layout = dir.appendingPathComponent("multi").path
        _ = sh("mkdir -p '\(layout)' && tar -C '\(layout)' -xf '\(archive)' && python3 '\(LocalRegistry.fixtures)/oci_edit.py' '\(layout)' make-index")
        try reg.put("oci:\(layout):multi", as: "test/multi:1", extra: "--all")
        let r = freshRoot("multi")
        let out = ok(["pull", "\(reg.host)/test/multi:1"], root: r)
        XCTAssertTrue(out.hasSuffix("\(reg.host)/test/multi:1\n"), out)
        let index = sh("skopeo inspect --raw --tls-verify=false docker://\(reg.host)/test/multi:1 | sha256sum").prefix(64)
        XCTAssertTrue(out.contains("Digest: sha256:\(index)"), "the index's digest is reported: \(out)")
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .RepoDigests}}", "\(reg.host)/test/multi:1"], root: r),
                       "[\"\(reg.host)/test/multi@sha256:\(index)\"]\n", "and kept as the RepoDigest, as Docker does")
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{.Id}}", "\(reg.host)/test/multi@sha256:\(index)"], root: r),
                       ok(["image", "inspect", "-f", "{{.Id}}", "\(reg.host)/test/multi:1"], root: r), "found by it")
        let arm = freshRoot("arm")
        let lua = ok(["-e", """
            local img = md.pull("\(reg.host)/test/multi:1", { platform = "linux/arm64" })
            print(img.pulled.platform, img.pulled.reference, #img.layers)
            """], root: arm)
        XCTAssertEqual(lua, "linux/amd64\t\(reg.host)/test/multi:1\t1\n", "the image's own config names its platform")
        refused(["pull", "--platform", "linux/s390x", "\(reg.host)/test/multi:1"],
                "no image for platform linux/s390x in the index (it has: linux/amd64, linux/arm64/v8)", root: freshRoot("s390x"))
        assertEmptyStore(freshRoot("s390x"))
    }

    /// `md.pull`'s and `md.push`'s progress function: every event, Docker's fields; an error
    /// in it stops the pull, stores nothing, and is raised as it was.
    func testProgressEventsReachALuaFunction() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/bb:1")
        let manifest = try JSONSerialization.jsonObject(with: Data(sh("skopeo inspect --raw --tls-verify=false docker://\(reg.host)/test/bb:1").utf8)) as! [String: Any]
        let layer = (manifest["layers"] as! [[String: Any]])[0]
        let short = String((layer["digest"] as! String).dropFirst(7).prefix(12))
        let size = (layer["size"] as! NSNumber).intValue
        let show = """
            local function show(ev)
              print(("%s|%s|%s|%s"):format(ev.id or "-", ev.status, ev.current or "", ev.total or ""))
            end

            """
        let out = ok(["-e", show + """
            local img = md.pull("\(reg.host)/test/bb:1", { progress = show })
            print(img.pulled.reference)
            """], root: freshRoot("events"))
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "-|1: Pulling from test/bb||", out)
        for state in ["Waiting", "Pulling fs layer", "Verifying Checksum", "Download complete", "Extracting", "Pull complete"] {
            XCTAssertTrue(lines.contains("\(short)|\(state)||"), "\(state): \(out)")
        }
        XCTAssertTrue(lines.contains("\(short)|Downloading|\(size)|\(size)"), "the last bytes event is the whole layer: \(out)")
        for l in lines where l.contains("|Downloading|") {
            let f = l.split(separator: "|", omittingEmptySubsequences: false)
            XCTAssertLessThanOrEqual(Int(f[2])!, Int(f[3])!, l)
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("-|Digest: sha256:") }, out)
        XCTAssertEqual(Array(lines.suffix(2)), ["-|Status: Downloaded newer image for \(reg.host)/test/bb:1||", "\(reg.host)/test/bb:1"])
        // An error in the function stops the pull: raised as it was, nothing stored; the
        // next pull is whole.
        let stopped = freshRoot("stopped")
        XCTAssertEqual(ok(["-e", """
            local ok, err = pcall(md.pull, "\(reg.host)/test/bb:1", { progress = function(ev)
              if ev.status == "Extracting" then error({ mine = "stop here" }) end
            end })
            print(ok, type(err) == "table" and err.mine)
            """], root: stopped), "false\tstop here\n")
        XCTAssertEqual(ok(["images", "-q"], root: stopped), "")
        XCTAssertEqual(ok(["layer", "ls", "-q"], root: stopped), "")
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/test/bb:1"], root: stopped).hasSuffix("\(reg.host)/test/bb:1\n"))
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: stopped + "/partial")) ?? [], [])
        // Push: the same events.
        let pushed = ok(["-e", show + """
            md.push("\(reg.host)/test/bb:1", { destination = "\(reg.host)/test/copy:1", progress = show })
            """], root: stopped)
        XCTAssertTrue(pushed.hasPrefix("-|The push refers to repository [\(reg.host)/test/copy]||\n"), pushed)
        XCTAssertTrue(pushed.contains("\(short)|Mounted from test/bb||\n"), pushed)
        XCTAssertTrue(pushed.contains("-|1: digest: sha256:"), pushed)
        refused(["-e", "md.pull('\(reg.host)/test/bb:1', { progress = 3 })"], "field \"progress\" must be a function")
    }

    func testPullAllTags() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, id) = busyboxArchive()
        for tag in ["1", "2", "latest"] { try reg.put("oci-archive:\(archive)", as: "test/all:\(tag)") }
        let r = freshRoot("all")
        let out = ok(["pull", "-a", "\(reg.host)/test/all"], root: r)
        // The references last, in the registry's order.
        XCTAssertEqual(out.split(separator: "\n").suffix(3).sorted(), ["1", "2", "latest"].map { "\(reg.host)/test/all:\($0)" }, out)
        XCTAssertFalse(out.contains("Using default tag"), out)
        XCTAssertEqual(ok(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"], root: r).split(separator: "\n").sorted(),
                       ["1", "2", "latest"].map { "\(reg.host)/test/all:\($0) \(id.dropFirst(7).prefix(12))" })
        XCTAssertEqual(ok(["-e", "for _, img in ipairs(md.pull('\(reg.host)/test/all', { all_tags = true })) do print(img.pulled.reference) end"],
                          root: r).split(separator: "\n").sorted(), ["1", "2", "latest"].map { "\(reg.host)/test/all:\($0)" })
        refused(["pull", "-a", "\(reg.host)/test/all:1"], "tag can't be used with all_tags", root: r)
        refused(["pull", "-a", "\(reg.host)/test/none"], "cannot list tags", root: freshRoot("none"))
    }

    /// Docker Hub's pulls go to each `registry-mirrors` entry in turn, and to Docker Hub
    /// itself when every one failed: here a local registry stands in for it
    /// (MDLUA_DOCKER_HUB_HOST), so that nothing leaves 127.0.0.1.
    func testDockerHubPullsTryTheMirrorsInTurn() throws {
        let empty = try LocalRegistry(in: dir, test: self)
        let mirror = try LocalRegistry(in: dir, test: self)
        let (archive, id) = busyboxArchive()
        try mirror.put("oci-archive:\(archive)", as: "mdtest/bb:1")
        try mirror.put("oci-archive:\(archive)", as: "mdtest/bb:2")
        let conf = URL(fileURLWithPath: home + "/registries.json")
        // A dead mirror, one without the image (404), one with it.
        try write(#"{"registry-mirrors": ["http://127.0.0.1:1", "http://\#(empty.host)/", "http://\#(mirror.host)"]}"#, to: conf)
        let r = freshRoot("mirror")
        let out = ok(["pull", "mdtest/bb:1"], root: r)
        XCTAssertTrue(out.hasSuffix("Status: Downloaded newer image for mdtest/bb:1\ndocker.io/mdtest/bb:1\n"), out)
        XCTAssertEqual(ok(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"], root: r), "mdtest/bb:1 \(id.dropFirst(7).prefix(12))\n")
        XCTAssertTrue(ok(["image", "inspect", "-f", "{{json .RepoDigests}}", "mdtest/bb:1"], root: r).hasPrefix("[\"mdtest/bb@sha256:"))
        XCTAssertEqual(ok(["pull", "-q", "-a", "mdtest/bb"], root: r).split(separator: "\n").sorted(),
                       ["docker.io/mdtest/bb:1", "docker.io/mdtest/bb:2"], "tags from the mirror")
        // Every mirror failing: Docker Hub itself.
        try write(#"{"registry-mirrors": ["http://127.0.0.1:1", "http://\#(empty.host)"]}"#, to: conf)
        hubHost = mirror.host
        XCTAssertEqual(ok(["pull", "-q", "mdtest/bb:2"], root: freshRoot("hub")), "docker.io/mdtest/bb:2\n")
        // Nobody has it: Docker Hub's own answer, nothing stored.
        hubHost = empty.host
        refused(["pull", "mdtest/bb:2"], "docker.io/mdtest/bb:2: not found", root: freshRoot("nowhere"))
        assertEmptyStore(freshRoot("nowhere"))
        // Another registry than Docker Hub: no mirror.
        XCTAssertEqual(ok(["pull", "-q", "\(mirror.host)/mdtest/bb:1"], root: freshRoot("direct")), "\(mirror.host)/mdtest/bb:1\n")
        // A mirror that is not a URL: refused, naming it.
        try write(#"{"registry-mirrors": ["mirror.example:5000"]}"#, to: conf)
        refused(["pull", "mdtest/bb:1"], "invalid registry mirror \"mirror.example:5000\"", root: freshRoot("bad"))
    }

    // MARK: auth

    func testBasicAuthLoginLogoutAndPodmanAuthFile() throws {
        let reg = try LocalRegistry(in: dir, test: self, auth: .basic)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "private/bb:1")
        let image = "\(reg.host)/private/bb:1"
        refused(["pull", image], "authentication required", root: freshRoot("anon"))
        assertEmptyStore(freshRoot("anon"))
        refused(["login", "-u", LocalRegistry.user, "--password-stdin", reg.host], "unauthorized", stdin: "wrong\n")
        refused(["login", "-u", LocalRegistry.user, "--password-stdin", reg.host], "password is required")
        let config = home + "/.docker/config.json"
        XCTAssertFalse(FileManager.default.fileExists(atPath: config), "a refused login stores nothing")
        XCTAssertEqual(ok(["login", "-u", LocalRegistry.user, "--password-stdin", reg.host], stdin: LocalRegistry.password + "\n"),
                       "Login Succeeded\n")
        let attrs = try FileManager.default.attributesOfItem(atPath: config)
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any]
        let auth = ((doc?["auths"] as? [String: Any])?[reg.host] as? [String: Any])?["auth"] as? String
        XCTAssertEqual(auth.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) },
                       "\(LocalRegistry.user):\(LocalRegistry.password)")
        XCTAssertTrue(ok(["pull", "-q", image], root: freshRoot("in")).hasSuffix(image + "\n"))
        XCTAssertEqual(ok(["logout", reg.host]), "Removing login credentials for \(reg.host)\n")
        XCTAssertEqual(ok(["logout", reg.host]), "Not logged in to \(reg.host)\n")
        refused(["pull", image], "authentication required", root: freshRoot("out"))
        // Wrong credentials stored: refused, with the registry's word.
        try JSONSerialization.data(withJSONObject: ["auths": [reg.host: ["auth": Data("\(LocalRegistry.user):wrong".utf8).base64EncodedString()]]])
            .write(to: URL(fileURLWithPath: config))
        refused(["pull", image], "unauthorized", root: freshRoot("wrong"))
        try FileManager.default.removeItem(atPath: config)
        // Podman's auth.json is read too.
        try FileManager.default.createDirectory(atPath: home + "/run/containers", withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: ["auths": [reg.host: ["auth": Data("\(LocalRegistry.user):\(LocalRegistry.password)".utf8).base64EncodedString()]]])
            .write(to: URL(fileURLWithPath: home + "/run/containers/auth.json"))
        XCTAssertTrue(ok(["pull", "-q", image], root: freshRoot("podman")).hasSuffix(image + "\n"))
    }

    func testTokenAuthAnonymousPublicAndPrivateRepositories() throws {
        let reg = try LocalRegistry(in: dir, test: self, auth: .token)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "public/bb:1")
        try reg.put("oci-archive:\(archive)", as: "private/bb:1")
        // An anonymous token pulls a public repository.
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/public/bb:1"], root: freshRoot("anon")).hasSuffix("\(reg.host)/public/bb:1\n"))
        refused(["pull", "\(reg.host)/private/bb:1"], "unauthorized", root: freshRoot("private-anon"))
        assertEmptyStore(freshRoot("private-anon"))
        refused(["login", "-u", LocalRegistry.user, "-p", "wrong", reg.host], "incorrect username or password")
        ok(["login", "-u", LocalRegistry.user, "-p", LocalRegistry.password, reg.host])
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/private/bb:1"], root: freshRoot("private")).hasSuffix("\(reg.host)/private/bb:1\n"))
        // Push asks for a push scope.
        let pushed = ok(["push", "\(reg.host)/private/bb:1", "\(reg.host)/private/copy:2"], root: freshRoot("private"))
        XCTAssertTrue(pushed.contains("2: digest: sha256:"), pushed)
        _ = sh("skopeo inspect \(reg.skopeoInspect()) docker://\(reg.host)/private/copy:2")
    }

    // MARK: transport

    func testTLSWithTheRegistrysOwnCA() throws {
        let reg = try LocalRegistry(in: dir, test: self, tls: true)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/bb:1")
        let certs = home + "/certs.d/" + reg.host
        try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true)
        // A CA that did not sign the registry's certificate: refused, no fallback to HTTP.
        _ = sh("cd '\(certs)' && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout /dev/null -out ca.crt 2>/dev/null")
        refused(["pull", "\(reg.host)/test/bb:1"], "\(reg.host): TLS", root: freshRoot("wrong-ca"))
        assertEmptyStore(freshRoot("wrong-ca"))
        try FileManager.default.removeItem(atPath: certs + "/ca.crt")
        try FileManager.default.copyItem(atPath: reg.caCert, toPath: certs + "/ca.crt")
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/test/bb:1"], root: freshRoot("ca")).hasSuffix("\(reg.host)/test/bb:1\n"))
    }

    // MARK: integrity

    func testTamperedAndMissingBlobsAreRefusedAndNothingIsStored() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (layer, data) = try busyboxInRegistry(reg) { ($0["layers"] as! [[String: Any]])[0] }
        let original = try Data(contentsOf: URL(fileURLWithPath: data))
        // One byte changed, the size the same.
        var tampered = original
        tampered[tampered.count / 2] ^= 0xff
        try tampered.write(to: URL(fileURLWithPath: data))
        let r = freshRoot("tampered")
        refused(["pull", "\(reg.host)/test/bb:1"], "blob \(layer) does not match its digest", root: r)
        assertEmptyStore(r)
        // Longer than its descriptor says: stopped as soon as it is.
        try (original + Data([0])).write(to: URL(fileURLWithPath: data))
        refused(["pull", "\(reg.host)/test/bb:1"], "blob \(layer) is larger than its descriptor's", root: r)
        assertEmptyStore(r)
        // Gone from the registry's storage.
        try FileManager.default.removeItem(atPath: data)
        refused(["pull", "\(reg.host)/test/bb:1"], layer, root: r)
        assertEmptyStore(r)
        try original.write(to: URL(fileURLWithPath: data))
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/test/bb:1"], root: r).hasSuffix("\(reg.host)/test/bb:1\n"))
    }

    /// A config that is gone or tampered with, the layers whole: refused, nothing stored
    /// (what a pull that fetched the layers and the config at once must hold to as well).
    func testAMissingOrTamperedConfigIsRefusedAndNothingIsStored() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (config, data) = try busyboxInRegistry(reg) { $0["config"] as! [String: Any] }
        let original = try Data(contentsOf: URL(fileURLWithPath: data))
        var tampered = original
        tampered[tampered.count / 2] ^= 0x01
        try tampered.write(to: URL(fileURLWithPath: data))
        let r = freshRoot("config-tampered")
        refused(["pull", "\(reg.host)/test/bb:1"], "\(config) does not match its digest", root: r)
        assertEmptyStore(r)
        try FileManager.default.removeItem(atPath: data)
        refused(["pull", "\(reg.host)/test/bb:1"], "blob \(config) is missing from the registry", root: r)
        assertEmptyStore(r)
        try original.write(to: URL(fileURLWithPath: data))
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/test/bb:1"], root: r).hasSuffix("\(reg.host)/test/bb:1\n"))
        XCTAssertEqual(ok(["images", "-q"], root: r).split(separator: "\n").count, 1)
    }

    func testAnInterruptedPullResumes() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        // A layer big enough to be caught mid-way: 24 MB that do not compress.
        let tree = dir.appendingPathComponent("big")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        _ = sh("head -c 24000000 /dev/urandom > '\(tree.path)/random'")
        let layer = ok(["layer", "create", tree.path]).trimmingCharacters(in: .newlines)
        ok(["image", "assemble", "big:1", layer])
        let archive = dir.appendingPathComponent("big.tar").path
        ok(["save", "--format", "oci", "-o", archive, "big:1"])
        try reg.put("oci-archive:\(archive)", as: "test/big:1")
        let manifest = try JSONSerialization.jsonObject(with: Data(sh("skopeo inspect --raw --tls-verify=false docker://\(reg.host)/test/big:1").utf8)) as! [String: Any]
        let blob = ((manifest["layers"] as! [[String: Any]])[0]["digest"] as! String).dropFirst(7)
        let stored = "\(reg.storage)/docker/registry/v2/blobs/sha256/\(blob.prefix(2))/\(blob)/data"
        let r = freshRoot("resume")
        try FileManager.default.createDirectory(atPath: r + "/partial", withIntermediateDirectories: true)
        // What an interrupted pull leaves: the first part of the blob. The next pull asks
        // for the rest only; were the part wrong, the digest would say so (below).
        let partial = r + "/partial/" + blob
        _ = sh("head -c 10000000 '\(stored)' > '\(partial)'")
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/test/big:1"], root: r).hasSuffix("\(reg.host)/test/big:1\n"))
        XCTAssertEqual(ok(["layer", "ls", "-q", "--no-trunc"], root: r), layer + "\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial), "the partial download is gone once stored")
        // A prefix that is not the blob's: resumed, refused by its digest, thrown away; the
        // next pull starts over and succeeds.
        let r2 = freshRoot("garbage")
        try FileManager.default.createDirectory(atPath: r2 + "/partial", withIntermediateDirectories: true)
        _ = sh("head -c 10000000 /dev/zero > '\(r2)/partial/\(blob)'")
        refused(["pull", "\(reg.host)/test/big:1"], "does not match its digest", root: r2)
        assertEmptyStore(r2)
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/test/big:1"], root: r2).hasSuffix("\(reg.host)/test/big:1\n"))
        // Killed with SIGKILL mid-way: the next pull finishes it, and nothing half-made is seen.
        let r3 = freshRoot("killed")
        _ = sh("'\(MDLuaBinary.path)' --root '\(r3)' pull -q \(reg.host)/test/big:1 >/dev/null 2>&1 & p=$!; sleep 0.15; kill -9 $p; wait $p; true")
        XCTAssertEqual(ok(["images", "-q"], root: r3).split(separator: "\n").count <= 1, true)
        XCTAssertTrue(ok(["pull", "-q", "\(reg.host)/test/big:1"], root: r3).hasSuffix("\(reg.host)/test/big:1\n"))
        XCTAssertEqual(ok(["layer", "ls", "-q", "--no-trunc"], root: r3), layer + "\n")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: r3 + "/tmp")) ?? [], [])
    }

    /// A registry (or a cache in front of one) that answers a range request with the whole
    /// blob (200, not 206): the pull starts the blob over from its first byte and verifies
    /// it, whatever the partial file held.
    func testAResumeAnsweredWithTheWholeBlobStartsOver() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let tree = dir.appendingPathComponent("mid")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        _ = sh("head -c 4000000 /dev/urandom > '\(tree.path)/random'")
        let layer = ok(["layer", "create", tree.path]).trimmingCharacters(in: .newlines)
        ok(["image", "assemble", "mid:1", layer])
        let archive = dir.appendingPathComponent("mid.tar").path
        ok(["save", "--format", "oci", "-o", archive, "mid:1"])
        try reg.put("oci-archive:\(archive)", as: "test/mid:1")
        let manifest = try JSONSerialization.jsonObject(with: Data(sh("skopeo inspect --raw --tls-verify=false docker://\(reg.host)/test/mid:1").utf8)) as! [String: Any]
        let blob = String(((manifest["layers"] as! [[String: Any]])[0]["digest"] as! String).dropFirst(7))
        let stored = "\(reg.storage)/docker/registry/v2/blobs/sha256/\(blob.prefix(2))/\(blob)/data"
        // The proxy that drops Range headers, on a port of its own.
        let portFile = dir.appendingPathComponent("proxy.port").path, log = dir.appendingPathComponent("proxy.log").path
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proxy.arguments = ["python3", LocalRegistry.fixtures + "/registry_no_range_proxy.py", portFile, reg.host, log]
        try proxy.run()
        defer { proxy.terminate(); proxy.waitUntilExit() }
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: portFile) && Date() < deadline { usleep(50_000) }
        let host = "127.0.0.1:" + (try String(contentsOfFile: portFile, encoding: .utf8))
        // A right prefix and a wrong one: either way the whole blob comes again, from zero.
        for (label, prefix) in [("right", "head -c 1000000 '\(stored)'"), ("wrong", "head -c 1000000 /dev/zero")] {
            let r = freshRoot(label)
            try FileManager.default.createDirectory(atPath: r + "/partial", withIntermediateDirectories: true)
            _ = sh("\(prefix) > '\(r)/partial/\(blob)'")
            try? FileManager.default.removeItem(atPath: log)
            XCTAssertTrue(ok(["pull", "-q", "\(host)/test/mid:1"], root: r).hasSuffix("\(host)/test/mid:1\n"), label)
            XCTAssertEqual((try? String(contentsOfFile: log, encoding: .utf8)) ?? "",
                           "/v2/test/mid/blobs/sha256:\(blob) bytes=1000000-\n", "\(label): the rest was asked for")
            XCTAssertEqual(ok(["layer", "ls", "-q", "--no-trunc"], root: r), layer + "\n", label)
            XCTAssertEqual(String(sh("sha256sum '\(r)/blobs/sha256/\(blob)'").prefix(64)), blob, "\(label): the blob whole")
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: r + "/partial")) ?? [], [], label)
        }
    }

    /// A private partial download (`<hex>-PID`, made while another pull held `<hex>`) whose
    /// pull is gone is removed by the next pull and by `system prune`; one whose pull lives
    /// stays, and so does a resumable `<hex>`.
    func testStalePrivatePartialDownloadsAreRemoved() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/bb:1")
        let r = freshRoot("stale")
        let partial = r + "/partial"
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        let dead = Int32(sh("sh -c 'echo $$'").trimmingCharacters(in: .whitespacesAndNewlines))!
        let hex = String(repeating: "ab", count: 32), other = String(repeating: "cd", count: 32)
        let live = getpid()
        for name in ["\(hex)-\(dead)", "\(hex)-\(dead).lock", "\(hex)-\(live)", "\(hex)-\(live).lock", other, other + ".lock"] {
            FileManager.default.createFile(atPath: partial + "/" + name, contents: Data("x".utf8))
        }
        ok(["pull", "-q", "\(reg.host)/test/bb:1"], root: r)
        func left() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: partial)) ?? []).sorted() }
        XCTAssertEqual(left(), ["\(hex)-\(live)", "\(hex)-\(live).lock", other, other + ".lock"].sorted())
        for name in ["\(other)-\(dead)", "\(other)-\(dead).lock"] {
            FileManager.default.createFile(atPath: partial + "/" + name, contents: Data("x".utf8))
        }
        ok(["system", "prune", "-f"], root: r)
        XCTAssertEqual(left(), ["\(hex)-\(live)", "\(hex)-\(live).lock", other, other + ".lock"].sorted())
    }

    /// A registry nobody listens at: one line naming what was done and where, exit 125.
    func testAnUnreachableRegistryIsOneClearLine() throws {
        let r = freshRoot("unreachable")
        let port = LocalRegistry.freePort()
        let out = mdr(["pull", "127.0.0.1:\(port)/x"], root: r)
        XCTAssertEqual(out.status, 125)
        XCTAssertEqual(out.stderr, "mdlua: pull 127.0.0.1:\(port)/x: cannot connect to 127.0.0.1:\(port): connection refused\n")
        ok(["-e", "md.image.assemble('127.0.0.1:\(port)/y:1', {})"], root: r)
        let push = mdr(["push", "127.0.0.1:\(port)/y:1"], root: r)
        XCTAssertEqual(push.status, 125)
        XCTAssertEqual(push.stderr, "mdlua: push 127.0.0.1:\(port)/y:1: cannot connect to 127.0.0.1:\(port): connection refused\n")
        // From Lua, the error is md.push's.
        let lua = mdr(["-e", "md.push('127.0.0.1:\(port)/y:1')"], root: r)
        XCTAssertTrue(lua.stderr.hasPrefix("mdlua: md.push: push 127.0.0.1:\(port)/y:1: cannot connect"), lua.stderr)
        // A refused connection is not retried: one attempt for each scheme a loopback
        // registry is tried with (HTTP, then HTTPS), each refused (MDLUA_TRACE shows them).
        extraEnv = ["MDLUA_TRACE": "1"]
        let traced = mdr(["pull", "127.0.0.1:\(port)/x"], root: r)
        XCTAssertEqual(traced.status, 125)
        let attempts = traced.stderr.split(separator: "\n").filter { $0.contains("registry: attempt") }
        XCTAssertEqual(attempts.count, 2, traced.stderr)
        for a in attempts {
            XCTAssertTrue(a.contains("attempt 1 failed: cannot connect to 127.0.0.1:\(port): connection refused (refused: not retried)"), String(a))
        }
        XCTAssertTrue(traced.stderr.hasSuffix("mdlua: pull 127.0.0.1:\(port)/x: cannot connect to 127.0.0.1:\(port): connection refused\n"))
    }

    /// Tests/fixtures/failing_server.py in `mode` ("close", or a status to answer); its
    /// HOST:PORT and log.
    func failingServer(_ mode: String) throws -> (host: String, log: String, process: Process) {
        let portFile = dir.appendingPathComponent("failing-\(mode).port").path
        let log = dir.appendingPathComponent("failing-\(mode).log").path
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", LocalRegistry.fixtures + "/failing_server.py", portFile, log, mode]
        try server.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: portFile) && Date() < deadline { usleep(50_000) }
        return ("127.0.0.1:" + (try String(contentsOfFile: portFile, encoding: .utf8)), log, server)
    }

    /// A connection the server drops unanswered is a failure in transit: retried with
    /// backoff (4 attempts for each scheme), then one line naming the host.
    func testADroppedConnectionIsRetried() throws {
        let (host, log, server) = try failingServer("close")
        defer { server.terminate(); server.waitUntilExit() }
        extraEnv = ["MDLUA_TRACE": "1"]
        let out = mdr(["pull", "\(host)/x"], root: freshRoot("dropped"))
        XCTAssertEqual(out.status, 125)
        let attempts = out.stderr.split(separator: "\n").filter { $0.contains("registry: attempt") }
        XCTAssertEqual(attempts.map { $0.contains("attempt 4 failed") }.filter { $0 }.count, 2, out.stderr)
        XCTAssertEqual(attempts.count, 8, out.stderr)
        XCTAssertFalse(out.stderr.contains("refused"), out.stderr)
        XCTAssertTrue(out.stderr.split(separator: "\n").last?.hasPrefix("mdlua: pull \(host)/x: \(host): ") == true, out.stderr)
        let connections = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(connections.split(separator: "\n").count, 8, "the server saw every attempt")
    }

    /// 503 (the registry overloaded or in maintenance) to a read: asked again, 4 times in
    /// all, then the registry's answer is the error.
    func testAServiceUnavailableAnswerIsRetried() throws {
        let (host, log, server) = try failingServer("503")
        defer { server.terminate(); server.waitUntilExit() }
        extraEnv = ["MDLUA_TRACE": "1"]
        let out = mdr(["pull", "\(host)/x:1"], root: freshRoot("unavailable"))
        XCTAssertEqual(out.status, 125)
        XCTAssertEqual(out.stderr.split(separator: "\n").filter { $0.contains("registry: attempt") && $0.hasSuffix("answered 503") }.count,
                       3, out.stderr)
        XCTAssertTrue(out.stderr.hasSuffix("\nmdlua: \(host)/x:1: the registry answered 503 for manifest 1\n"), out.stderr)
        let requests = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        XCTAssertEqual(requests.filter { $0 == "GET /v2/x/manifests/1" }.count, 4, "\(requests)")
        assertEmptyStore(freshRoot("unavailable"))
    }

    // MARK: push

    func testPushPullBackMountAndPeersReadIt() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (_, id) = busyboxArchive()
        let target = "\(reg.host)/mine/bb:1"
        ok(["tag", "busybox", target])
        let out = ok(["push", target])
        XCTAssertTrue(out.hasPrefix("The push refers to repository [\(reg.host)/mine/bb]\n"), out)
        XCTAssertTrue(out.contains(": Pushed\n"), out)
        let digest = String(out.split(separator: " ").first { $0.hasPrefix("sha256:") } ?? "")
        XCTAssertEqual(digest.count, 71, out)
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{.ManifestDigest}}", target]), digest + "\n", "pushed as stored")
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .RepoDigests}}", target]), "[\"\(reg.host)/mine/bb@\(digest)\"]\n",
                       "the pushed digest is kept, as Docker does")
        // skopeo reads it, with the same digest.
        let inspect = sh("skopeo inspect --tls-verify=false docker://\(target)")
        XCTAssertTrue(inspect.contains("\"Digest\": \"\(digest)\""), inspect)
        _ = sh("skopeo copy -q --src-tls-verify=false docker://\(target) oci:'\(dir.path)/skopeo-copy:x'")
        // Pulled back into another root: the same image, the same digest.
        let back = freshRoot("back")
        XCTAssertTrue(ok(["pull", target], root: back).contains("Digest: \(digest)\n"))
        XCTAssertEqual(ok(["images", "-q", "--no-trunc"], root: back), id + "\n")
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .RepoDigests}}", target], root: back), "[\"\(reg.host)/mine/bb@\(digest)\"]\n")
        // Again: the registry has every blob.
        XCTAssertTrue(ok(["push", target]).contains(": Layer already exists\n"))
        // Another repository of the same registry: mounted, not uploaded.
        let other = "\(reg.host)/other/bb:1"
        ok(["tag", "busybox", other])
        XCTAssertTrue(ok(["push", other]).contains(": Mounted from mine/bb\n"))
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{json .RepoDigests}}", other]),
                       "[\"\(reg.host)/mine/bb@\(digest)\",\"\(reg.host)/other/bb@\(digest)\"]\n", "one per repository")
        // A committed image pushes, and its digest comes back.
        ok(["run", "--name", "c1", "busybox", "sh", "-c", "echo hi > /greeting"])
        ok(["commit", "c1", "\(reg.host)/mine/committed:1"])
        let pushed = ok(["-e", "local r = md.push('\(reg.host)/mine/committed:1'); print(r.reference, r.digest)"])
        let committed = freshRoot("committed")
        XCTAssertEqual(ok(["-e", """
            local img = md.pull("\(reg.host)/mine/committed:1")
            print(img.pulled.reference, img.pulled.digest)
            """], root: committed), pushed)
        XCTAssertEqual(ok(["run", "--rm", "\(reg.host)/mine/committed:1", "cat", "/greeting"], root: committed), "hi\n")
        refused(["push", "nothere:1"], "no such image: nothere:1")
    }

    /// A blob larger than the chunk size goes up in chunks (`PATCH` with Content-Range,
    /// then `PUT` of the digest); what comes back, and what skopeo reads, is identical.
    func testChunkedUploadOfALargeLayer() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let tree = dir.appendingPathComponent("big")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        _ = sh("head -c 6000000 /dev/urandom > '\(tree.path)/random'")
        let layer = ok(["layer", "create", tree.path]).trimmingCharacters(in: .newlines)
        ok(["image", "assemble", "\(reg.host)/test/chunked:1", layer])
        let manifest = try JSONSerialization.jsonObject(with: Data(ok(["-e", "io.write(md.json.encode(md.image.get('\(reg.host)/test/chunked:1'):manifest()))"]).utf8)) as! [String: Any]
        let blob = (manifest["layers"] as! [[String: Any]])[0]
        let (digest, size) = (blob["digest"] as! String, (blob["size"] as! NSNumber).intValue)
        XCTAssertGreaterThan(size, 5 << 20)
        extraEnv["MDLUA_REGISTRY_CHUNK_SIZE"] = "1048576"
        let out = ok(["-e", """
            local r = md.push("\(reg.host)/test/chunked:1", { progress = function(ev)
              if ev.status == "Pushing" and ev.current then print(ev.current, ev.total) end
            end })
            print(r.digest)
            """])
        let lines = out.split(separator: "\n").map(String.init)
        let chunks = (1...(size >> 20)).map { "\($0 << 20)\t\(size)" } + (size % (1 << 20) == 0 ? [] : ["\(size)\t\(size)"])
        XCTAssertEqual(Array(lines.dropLast()), chunks, "one event per chunk of 1 MiB")
        let pushed = lines.last ?? ""
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{.ManifestDigest}}", "\(reg.host)/test/chunked:1"]), pushed + "\n")
        // The registry holds the blob whole, under its digest.
        let hex = digest.dropFirst(7)
        XCTAssertEqual(String(sh("sha256sum '\(reg.storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data'").prefix(64)), String(hex))
        // Pulled back: the same layer and manifest; skopeo reads it with the same digests.
        let back = freshRoot("back")
        XCTAssertTrue(ok(["pull", "\(reg.host)/test/chunked:1"], root: back).contains("Digest: \(pushed)\n"))
        XCTAssertEqual(ok(["layer", "ls", "-q", "--no-trunc"], root: back), layer + "\n")
        let copy = dir.appendingPathComponent("skopeo-copy").path
        _ = sh("skopeo copy -q --src-tls-verify=false docker://\(reg.host)/test/chunked:1 oci:'\(copy):x'")
        XCTAssertEqual(String(sh("sha256sum '\(copy)/blobs/sha256/\(hex)'").prefix(64)), String(hex))
        // Chunks off (0): one PUT, no chunk events.
        let other = try LocalRegistry(in: dir, test: self)
        extraEnv["MDLUA_REGISTRY_CHUNK_SIZE"] = "0"
        XCTAssertEqual(ok(["-e", """
            local n = 0
            md.push("\(reg.host)/test/chunked:1", { destination = "\(other.host)/test/whole:1", progress = function(ev)
              if ev.current then n = n + 1 end
            end })
            print(n)
            """]), "0\n")
    }

    /// A binary copied alone carries the registry helper inside (scripts/embed-registry.sh,
    /// as `make build` does), writes it out once into the state root, as
    /// `helpers/mdlua-registry-<digest>` (0755, its digest checked), and runs that copy from
    /// then on; a copy that is not what it would write is replaced, other builds' copies go,
    /// and where the copy cannot be (no state root yet, a read-only or noexec file system,
    /// a directory others can write) it runs from memory.
    func testOneFileBinaryCarriesTheHelper() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/bb:1")
        let alone = dir.appendingPathComponent("alone").path
        let built = URL(fileURLWithPath: MDLuaBinary.path).deletingLastPathComponent().path
        _ = sh("mkdir -p '\(alone)' && cp '\(MDLuaBinary.path)' '\(alone)/mdlua' && cp '\(built)/mdlua-registry' '\(alone)/' && " +
               "'\(LocalRegistry.fixtures)/../../scripts/embed-registry.sh' '\(alone)' && rm '\(alone)/mdlua-registry'")
        let digest = sh("objcopy --dump-section .mdlua_registry_sha256='\(alone)/digest' '\(alone)/mdlua' '\(alone)/scratch' && cat '\(alone)/digest'")
        XCTAssertTrue(digest.count == 64 && digest.allSatisfy(\.isHexDigit), digest)
        let size = Int(sh("objdump -h '\(alone)/mdlua' | awk '$2 == \".mdlua_registry\" { print $3 }'")
            .trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) ?? -1
        func pull(_ root: String, file: StaticString = #filePath, line: UInt = #line) {
            let r = MDLuaBinary.run(["--root", root, "-e", "print(md.pull('\(reg.host)/test/bb:1').pulled.reference)"],
                                    env: env, executable: alone + "/mdlua")
            XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
            XCTAssertEqual(r.stdout, "\(reg.host)/test/bb:1\n", file: file, line: line)
        }
        func stat(_ path: String) -> (ino: UInt64, mode: Int, size: Int)? {
            guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
            return ((a[.systemFileNumber] as! NSNumber).uint64Value, (a[.posixPermissions] as! NSNumber).intValue,
                    (a[.size] as! NSNumber).intValue)
        }
        func helpers(_ root: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: root + "/helpers")) ?? []).sorted() }
        let name = "mdlua-registry-" + digest.prefix(16)

        // No state root yet: from memory (a pull makes the root), then the copy.
        let r = freshRoot("alone")
        pull(r)
        XCTAssertEqual(helpers(r), [], "no copy before the state root is there")
        try FileManager.default.createDirectory(atPath: r + "/helpers", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: r + "/helpers/mdlua-registry-0123456789abcdef", contents: Data("old".utf8),
                                       attributes: [.posixPermissions: 0o755])
        pull(r)
        XCTAssertEqual(helpers(r), [name], "written once, an older build's copy gone")
        let copy = r + "/helpers/" + name
        guard let first = stat(copy) else { return XCTFail("no copy") }
        XCTAssertEqual(first.mode, 0o755)
        XCTAssertEqual(first.size, size)
        XCTAssertEqual(String(sh("sha256sum '\(copy)'").prefix(64)), digest)
        XCTAssertEqual(stat(r + "/helpers")?.mode, 0o755)
        pull(r)
        XCTAssertEqual(stat(copy)?.ino, first.ino, "the copy is reused")
        let user = MDLuaBinary.run(["--root", r, "logout", reg.host], env: env, executable: alone + "/mdlua")
        XCTAssertEqual(user.status, 0, user.stderr)
        XCTAssertEqual(stat(copy)?.ino, first.ino, "logout runs the copy too")

        // Not what this binary writes (others may write it; cut short): replaced.
        chmod(copy, 0o777)
        pull(r)
        XCTAssertEqual(stat(copy)?.mode, 0o755)
        XCTAssertNotEqual(stat(copy)?.ino, first.ino)
        _ = sh("truncate -s 1000 '\(copy)'")
        pull(r)
        XCTAssertEqual(stat(copy)?.size, size)
        XCTAssertEqual(String(sh("sha256sum '\(copy)'").prefix(64)), digest)

        // A directory others can write is not used.
        let open = freshRoot("open")
        try FileManager.default.createDirectory(atPath: open + "/helpers", withIntermediateDirectories: true)
        chmod(open + "/helpers", 0o777)
        pull(open)
        XCTAssertEqual(helpers(open), [])

        // Read-only and noexec file systems: from memory.
        for (label, options) in [("ro", "ro"), ("noexec", "noexec")] {
            let root = freshRoot(label)
            try FileManager.default.createDirectory(atPath: root + "/helpers", withIntermediateDirectories: true)
            _ = sh("mount -t tmpfs -o \(options),mode=0755 mdlua-test '\(root)/helpers'")
            defer { umount2(root + "/helpers", Int32(MNT_DETACH)) }
            pull(root)
            XCTAssertEqual(helpers(root), [], label)
        }
    }

    /// Credentials from a `docker-credential-*` helper named by credHelpers, for login and pull.
    func testCredentialHelper() throws {
        let reg = try LocalRegistry(in: dir, test: self, auth: .basic)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "private/bb:1")
        // A helper that keeps what it is given in a file (the protocol: get/store/erase on stdin).
        let bin = home + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let store = home + "/helper-store.json"
        try write("""
            #!/bin/sh
            case "$1" in
              store) cat > '\(store)' ;;
              get) read server; if [ -s '\(store)' ]; then sed 's/"ServerURL":"[^"]*",//' '\(store)'; else echo "credentials not found"; exit 1; fi ;;
              erase) rm -f '\(store)' ;;
            esac
            """, to: URL(fileURLWithPath: bin + "/docker-credential-test"))
        _ = sh("chmod +x '\(bin)/docker-credential-test' && mkdir -p '\(home)/.docker' && echo '{\"credHelpers\": {\"\(reg.host)\": \"test\"}}' > '\(home)/.docker/config.json'")
        var e = env
        e["PATH"] = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let login = MDLuaBinary.run(["--root", root, "login", "-u", LocalRegistry.user, "--password-stdin", reg.host], env: e,
                                    stdin: LocalRegistry.password)
        XCTAssertEqual(login.status, 0, login.stderr)
        XCTAssertTrue(((try? String(contentsOfFile: store, encoding: .utf8)) ?? "").contains(LocalRegistry.password), "stored by the helper")
        XCTAssertFalse(((try? String(contentsOfFile: home + "/.docker/config.json", encoding: .utf8)) ?? "").contains("auths"))
        let pull = MDLuaBinary.run(["--root", freshRoot("helper"), "pull", "-q", "\(reg.host)/private/bb:1"], env: e)
        XCTAssertEqual(pull.status, 0, pull.stderr)
        let logout = MDLuaBinary.run(["--root", root, "logout", reg.host], env: e)
        XCTAssertEqual(logout.status, 0, logout.stderr + logout.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "erased by the helper")
    }

    func testRunAndCreatePullAsAsked() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/bb:1")
        let image = "\(reg.host)/test/bb:1"
        let r = freshRoot("run")
        refused(["run", "--rm", "--pull", "never", image, "true"], "no such image: \(image)", root: r)
        refused(["run", "--rm", "--pull", "sometimes", image, "true"], "invalid --pull \"sometimes\"", root: r)
        XCTAssertEqual(mdr(["run", "--rm", image, "echo", "pulled"], root: r).stdout, "pulled\n", "missing: pulled first")
        XCTAssertEqual(ok(["images", "-q"], root: r).split(separator: "\n").count, 1)
        XCTAssertEqual(mdr(["run", "--rm", "--pull", "always", image, "true"], root: r).status, 0)
        XCTAssertEqual(mdr(["create", "--name", "made", "--pull", "missing", image, "true"], root: r).status, 0)
        ok(["rm", "made"], root: r)
    }

    /// `mdlua build` pulls a base image the store lacks (as Docker), and every base again with
    /// --pull; a base no registry has is the FROM line's error (status 125).
    func testBuildPullsItsBaseImage() throws {
        let reg = try LocalRegistry(in: dir, test: self)
        let (archive, _) = busyboxArchive()
        try reg.put("oci-archive:\(archive)", as: "test/base:1")
        let ctx = dir.appendingPathComponent("ctx")
        try FileManager.default.createDirectory(at: ctx, withIntermediateDirectories: true)
        try write("FROM \(reg.host)/test/base:1\nRUN echo built > /built\n", to: ctx.appendingPathComponent("Dockerfile"))
        let fresh = freshRoot("build")
        let first = mdr(["build", "--progress", "plain", "-t", "pulled:1", ctx.path], root: fresh)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.hasPrefix("Pulling \(reg.host)/test/base:1\n"), first.stderr)
        XCTAssertEqual(ok(["run", "--rm", "pulled:1", "cat", "/built"], root: fresh), "built\n")
        let again = mdr(["build", "--progress", "plain", ctx.path], root: fresh)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("Pulling"), "there: not pulled again")
        let forced = mdr(["build", "--pull", "--progress", "plain", ctx.path], root: fresh)
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("Pulling \(reg.host)/test/base:1"), forced.stderr)
        XCTAssertTrue(forced.stderr.contains("--> CACHED"), "the same base: the steps stay cached")

        try write("FROM \(reg.host)/test/none:1\n", to: ctx.appendingPathComponent("Dockerfile"))
        let missing = mdr(["build", "-q", ctx.path], root: fresh)
        XCTAssertEqual(missing.status, 125, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("mdlua: Dockerfile:1: FROM \(reg.host)/test/none:1: "), missing.stderr)
    }
}
