import Foundation
import XCTest

/// Bridge networks with real traffic, inside this machine only: to 127.0.0.0/8, to the
/// host's own address, and to network namespaces the tests make (containers, and a
/// namespace that plays an outside client or server, linked to the host by a veth pair).
/// Every test's networks are its own (its state root names its bridges and its nf_tables
/// table); the teardown checks that no link, table, lease or DNS server of it is left.
final class NetworkTests: ContainerTestCase {
    /// The bridges, the table and the veth host ends of this root (NetworkStore.tag).
    var tag: String { NetworkLeaks.tag(root) }
    var namespaces: [String] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        // Runs first at teardown (last in, first out): the containers, the outside
        // namespaces; ContainerTestCase's teardown checks what the root's networking left.
        addTeardownBlock { [unowned self] in
            let ids = md(["ps", "-aq", "--no-trunc"]).stdout.split(separator: "\n").map(String.init)
            containerIDs += ids
            _ = md(["-e", "for _, c in ipairs(md.container.list{all=true}) do pcall(c.unpause, c); c:rm{force=true} end"])
            for ns in namespaces {
                _ = Process.run("/usr/sbin/ip", ["netns", "del", ns])
                _ = Process.run("/usr/sbin/ip", ["link", "del", "o" + ns])
            }
            XCTAssertEqual(aardvarks(), 0, "an aardvark-dns is left behind")
        }
    }

    /// Host tools (ip, nft, python3): status and output.
    @discardableResult
    func host(_ tool: String, _ args: [String], stdin: String? = nil) -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        // Input from a file, not a pipe: a tool that exits before reading (nc refused)
        // would make the write raise SIGPIPE in this process.
        let input = dir.appendingPathComponent("stdin-\(UUID().uuidString.prefix(8))")
        FileManager.default.createFile(atPath: input.path, contents: Data((stdin ?? "").utf8))
        defer { try? FileManager.default.removeItem(at: input) }
        p.standardInput = try? FileHandle(forReadingFrom: input)
        guard (try? p.run()) != nil else { return (-1, "", "cannot start \(tool)") }
        let e = err.fileHandleForReading.readDataToEndOfFile()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func aardvarks() -> Int {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.filter { Int($0) != nil }.filter { pid in
            let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return cmd.contains("aardvark") && cmd.contains(root)
        }.count
    }

    /// The host's address (the source of its default route), for "the host's address" cases.
    func hostAddress() -> String? {
        let r = host("/usr/sbin/ip", ["-4", "-o", "addr", "show", "scope", "global"]).out
        for line in r.split(separator: "\n") where !line.contains(" md") && !line.contains(" o") {
            let f = line.split(separator: " ")
            if let i = f.firstIndex(of: "inet"), i + 1 < f.count { return String(f[i + 1].split(separator: "/")[0]) }
        }
        return nil
    }

    /// A network namespace linked to the host by a veth pair on a /30 of its own (an
    /// "outside" machine): returns (namespace, host end address, its address).
    func outsideNamespace() throws -> (String, String, String) {
        let ns = "mdt" + String(UInt32.random(in: 0..<0xffff_ff), radix: 16)
        namespaces.append(ns)
        // A /30 in 10.224.0.0/16 that no route of the host covers.
        let routes = host("/usr/sbin/ip", ["-4", "route", "show"]).out
        var third = 0, fourth = 0
        repeat {
            third = Int.random(in: 0...255)
            fourth = Int.random(in: 0...63) * 4
        } while routes.contains("10.224.\(third).\(fourth)/30")
        let hostIP = "10.224.\(third).\(fourth + 1)", nsIP = "10.224.\(third).\(fourth + 2)"
        for args in [["netns", "add", ns], ["link", "add", "o" + ns, "type", "veth", "peer", "name", "eth0", "netns", ns],
                     ["addr", "add", hostIP + "/30", "dev", "o" + ns], ["link", "set", "o" + ns, "up"],
                     ["-n", ns, "addr", "add", nsIP + "/30", "dev", "eth0"], ["-n", ns, "link", "set", "eth0", "up"],
                     ["-n", ns, "link", "set", "lo", "up"], ["-n", ns, "route", "add", "default", "via", hostIP]] {
            let r = host("/usr/sbin/ip", args)
            XCTAssertEqual(r.status, 0, "ip \(args.joined(separator: " ")): \(r.err)")
        }
        return (ns, hostIP, nsIP)
    }

    /// busybox nc against a listener: what came back.
    func request(_ netArgs: [String], _ address: String, _ port: Int) -> String {
        md(["run", "--rm"] + netArgs + ["busybox", "sh", "-c", "echo ping | nc -w 3 \(address) \(port)"]).stdout
    }

    /// A detached busybox that answers every TCP connection on `port` with `reply`.
    @discardableResult
    func server(_ name: String, _ args: [String], port: Int, reply: String) -> String {
        let r = md(["run", "-d", "--name", name] + args + ["busybox", "sh", "-c",
                   "while true; do echo \(reply) | nc -l -p \(port) >/dev/null; done"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The static UDP echo fixture (Tests/fixtures/udpecho.c), built once per test.
    func udpecho() throws -> String {
        let out = dir.appendingPathComponent("udpecho").path
        if FileManager.default.fileExists(atPath: out) { return out }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/udpecho.c").path
        XCTAssertEqual(Process.run("/usr/bin/cc", ["-static", "-O2", "-o", out, source]), 0, "cc and a static libc")
        return out
    }

    func waitForListener(_ name: String, port: Int) {
        let hex = String(format: ":%04X", port)
        for _ in 0..<100 {
            let r = md(["exec", name, "cat", "/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"])
            if r.stdout.contains(hex) { return }
            usleep(50_000)
        }
        XCTFail("nothing listens on \(port) in \(name)")
    }

    // MARK: - Tests

    func testContainersReachEachOtherByNameAndAliasOverTCPAndUDP() throws {
        XCTAssertEqual(md(["network", "create", "--dns", "127.0.0.1", "app"]).status, 0)
        server("web", ["--network", "app", "--network-alias", "frontend"], port: 7000, reply: "from-web")
        waitForListener("web", port: 7000)
        // DNS: the name and the alias, from a container started after it.
        let look = md(["run", "--rm", "--network", "app", "busybox", "sh", "-c", "nslookup web; nslookup frontend"])
        XCTAssertEqual(look.status, 0, look.stderr + look.stdout)
        let webIP = md(["inspect", "-f", "{{.NetworkSettings.Networks.app.IPAddress}}", "web"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(look.stdout.contains("Address: \(webIP)"), look.stdout)
        XCTAssertEqual(request(["--network", "app"], "web", 7000), "from-web\n")
        XCTAssertEqual(request(["--network", "app"], "frontend", 7000), "from-web\n")

        // UDP, by name resolved through the network's DNS server.
        let echo = try udpecho()
        XCTAssertEqual(md(["create", "--name", "udp", "--network", "app", "busybox", "/udpecho", "serve", "7001"]).status, 0)
        XCTAssertEqual(md(["cp", echo, "udp:/udpecho"]).status, 0)
        XCTAssertEqual(md(["start", "udp"]).status, 0)
        waitForListener("udp", port: 7001)
        XCTAssertEqual(md(["create", "--name", "client", "--network", "app", "busybox", "sh", "-c",
                           "/udpecho send $(nslookup udp | sed -n 's/^Address: \\([0-9.]*\\)$/\\1/p' | tail -1) 7001 hello"]).status, 0)
        XCTAssertEqual(md(["cp", echo, "client:/udpecho"]).status, 0)
        let r = md(["start", "-a", "client"])
        XCTAssertEqual(r.stdout, "echo:hello\n", r.stderr)

        // A removed container stops resolving.
        XCTAssertEqual(md(["rm", "-f", "web"]).status, 0)
        let gone = md(["run", "--rm", "--network", "app", "busybox", "nslookup", "web"])
        XCTAssertFalse(gone.stdout.contains("Address: \(webIP)"), gone.stdout)
    }

    func testPublishedPortAnswersOnLoopbackHostAddressAndFromOtherContainers() throws {
        server("pub", ["--network", "bridge", "-p", "127.0.0.1:18901:80", "-p", "18902:80"], port: 80, reply: "published")
        waitForListener("pub", port: 80)
        XCTAssertEqual(md(["port", "pub", "80"]).stdout, "127.0.0.1:18901\n0.0.0.0:18902\n")
        XCTAssertTrue(md(["ps"]).stdout.contains("127.0.0.1:18901->80/tcp, 0.0.0.0:18902->80/tcp"))
        let ports = md(["inspect", "-f", "{{json .NetworkSettings.Ports}}", "pub"]).stdout
        XCTAssertTrue(ports.contains("\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18901\"}"), ports)
        func fromHost(_ address: String, _ port: Int) -> String {
            host("/usr/bin/busybox", ["nc", "-w", "3", address, String(port)], stdin: "ping\n").out
        }
        XCTAssertEqual(fromHost("127.0.0.1", 18901), "published\n")
        XCTAssertEqual(fromHost("127.0.0.1", 18902), "published\n")
        let address = try XCTUnwrap(hostAddress())
        XCTAssertEqual(fromHost(address, 18902), "published\n")
        XCTAssertEqual(fromHost(address, 18901), "", "bound to 127.0.0.1 only")
        // Hairpin: from a container of the same network, and of another network.
        XCTAssertEqual(request(["--network", "bridge"], address, 18902), "published\n")
        XCTAssertEqual(md(["network", "create", "other"]).status, 0)
        XCTAssertEqual(request(["--network", "other"], address, 18902), "published\n")
    }

    func testOutsideClientAndOutboundNAT() throws {
        let (ns, hostSide, nsIP) = try outsideNamespace()
        // An outside client reaches a published port through the host end of its link.
        server("svc", ["-p", "18911:80", "--network", "bridge"], port: 80, reply: "outside-ok")
        waitForListener("svc", port: 80)
        let c = host("/usr/sbin/ip", ["netns", "exec", ns, "busybox", "nc", "-w", "3", hostSide, "18911"], stdin: "ping\n")
        XCTAssertEqual(c.out, "outside-ok\n", c.err)
        // A container reaches an outside server, which sees the host's address.
        let script = "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
            + "s.bind(('\(nsIP)', 18912)); s.listen(1); s.settimeout(20); c, a = s.accept(); c.sendall((a[0] + '\\n').encode()); c.close()"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns, "python3", "-c", script]
        try p.run()
        var seen = ""
        for _ in 0..<50 where seen.isEmpty {
            seen = request(["--network", "bridge"], nsIP, 18912)
            if seen.isEmpty { usleep(100_000) }
        }
        p.waitUntilExit()
        XCTAssertEqual(seen, hostSide + "\n", "masqueraded to the host's address on that link")
    }

    func testNetworksAreIsolatedAndInternalHasNoWayOut() throws {
        XCTAssertEqual(md(["network", "create", "a"]).status, 0)
        XCTAssertEqual(md(["network", "create", "b"]).status, 0)
        XCTAssertEqual(md(["network", "create", "--internal", "sealed"]).status, 0)
        server("in-a", ["--network", "a"], port: 7100, reply: "a")
        waitForListener("in-a", port: 7100)
        let ip = md(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "in-a"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(request(["--network", "a"], ip, 7100), "a\n")
        XCTAssertEqual(request(["--network", "b"], ip, 7100), "", "network b reaches network a")
        XCTAssertEqual(request(["--network", "sealed"], ip, 7100), "", "an internal network reaches out")
        let (_, hostSide, _) = try outsideNamespace()
        _ = hostSide
        let route = md(["run", "--rm", "--network", "sealed", "busybox", "ip", "route"]).stdout
        XCTAssertFalse(route.contains("default"), route)
        XCTAssertTrue(md(["network", "inspect", "-f", "{{.Internal}}", "sealed"]).stdout.hasPrefix("true"))
    }

    func testTakenPortIsRefusedBeforeTheStart() throws {
        server("first", ["-p", "18921:80", "--network", "bridge"], port: 80, reply: "x")
        let r = md(["run", "-d", "--name", "second", "-p", "18921:80", "--network", "bridge", "busybox", "true"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("18921"), r.stderr)
        XCTAssertNotEqual(md(["inspect", "second"]).status, 0, "no container was made")
        // One the host holds.
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(sock) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        listen(sock, 1)
        let port = Int(UInt16(bigEndian: a.sin_port))
        let h = md(["run", "--rm", "-p", "127.0.0.1:\(port):80", "--network", "bridge", "busybox", "true"])
        XCTAssertEqual(h.status, 125)
        XCTAssertTrue(h.stderr.contains("\(port)"), h.stderr)
    }

    func testTwentyParallelContainersGetDistinctAddresses() throws {
        XCTAssertEqual(md(["network", "create", "many"]).status, 0)
        let group = DispatchGroup()
        final class Statuses: @unchecked Sendable {
            let lock = NSLock()
            var list: [Int32] = []
        }
        let statuses = Statuses()
        for i in 0..<20 {
            group.enter()
            DispatchQueue.global().async { [self] in
                let r = md(["run", "-d", "--name", "p\(i)", "--network", "many", "busybox", "sleep", "60"])
                statuses.lock.lock(); statuses.list.append(r.status); statuses.lock.unlock()
                group.leave()
            }
        }
        group.wait()
        XCTAssertEqual(statuses.list, Array(repeating: 0, count: 20))
        var addresses = Set<String>()
        for i in 0..<20 {
            let a = md(["exec", "p\(i)", "sh", "-c", "ip -4 -o addr show eth0"]).stdout
            let ip = a.split(separator: " ").firstIndex(of: "inet").map { a.split(separator: " ")[$0 + 1] }.map(String.init) ?? ""
            XCTAssertFalse(ip.isEmpty, a)
            addresses.insert(ip)
        }
        XCTAssertEqual(addresses.count, 20)
    }

    func testKillNineIsRepairedAndRemovalReleasesEverything() throws {
        XCTAssertEqual(md(["network", "create", "crash"]).status, 0)
        let id = server("victim", ["--network", "crash", "-p", "18931:80"], port: 80, reply: "v")
        let link = "vm" + id.prefix(11) + "0"
        XCTAssertEqual(host("/usr/sbin/ip", ["link", "show", link]).status, 0)
        // kill -9 of its monitor: the next command repairs it (the link and the port go).
        let monitor = md(["inspect", "-f", "{{.State.Pid}}", "victim"]).stdout
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { pid in
            let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return cmd.contains("--internal-monitor") && cmd.contains(id)
        } ?? []
        XCTAssertFalse(pids.isEmpty, "the monitor of \(monitor)")
        for p in pids { kill(pid_t(p)!, SIGKILL) }
        usleep(200_000)
        XCTAssertTrue(md(["ps", "-a"]).stdout.contains("Exited"))
        XCTAssertNotEqual(host("/usr/sbin/ip", ["link", "show", link]).status, 0, "the veth is gone")
        XCTAssertFalse(host("/usr/sbin/nft", ["list", "table", "ip", "mdlua_" + tag]).out.contains("18931"), "the port is unpublished")
        // It starts again on the same address, with its port.
        XCTAssertEqual(md(["start", "victim"]).status, 0)
        waitForListener("victim", port: 80)
        XCTAssertEqual(host("/usr/bin/busybox", ["nc", "-w", "3", "127.0.0.1", "18931"], stdin: "x\n").out, "v\n")
        // A lease taken by a process that died before its container existed is dropped at
        // the next change of the network.
        let orphan = String(repeating: "ab", count: 32)
        XCTAssertEqual(md(["-e", "md.network.connect_new('crash', {id='\(orphan)', name='orphan'})"]).status, 0)
        XCTAssertTrue(md(["network", "inspect", "crash"]).stdout.contains(orphan))
        XCTAssertEqual(md(["run", "--rm", "--network", "crash", "busybox", "true"]).status, 0)
        XCTAssertFalse(md(["network", "inspect", "crash"]).stdout.contains(orphan), "the orphan lease was dropped")
    }

    func testBadInputIsOneLineAnd125() throws {
        XCTAssertEqual(md(["network", "create", "--subnet", "10.231.0.0/24", "one"]).status, 0)
        let cases: [([String], String)] = [
            (["network", "create", "--subnet", "10.231.0.128/25", "two"], "overlaps"),
            (["network", "create", "--subnet", "10.231.1.5/24", "three"], "invalid --subnet"),
            (["network", "create", "one"], "already exists"),
            (["run", "--rm", "--network", "one", "-p", "80:x", "busybox", "true"], "invalid --publish"),
            (["run", "--rm", "--network", "one", "--ip", "10.9.9.9", "busybox", "true"], "invalid --ip 10.9.9.9"),
            (["run", "--rm", "--network", "nope", "busybox", "true"], "no such network: nope"),
            (["network", "rm", "nope"], "no such network: nope"),
        ]
        for (args, text) in cases {
            let r = md(args)
            XCTAssertEqual(r.status, 125, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(text), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        server("user", ["--network", "one"], port: 80, reply: "u")
        let r = md(["network", "rm", "one"])
        XCTAssertEqual(r.status, 125)
        XCTAssertTrue(r.stderr.contains("active endpoints"), r.stderr)
        XCTAssertEqual(md(["ps", "-aq"]).stdout.split(separator: "\n").count, 1, "no half-made container")
    }

    /// `-o com.docker.network.driver.mtu=N` (Docker's) and `-o mtu=N` (Podman's): the bridge
    /// and both ends of every container's veth pair get it, and traffic crosses it in
    /// segments that large; a bad value makes nothing.
    func testNetworkMTUOption() throws {
        let linksBefore = NetworkLeaks.links().filter { $0.hasPrefix("md\(tag)") }
        for (value, key) in [("big", "com.docker.network.driver.mtu"), ("67", "mtu"), ("65536", "com.docker.network.driver.mtu"),
                             ("", "mtu"), ("1500.5", "mtu")] {
            let r = md(["network", "create", "-o", "\(key)=\(value)", "badmtu"])
            XCTAssertEqual(r.status, 125, "\(key)=\(value)")
            XCTAssertTrue(r.stderr.contains("invalid MTU \"\(value)\""), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertFalse(md(["network", "ls", "--format", "{{.Name}}"]).stdout.contains("badmtu"), "nothing made")
        XCTAssertEqual(NetworkLeaks.links().filter { $0.hasPrefix("md\(tag)") }, linksBefore, "no bridge made")

        XCTAssertEqual(md(["network", "create", "-o", "com.docker.network.driver.mtu=65000", "jumbo"]).status, 0)
        XCTAssertEqual(md(["network", "inspect", "-f", "{{index .Options \"com.docker.network.driver.mtu\"}}", "jumbo"]).stdout,
                       "65000\n")
        let bridge = md(["network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.name\"}}", "jumbo"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // A counter of what each connection brings, which it sends back; a sender of 256 KiB
        // on the same network.
        let id = md(["run", "-d", "--name", "counter", "--network", "jumbo", "busybox", "nc", "-ll", "-p", "7400", "-e", "wc", "-c"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        waitForListener("counter", port: 7400)
        let r = md(["run", "--rm", "--network", "jumbo", "busybox", "sh", "-c",
                    "cat /sys/class/net/eth0/mtu; dd if=/dev/zero bs=1k count=256 2>/dev/null | nc \(address("counter", on: "jumbo")) 7400"])
        XCTAssertEqual(r.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }, ["65000", "262144"],
                       r.stderr)
        XCTAssertEqual(md(["exec", "counter", "cat", "/sys/class/net/eth0/mtu"]).stdout, "65000\n")
        let hostEnd = "vm" + id.prefix(11) + "0"
        for link in [bridge, hostEnd] {
            XCTAssertEqual(try String(contentsOfFile: "/sys/class/net/\(link)/mtu", encoding: .utf8), "65000\n", link)
        }
        // Podman's name for it, shown under Docker's; from Lua, the field mtu.
        XCTAssertEqual(md(["network", "create", "-o", "mtu=9000", "pod"]).status, 0)
        XCTAssertEqual(md(["network", "inspect", "-f", "{{json .Options}}", "pod"]).stdout.contains(
            "\"com.docker.network.driver.mtu\":\"9000\""), true)
        XCTAssertEqual(md(["run", "--rm", "--network", "pod", "busybox", "cat", "/sys/class/net/eth0/mtu"]).stdout, "9000\n")
        let lua = md(["-e", """
            local n = md.network.create{name="luamtu", mtu=9216}
            print(n.mtu, md.network.get("luamtu").mtu, md.network.get("bridge").mtu)
            local ok, err = pcall(md.network.create, {name="luabad", mtu=40})
            print(ok, err.code, err.message)
            n:rm()
            """])
        XCTAssertEqual(lua.stdout, "9216\t9216\t1500\nfalse\tengine\tmd.network.create: invalid MTU \"40\" "
                       + "(-o com.docker.network.driver.mtu): expected a number from 68 to 65535\n", lua.stderr)
        // The default network keeps the kernel's 1500.
        XCTAssertEqual(md(["run", "--rm", "busybox", "cat", "/sys/class/net/eth0/mtu"]).stdout, "1500\n")
    }

    func testLuaAPI() throws {
        let script = """
        local net = md.network.create{name="lua", labels={team="x"}}
        assert(md.network.get("lua").id == net.id)
        local names = {}
        for _, n in ipairs(md.network.list()) do names[#names + 1] = n.name end
        assert(table.concat(names, ","):find("lua"), table.concat(names, ","))
        local c = md.container.create{image="busybox", cmd={"sleep", "30"}, network="lua", ports={"127.0.0.1:18941:80"}}
        local e = c:networks()[1]
        assert(e.network == "lua" and e.ip:match("^%d+%.%d+%.%d+%.%d+$"), e.ip)
        assert(c:ports()[1].host_port == 18941)
        local other = md.container.create{image="busybox", cmd={"true"}}
        net:connect(other, {aliases={"buddy"}})
        -- On the default network too (eth0): the second network is eth1.
        local on = other:networks()
        assert(#on == 2 and on[1].network == "bridge" and on[2].network == "lua" and on[2].interface == "eth1")
        assert(on[2].aliases[1] == "buddy")
        net:disconnect(other)
        local ok, err = pcall(net.rm, net)
        assert(not ok and err.code == "conflict", tostring(err and err.message))
        c:rm{force=true}
        other:rm{force=true}
        net:rm()
        local r = md.run{image="busybox", cmd={"ip", "route"}, network="bridge", capture=true, rm=true}
        assert(r.stdout:find("default via"), r.stdout)
        print("ok")
        """
        let r = md(["-e", script])
        XCTAssertEqual(r.stdout, "ok\n", r.stderr)
    }

    // MARK: - The default network, modes, hot-plugging

    /// The address of a container on a network.
    func address(_ name: String, on network: String = "bridge") -> String {
        md(["inspect", "-f", "{{.NetworkSettings.Networks.\(network).IPAddress}}", name]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testRunWithoutNetworkIsOnTheDefaultBridge() throws {
        // No --network: the default network, its bridge named after the root.
        let r = md(["run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0; ip route; cat /etc/hosts"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("inet 10."), r.stdout)
        XCTAssertTrue(r.stdout.contains("default via"), r.stdout)
        server("one", [], port: 7200, reply: "from-one")
        waitForListener("one", port: 7200)
        XCTAssertEqual(md(["inspect", "-f", "{{.HostConfig.NetworkMode}}", "one"]).stdout, "bridge\n")
        let bridge = md(["network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.name\"}}", "bridge"]).stdout
        XCTAssertEqual(bridge, "md\(tag)0\n")
        XCTAssertTrue(NetworkLeaks.links().contains("md\(tag)0"))
        XCTAssertEqual(try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8), "1\n")
        // By address, yes; by name, no (Docker's rule for the default network).
        XCTAssertEqual(request([], address("one"), 7200), "from-one\n")
        // (No query leaves the host in a test: what would answer is checked instead. The
        // default network has no DNS server of its own, so resolv.conf names the host's.)
        XCTAssertEqual(md(["-e", "print(md.network.get('bridge').dns)"]).stdout, "false\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/networks/aardvark/bridge"))
        let gateway = md(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(gateway.isEmpty)
        let resolv = md(["run", "--rm", "busybox", "cat", "/etc/resolv.conf", "/etc/hosts"]).stdout
        XCTAssertFalse(resolv.contains("nameserver " + gateway), resolv)
        XCTAssertFalse(resolv.contains(address("one")), resolv)
        // none: lo only; host: the host's links.
        XCTAssertEqual(md(["run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net"]).stdout, "lo\n")
        XCTAssertTrue(md(["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]).stdout.contains("md\(tag)0"))
        // network ls shows the three predefined networks, and rm refuses them.
        let ls = md(["network", "ls", "--format", "{{.Name}} {{.Driver}}"]).stdout
        XCTAssertEqual(ls, "bridge bridge\nhost host\nnone null\n")
        for name in ["bridge", "host", "none"] {
            let rm = md(["network", "rm", name])
            XCTAssertNotEqual(rm.status, 0)
            XCTAssertTrue(rm.stderr.contains("\(name) is a pre-defined network"), rm.stderr)
        }
        XCTAssertEqual(md(["network", "inspect", "-f", "{{.Driver}}", "none"]).stdout, "null\n")
        // The bridge goes with the last lease (no container left of this root).
        XCTAssertEqual(md(["rm", "-f", "one"]).status, 0)
        XCTAssertFalse(NetworkLeaks.links().contains("md\(tag)0"), "the default bridge stays without containers")
    }

    func testTwoRootsHaveTheirOwnDefaultBridgesAndSubnets() throws {
        let other = dir.appendingPathComponent("other").path
        XCTAssertEqual(MDLuaBinary.run(["--root", other, "image", "bootstrap", "busybox"]).status, 0)
        server("here", [], port: 7300, reply: "here")
        let there = MDLuaBinary.run(["--root", other, "run", "-d", "--name", "there", "busybox", "sh", "-c",
                                     "while true; do echo there | nc -l -p 7300 >/dev/null; done"])
        XCTAssertEqual(there.status, 0, there.stderr)
        defer { _ = MDLuaBinary.run(["--root", other, "rm", "-f", "there"]) }
        let subnet = { (root: String) -> String in
            MDLuaBinary.run(["--root", root, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{index .Options \"com.docker.network.bridge.name\"}}",
                             "bridge"]).stdout
        }
        let a = subnet(root), b = subnet(other)
        XCTAssertNotEqual(a.split(separator: " ").first, b.split(separator: " ").first, "\(a) \(b)")
        XCTAssertEqual(b, subnet(other))
        XCTAssertTrue(b.hasSuffix("md\(NetworkLeaks.tag(other))0\n"), b)
        // Each container reaches its own; both answer.
        waitForListener("here", port: 7300)
        XCTAssertEqual(request([], address("here"), 7300), "here\n")
        let thereIP = MDLuaBinary.run(["--root", other, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "there"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var got = ""
        for _ in 0..<50 where got.isEmpty {
            got = MDLuaBinary.run(["--root", other, "run", "--rm", "busybox", "sh", "-c", "echo | nc -w 3 \(thereIP) 7300"]).stdout
            if got.isEmpty { usleep(100_000) }
        }
        XCTAssertEqual(got, "there\n")
    }

    func testAPortPublishedByAnotherRootIsTaken() throws {
        let other = dir.appendingPathComponent("other").path
        XCTAssertEqual(MDLuaBinary.run(["--root", other, "image", "bootstrap", "busybox"]).status, 0)
        let first = MDLuaBinary.run(["--root", other, "run", "-d", "--name", "holder", "-p", "18951:80", "-p", "18952:53/udp",
                                     "busybox", "sleep", "60"])
        XCTAssertEqual(first.status, 0, first.stderr)
        defer { _ = MDLuaBinary.run(["--root", other, "rm", "-f", "holder"]) }
        for (flag, port) in [("18951:80", "18951"), ("127.0.0.1:18951:80", "18951"), ("18952:53/udp", "18952")] {
            let r = md(["run", "--rm", "-p", flag, "busybox", "true"])
            XCTAssertEqual(r.status, 125, flag)
            XCTAssertTrue(r.stderr.contains("port is already allocated") && r.stderr.contains(port), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "nothing half-made")
        // Any other program's bind() fails too while it runs; after it, the port is free.
        let probe = host("/usr/bin/python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 18951))"])
        XCTAssertNotEqual(probe.status, 0, "a program could bind the published port")
        XCTAssertEqual(MDLuaBinary.run(["--root", other, "rm", "-f", "holder"]).status, 0)
        XCTAssertEqual(md(["run", "--rm", "-p", "18951:80", "busybox", "true"]).status, 0)
    }

    func testContainerNetworkModeSharesTheNamespace() throws {
        server("base", ["-h", "basehost"], port: 7400, reply: "shared")
        waitForListener("base", port: 7400)
        let id = md(["inspect", "-f", "{{.Id}}", "base"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Its loopback is the other's, and so are its address, host name and /etc/hosts.
        let r = md(["run", "--rm", "--network", "container:base", "busybox", "sh", "-c",
                    "echo | nc -w 3 127.0.0.1 7400; hostname; ip -4 -o addr show eth0 | wc -l; grep -c basehost /etc/hosts"])
        XCTAssertEqual(r.stdout, "shared\nbasehost\n1\n1\n", r.stderr)
        XCTAssertEqual(md(["create", "--name", "joiner", "--network", "container:base", "busybox", "true"]).status, 0)
        XCTAssertEqual(md(["inspect", "-f", "{{.HostConfig.NetworkMode}}", "joiner"]).stdout, "container:\(id)\n")
        // Docker's conflicts, and a target that is missing or stopped: one line, 125.
        for (args, text) in [(["-p", "80"], "port publishing"), (["--hostname", "h"], "hostname"), (["--dns", "1.1.1.1"], "dns"),
                             (["--add-host", "a:1.2.3.4"], "host-to-IP"), (["--ip", "10.1.1.1"], "--ip")] {
            let bad = md(["run", "--rm", "--network", "container:base"] + args + ["busybox", "true"])
            XCTAssertEqual(bad.status, 125, "\(args)")
            XCTAssertTrue(bad.stderr.contains("conflicting options") && bad.stderr.contains(text), bad.stderr)
            XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        }
        let missing = md(["run", "--rm", "--network", "container:nosuch", "busybox", "true"])
        XCTAssertEqual(missing.status, 125)
        XCTAssertTrue(missing.stderr.contains("nosuch"), missing.stderr)
        XCTAssertEqual(md(["create", "--name", "stopped", "busybox", "true"]).status, 0)
        let stopped = md(["run", "--rm", "--network", "container:stopped", "busybox", "true"])
        XCTAssertEqual(stopped.status, 125)
        XCTAssertTrue(stopped.stderr.contains("non running container: stopped"), stopped.stderr)
        // A joiner outliving the container it joined: the other's veth goes at its exit all the same.
        let baseID = id
        XCTAssertEqual(md(["run", "-d", "--name", "long", "--network", "container:base", "busybox", "sleep", "60"]).status, 0)
        XCTAssertEqual(md(["stop", "-t", "0", "base"]).status, 0)
        XCTAssertFalse(NetworkLeaks.links().contains { $0.hasPrefix("vm" + baseID.prefix(11)) }, "the joined container's veth")
    }

    func testConnectAndDisconnectARunningContainer() throws {
        XCTAssertEqual(md(["network", "create", "--dns", "127.0.0.1", "hot"]).status, 0)
        server("svc", ["--network", "hot"], port: 7500, reply: "hot-svc")
        waitForListener("svc", port: 7500)
        XCTAssertEqual(md(["run", "-d", "--name", "late", "busybox", "sleep", "60"]).status, 0)
        let lateID = md(["inspect", "-f", "{{.Id}}", "late"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Before: no way to the other network.
        let svc = address("svc", on: "hot")
        XCTAssertEqual(md(["exec", "late", "sh", "-c", "echo | nc -w 2 \(svc) 7500"]).stdout, "")
        let c = md(["network", "connect", "--alias", "latecomer", "hot", "late"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let eth1 = md(["exec", "late", "ip", "-4", "-o", "addr", "show", "eth1"]).stdout
        XCTAssertTrue(eth1.contains("inet " + address("late", on: "hot") + "/"), eth1)
        XCTAssertEqual(md(["exec", "late", "sh", "-c", "echo | nc -w 3 \(svc) 7500"]).stdout, "hot-svc\n")
        // Its name and alias resolve on that network at once.
        let look = md(["exec", "svc", "sh", "-c", "nslookup late; nslookup latecomer"])
        XCTAssertEqual(look.stdout.components(separatedBy: "Address: " + address("late", on: "hot")).count, 3, look.stdout)
        // Disconnected: the link goes at once, the lease and the name with it.
        XCTAssertEqual(md(["network", "disconnect", "hot", "late"]).status, 0)
        XCTAssertEqual(md(["exec", "late", "ls", "/sys/class/net"]).stdout, "eth0\nlo\n")
        XCTAssertFalse(NetworkLeaks.links().contains("vm" + lateID.prefix(11) + "1"))
        XCTAssertFalse(md(["network", "inspect", "hot"]).stdout.contains(lateID))
        // Connected again, then stopped and started: the start attaches it as eth1 again.
        XCTAssertEqual(md(["network", "connect", "hot", "late"]).status, 0)
        XCTAssertEqual(md(["restart", "-t", "0", "late"]).status, 0)
        XCTAssertEqual(md(["exec", "late", "sh", "-c", "echo | nc -w 3 \(svc) 7500"]).stdout, "hot-svc\n")
        // Modes that have no network of their own cannot be connected.
        XCTAssertEqual(md(["run", "-d", "--name", "alone", "--network", "none", "busybox", "sleep", "60"]).status, 0)
        let none = md(["network", "connect", "hot", "alone"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("--network none"), none.stderr)
    }

    /// A container started on the default network and connected to a user network later
    /// resolves that network's names (its resolv.conf now names the network's DNS server,
    /// as Docker's resolver takes over then); disconnected, it has the host's servers again.
    func testHotConnectedContainerResolvesTheNewNetworksNames() throws {
        XCTAssertEqual(md(["network", "create", "--dns", "127.0.0.1", "names"]).status, 0)
        let gateway = md(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "names"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(md(["run", "-d", "--name", "web", "--network", "names", "busybox", "sleep", "60"]).status, 0)
        XCTAssertEqual(md(["run", "-d", "--name", "late", "--dns-option", "ndots:1", "busybox", "sleep", "60"]).status, 0)
        let before = md(["exec", "late", "cat", "/etc/resolv.conf"]).stdout
        XCTAssertFalse(before.contains("nameserver " + gateway), before)
        let c = md(["network", "connect", "names", "late"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let after = md(["exec", "late", "cat", "/etc/resolv.conf"]).stdout
        let servers = after.split(separator: "\n").filter { $0.hasPrefix("nameserver ") }
        XCTAssertEqual(servers, ["nameserver " + gateway], after)
        XCTAssertTrue(after.contains("options ndots:1"), "its --dns-option stays: \(after)")
        XCTAssertEqual(md(["inspect", "-f", "{{.HostConfig.DnsOptions}}", "late"]).stdout, "[ndots:1]\n")
        // (Only asked through the network's server: without it the query would leave the machine.)
        guard servers == ["nameserver " + gateway] else { return }
        let look = md(["exec", "late", "nslookup", "web"])
        XCTAssertTrue(look.stdout.contains("Address: " + address("web", on: "names")), look.stdout + look.stderr)
        // Disconnected: the servers of the default network again.
        XCTAssertEqual(md(["network", "disconnect", "names", "late"]).status, 0)
        XCTAssertEqual(md(["exec", "late", "cat", "/etc/resolv.conf"]).stdout, before)
    }
}
