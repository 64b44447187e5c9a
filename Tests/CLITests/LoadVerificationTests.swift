import Foundation
import XCTest

/// `load` checks every blob an OCI layout or archive names against its descriptor (digest,
/// size, media type) before anything is stored; attestations in an index are skipped;
/// skopeo's `dir:` layout loads.
final class LoadVerificationTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }
    var fixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures").path
    }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
    }

    @discardableResult
    func ok(_ args: [String], root: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = MDLuaBinary.run(["--root", root ?? self.root] + args, file: file, line: line)
        XCTAssertEqual(r.status, 0, "mdlua \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    func sh(_ command: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Process.run("/bin/sh", ["-c", command]), 0, command, file: file, line: line)
    }

    /// An OCI layout of the bootstrapped busybox, unpacked from `save --format oci`.
    func layout(_ name: String) -> String {
        let archive = dir.appendingPathComponent("bb-oci.tar").path
        if !FileManager.default.fileExists(atPath: archive) {
            ok(["image", "bootstrap", "busybox"])
            ok(["save", "--format", "oci", "-o", archive, "busybox"])
        }
        let path = dir.appendingPathComponent(name).path
        sh("mkdir -p '\(path)' && tar -C '\(path)' -xf '\(archive)'")
        return path
    }

    /// Loading `path` into a new root is refused with one line naming `message`, exit 125,
    /// and the root holds no image, layer, blob or staging dir afterwards.
    func refused(_ path: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        let other = dir.appendingPathComponent("refused-\(UUID().uuidString)").path
        let r = MDLuaBinary.run(["--root", other, "load", "-i", path], file: file, line: line)
        XCTAssertEqual(r.status, 125, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("mdlua: ") && r.stderr.contains(message), r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)", file: file, line: line)
        for sub in ["blobs/sha256", "layers", "tmp"] {
            let left = ((try? FileManager.default.contentsOfDirectory(atPath: other + "/" + sub)) ?? []).filter { $0 != "l" }
            XCTAssertEqual(left, [], "\(sub) is empty after a refused load", file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: other + "/images.json") &&
                       ok(["images", "-q"], root: other) != "", "no image", file: file, line: line)
    }

    func edit(_ layout: String, _ args: String...) {
        sh("python3 '\(fixtures)/oci_edit.py' '\(layout)' " + args.map { "'\($0)'" }.joined(separator: " "))
    }

    func testLayerSizeMustMatchItsDescriptor() {
        let l = layout("size")
        edit(l, "layer-size", "1")
        refused(l, "its descriptor says")
        let m = layout("size-minus")
        edit(m, "layer-size", "-1")
        refused(m, "its descriptor says")
    }

    func testUnknownLayerMediaTypeIsRefusedByName() {
        let l = layout("type")
        edit(l, "layer-type", "application/vnd.example.weird+tar")
        refused(l, "media type \"application/vnd.example.weird+tar\", which is not a layer mdlua can unpack")
        let c = layout("config-type")
        edit(c, "config-type", "application/vnd.cncf.helm.config.v1+json")
        refused(c, "\"application/vnd.cncf.helm.config.v1+json\": not a container image")
    }

    func testTamperedBlobsAreRefused() throws {
        // A config whose bytes changed after the manifest named it.
        let l = layout("tampered")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: l + "/index.json"))) as! [String: Any]
        let manifestDigest = ((index["manifests"] as! [[String: Any]])[0]["digest"] as! String).dropFirst(7)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: l + "/blobs/sha256/" + manifestDigest))) as! [String: Any]
        let configDigest = ((manifest["config"] as! [String: Any])["digest"] as! String).dropFirst(7)
        let configPath = l + "/blobs/sha256/" + configDigest
        var config = try String(contentsOfFile: configPath, encoding: .utf8)
        config = config.replacingOccurrences(of: "\"sh\"", with: "\"id\"")
        try write(config, to: URL(fileURLWithPath: configPath))
        refused(l, "config sha256:\(configDigest) does not match its digest")
        // A layer that is missing.
        let m = layout("missing")
        let layerDigest = ((manifest["layers"] as! [[String: Any]])[0]["digest"] as! String)
        try FileManager.default.removeItem(atPath: m + "/blobs/sha256/" + layerDigest.dropFirst(7))
        refused(m, "the manifest names layer \(layerDigest), which the archive lacks")
        // A compressed layer with a byte appended: it no longer decompresses, but that it is
        // not the blob the manifest names is what is reported.
        let g = layout("tampered-layer")
        sh("printf x >> '\(g)/blobs/sha256/\(layerDigest.dropFirst(7))'")
        refused(g, "layer \(layerDigest) does not match its digest (content is sha256:")
        // The same bytes named by the manifest: now the blob is the one named, and broken.
        let b = layout("broken-layer")
        edit(b, "layer-append", "x")
        refused(b, "truncated gzip stream")
    }

    func testAttestationsInAnIndexAreSkipped() {
        let l = layout("attested")
        edit(l, "add-attestation")
        XCTAssertEqual(ok(["load", "-i", l], root: dir.appendingPathComponent("attested-root").path),
                       "Loaded image: busybox:latest\n")
        XCTAssertEqual(ok(["images", "-q"], root: dir.appendingPathComponent("attested-root").path).split(separator: "\n").count, 1)
    }

    func testSkopeoDirLayoutLoads() {
        let l = layout("oci")
        let d = dir.appendingPathComponent("skopeo-dir").path
        sh("skopeo copy -q oci:'\(l)' dir:'\(d)'")
        let other = dir.appendingPathComponent("dir-root").path
        XCTAssertTrue(ok(["load", "-i", d], root: other).hasPrefix("Loaded image ID: sha256:"))
        XCTAssertEqual(ok(["layer", "ls", "-q", "--no-trunc"], root: other), ok(["layer", "ls", "-q", "--no-trunc"]))
        XCTAssertEqual(ok(["images", "-q", "--no-trunc"], root: other), ok(["images", "-q", "--no-trunc"]))
        // Tampered in that layout too.
        let t = dir.appendingPathComponent("skopeo-dir-bad").path
        sh("skopeo copy -q oci:'\(l)' dir:'\(t)' && for f in '\(t)'/*; do case $(head -c1 \"$f\") in '{') ;; *) printf x >> \"$f\";; esac; done")
        refused(t, "does not match its digest")
    }
}
