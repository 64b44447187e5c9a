import XCTest
@testable import MDCore

final class ReferenceTests: XCTestCase {
    func testNormalization() throws {
        let cases: [(String, String)] = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("library/busybox", "docker.io/library/busybox:latest"),
            ("user/app:v1.2-rc_3", "docker.io/user/app:v1.2-rc_3"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/a/b:c", "localhost:5000/a/b:c"),
            ("registry.example.com/team/app", "registry.example.com/team/app:latest"),
            ("a.b-c/x__y", "a.b-c/x__y:latest"),
            ("quay.io/x/y@sha256:" + String(repeating: "a", count: 64),
             "quay.io/x/y@sha256:" + String(repeating: "a", count: 64)),
            ("x:t@sha256:" + String(repeating: "b", count: 64),
             "docker.io/library/x:t@sha256:" + String(repeating: "b", count: 64)),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try Reference(parsing: input).description, expected, input)
        }
        let r = try Reference(parsing: "localhost:5000/a/b:c")
        XCTAssertEqual(r.domain, "localhost:5000")
        XCTAssertEqual(r.path, "a/b")
        XCTAssertEqual(r.tag, "c")
    }

    func testInvalid() {
        for bad in ["", "UPPER", "a//b", "-a", "a-", "a:", "a:-tag", "a@sha256:xyz", "a@md5:" + String(repeating: "a", count: 32),
                    "a..b", "a/b/", ":tag", "a:" + String(repeating: "t", count: 129), "bad host:1/x"] {
            XCTAssertThrowsError(try Reference(parsing: bad), bad) { e in
                XCTAssertTrue("\(e)".contains("invalid"), "\(bad): \(e)")
            }
        }
    }

    func testFamiliar() {
        XCTAssertEqual(Reference.familiar("docker.io/library/busybox:latest"), "busybox:latest")
        XCTAssertEqual(Reference.familiar("docker.io/user/app:1"), "user/app:1")
        XCTAssertEqual(Reference.familiar("localhost:5000/a:b"), "localhost:5000/a:b")
    }

    func testLookupByNameIdPrefixAndDigest() throws {
        func record(_ hex: String, _ names: [String]) -> ImageRecord {
            ImageRecord(id: Digest(hex: hex), manifest: Digest(hex: String(hex.reversed())), layers: [],
                        names: names, created: "", size: 0, added: "")
        }
        let a = record("abc" + String(repeating: "1", count: 61), ["docker.io/library/busybox:latest"])
        let b = record("abd" + String(repeating: "2", count: 61), [])
        let all = [a.id: a, b.id: b]
        XCTAssertEqual(try ImageLookup.find("busybox", in: all).id, a.id)
        XCTAssertEqual(try ImageLookup.find("abc", in: all).id, a.id)
        XCTAssertEqual(try ImageLookup.find("sha256:abd2", in: all).id, b.id)
        XCTAssertEqual(try ImageLookup.find("busybox@" + a.manifest.description, in: all).id, a.id)
        XCTAssertThrowsError(try ImageLookup.find("ab", in: all)) { e in
            XCTAssertTrue("\(e)".contains("ambiguous") && "\(e)".contains("abc111111111") && "\(e)".contains("abd222222222"), "\(e)")
        }
        XCTAssertThrowsError(try ImageLookup.find("nginx", in: all)) { e in
            XCTAssertEqual("\(e)", "no such image: nginx")
        }
    }
}

final class JSONTests: XCTestCase {
    func testRoundTrip() throws {
        let text = #"{"a":[1,2.5,-3,true,false,null],"b":{"c":"x\"y\\z\n\u00e9\ud83d\ude00"},"e":[],"f":{}}"#
        let v = try JSON.parse(text)
        XCTAssertEqual(v["a"]?.array?.count, 6)
        XCTAssertEqual(v["a"]?.array?[0], .int(1))
        XCTAssertEqual(v["a"]?.array?[1], .double(2.5))
        XCTAssertEqual(v["b"]?["c"]?.string, "x\"y\\z\né😀")
        XCTAssertEqual(try JSON.parse(v.serialized()), v)
        XCTAssertEqual(try JSON.parse(v.pretty()), v)
        XCTAssertEqual(JSON.object(["b": .int(1), "a": .int(2)]).serialized(), #"{"a":2,"b":1}"#)
    }

    func testErrors() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "{\"a\":1}x", "[\"\u{01}\"]", "01x"] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        XCTAssertThrowsError(try JSON.parse(deep))
    }
}
