import XCTest
@testable import MDCore

/// The cache of compiled seccomp programs: reused for the same profile, never trusted when
/// its bytes do not match their digest.
final class SeccompFilterTests: XCTestCase {
    let profile = try! JSON.parse("""
        {"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
         "syscalls":[{"names":["keyctl","add_key","bpf"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
                     {"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":8,"op":"SCMP_CMP_NE"}]}]}
        """)

    func bytes(_ f: SeccompFilter) -> [UInt8] { Array(UnsafeRawBufferPointer(start: f.program, count: f.count * 8)) }

    override func tearDown() { SeccompFilter.cacheDirectory = nil }

    func testCompiledOnceThenReusedAndNeverTrustedWhenTorn() throws {
        let scratch = try Scratch(for: self)
        SeccompFilter.cacheDirectory = scratch.path + "/seccomp"
        let fresh = bytes(try SeccompFilter(profile))
        XCTAssertEqual(bytes(try SeccompFilter.load(profile)), fresh)
        let files = FileSystem.list(scratch.path + "/seccomp")
        XCTAssertEqual(files.count, 1, "one program kept")
        let path = scratch.path + "/seccomp/" + files[0]
        XCTAssertEqual(Array(try FileSystem.readFile(path).dropFirst(64)), fresh, "the digest, then the program")

        // From the cache: what is read is what is loaded (a program that allows everything,
        // with its own correct digest, stands for a cached one).
        let allowAll: [UInt8] = [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]   // BPF_RET|BPF_K SECCOMP_RET_ALLOW
        try FileSystem.writeAtomically(path, Array(Digest.of(allowAll).hex.utf8) + allowAll, durable: false)
        XCTAssertEqual(bytes(try SeccompFilter.load(profile)), allowAll)

        // Torn: a prefix of the program whose digest does not match is compiled anew.
        let torn = Array(try FileSystem.readFile(path).prefix(64)) + Array(fresh.prefix(16))
        try FileSystem.writeAtomically(path, torn, durable: false)
        XCTAssertEqual(bytes(try SeccompFilter.load(profile)), fresh)
        XCTAssertEqual(Array(try FileSystem.readFile(path).dropFirst(64)), fresh, "and kept again")

        // Another profile, another program.
        var other = profile
        if case .object(var o) = other { o["defaultAction"] = .string("SCMP_ACT_ERRNO"); other = .object(o) }
        XCTAssertNotEqual(bytes(try SeccompFilter.load(other)), fresh)
        XCTAssertEqual(FileSystem.list(scratch.path + "/seccomp").count, 2)
    }
}
