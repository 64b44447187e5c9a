import Foundation
import XCTest

/// Compose parity: the same Compose files brought up by `mdlua up -d` and by `podman-compose
/// up -d`, compared where it matters: which containers there are and how they run or exited,
/// their environment (`environment`, `env_file`, `.env` interpolation), command, working
/// directory, user and labels, the ports published on 127.0.0.1 and what answers there,
/// service names resolving on the stack's networks, the order dependencies started in, and
/// what `down` leaves. Each side has its own project name; podman has its own root, run
/// root, network configuration and tmp dir under the test's directory, runc (crun refuses
/// this machine's hybrid cgroup layout), and the busybox image from `mdlua save`.
final class StackParityTests: ContainerTestCase {
    var podmanDir: String { dir.appendingPathComponent("podman").path }
    var podmanArgs: [String] {
        ["--root", podmanDir + "/root", "--runroot", podmanDir + "/run", "--storage-driver", "overlay",
         "--network-config-dir", podmanDir + "/net", "--tmpdir", podmanDir + "/tmp", "--runtime", "runc",
         "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    }
    var suffix: String { String(dir.lastPathComponent.suffix(6)).lowercased().filter { $0.isLetter || $0.isNumber } }
    var mine: String { "pm" + suffix }
    var theirs: String { "pp" + suffix }
    /// The environment of both sides: what the Compose files read from it, and podman's
    /// settings for this host (docs/design.md, "Running the peers here").
    var environment: [String: String] {
        ["CONTAINERS_CONF": podmanDir + "/containers.conf", "FROM_HOST": "host value", "BARE_FROM_HOST": "bare value"]
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        for tool in ["/usr/bin/podman", "/usr/bin/podman-compose", "/usr/sbin/runc", "/usr/bin/busybox"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else {
                XCTFail("\(tool) is missing: scripts/install-deps.sh installs it")
                throw CocoaError(.fileNoSuchFile)
            }
        }
        try FileManager.default.createDirectory(atPath: podmanDir + "/net", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: podmanDir + "/tmp", withIntermediateDirectories: true)
        try Data("""
            [containers]
            default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "none"

            """.utf8).write(to: URL(fileURLWithPath: podmanDir + "/containers.conf"))
        let chainsBefore = portChains()
        let tablesBefore = NetavarkTables.current()
        addTeardownBlock { [unowned self] in
            removePodmanState(chainsBefore: chainsBefore)
            NetavarkTables.removeSkeletons(before: tablesBefore)
        }
        let archive = podmanDir + "/busybox.tar"
        XCTAssertEqual(md(["save", "-o", archive, "busybox"]).status, 0)
        let load = podman(["load", "-q", "-i", archive])
        XCTAssertEqual(load.status, 0, load.err)
    }

    /// netavark's per-container port chains in the nat table. netavark 1.4 empties them when
    /// a container goes but leaves them.
    func portChains() -> Set<String> {
        let rules = tool("/usr/sbin/iptables", ["-t", "nat", "-S"]).out
        return Set(rules.split(separator: "\n").filter { $0.hasPrefix("-N NETAVARK-DN-") }.map { String($0.dropFirst(3)) })
    }

    /// Everything podman made, whatever a test left: containers, pods, networks (podman-compose
    /// 1.0.3's `down` leaves its networks), storage, the port chains netavark left; then no
    /// process of its root may remain.
    func removePodmanState(chainsBefore: Set<String>) {
        podman(["rm", "-af", "-t", "0"])
        podman(["pod", "rm", "-af"])
        for net in podman(["network", "ls", "-q", "--filter", "label=io.podman.compose.project"]).out.split(separator: "\n") {
            podman(["network", "rm", "-f", String(net)])
        }
        let reset = podman(["system", "reset", "-f"])
        XCTAssertEqual(reset.status, 0, reset.err)
        // Only an empty chain that nothing jumps to can go: one of another podman in use stays.
        for chain in portChains().subtracting(chainsBefore) { tool("/usr/sbin/iptables", ["-t", "nat", "-X", chain]) }
        XCTAssertEqual(portChains().subtracting(chainsBefore), [], "netavark's port chains are removed")
        var left = podmanProcesses()
        for _ in 0..<50 where left > 0 {
            usleep(100_000)
            left = podmanProcesses()
        }
        XCTAssertEqual(left, 0, "a conmon or another process of podman's root is left behind")
    }

    func podmanProcesses() -> Int {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.filter { Int($0) != nil }.filter { pid in
            let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return cmd.contains(podmanDir) && !stat.contains(") Z ")
        }.count
    }

    /// A host tool: status and output. Input from /dev/null.
    @discardableResult
    func tool(_ path: String, _ args: [String], cwd: String? = nil) -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MDLUA_") }
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        // stderr to a file: a tool that fills one pipe while this reads the other would hang.
        let errPath = dir.appendingPathComponent("stderr-\(UUID().uuidString.prefix(8))").path
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: errPath)
        p.standardInput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return (-1, "", "cannot start \(path)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let e = FileManager.default.contents(atPath: errPath) ?? Data()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @discardableResult
    func podman(_ args: [String]) -> (status: Int32, out: String, err: String) {
        tool("/usr/bin/podman", podmanArgs + args)
    }

    @discardableResult
    func podmanCompose(_ file: String, _ args: [String]) -> (status: Int32, out: String, err: String) {
        tool("/usr/bin/podman-compose", ["--podman-args", podmanArgs.joined(separator: " "), "-p", theirs, "-f", file] + args,
             cwd: dir.path)
    }

    @discardableResult
    func mdlua(_ args: [String]) -> (status: Int32, out: String, err: String) {
        tool(MDLuaBinary.path, ["--root", root] + args, cwd: dir.path)
    }

    func write(_ text: String, _ name: String) -> String {
        let path = dir.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// What a container is, as both engines' `inspect` say it (Docker's format), without what
    /// differs by design: names (PROJECT-SERVICE-N and PROJECT_SERVICE_N), the engines' own
    /// labels, the variables an engine adds (podman: HOME, TERM, HOSTNAME, container).
    struct Seen: Equatable, CustomStringConvertible {
        var state: String
        var command: [String]
        var env: [String]
        var workdir: String
        var user: String
        var labels: [String: String]
        var ports: [String]
        var description: String { "\(state) \(command) env=\(env) workdir=\(workdir) user=\(user) labels=\(labels) ports=\(ports)" }
    }

    /// The containers of a side by "SERVICE-N", and when each started (seconds).
    func inspect(_ inspectJSON: String, file: StaticString = #filePath, line: UInt = #line)
        -> (seen: [String: Seen], started: [String: Double]) {
        guard let list = try? JSONSerialization.jsonObject(with: Data(inspectJSON.utf8)) as? [[String: Any]] else {
            XCTFail("inspect's output is not a JSON list: \(inspectJSON)", file: file, line: line)
            return ([:], [:])
        }
        var seen: [String: Seen] = [:], started: [String: Double] = [:]
        let added: Set<String> = ["HOME", "TERM", "HOSTNAME", "container"]
        for c in list {
            let config = c["Config"] as? [String: Any] ?? [:]
            let state = c["State"] as? [String: Any] ?? [:]
            let labels = config["Labels"] as? [String: String] ?? [:]
            let key = "\(labels["com.docker.compose.service"] ?? "?")-\(labels["com.docker.compose.container-number"] ?? "?")"
            let status = state["Status"] as? String ?? "?"
            let env = (config["Env"] as? [String] ?? []).filter { !added.contains(String($0.split(separator: "=").first ?? "")) }
            var ports: [String] = []
            let settings = c["NetworkSettings"] as? [String: Any] ?? [:]
            for (port, bindings) in settings["Ports"] as? [String: Any] ?? [:] {
                for b in bindings as? [[String: String]] ?? [] {
                    ports.append("\(b["HostIp"] ?? ""):\(b["HostPort"] ?? "")->\(port)")
                }
            }
            let workdir = config["WorkingDir"] as? String ?? ""
            seen[key] = Seen(
                state: status == "exited" ? "exited (\(state["ExitCode"] as? Int ?? -1))" : status,
                command: [c["Path"] as? String ?? ""] + (c["Args"] as? [String] ?? []),
                env: env.sorted(), workdir: workdir.isEmpty ? "/" : workdir, user: config["User"] as? String ?? "",
                labels: labels.filter { !$0.key.hasPrefix("com.docker.compose.") && !$0.key.hasPrefix("io.podman.") },
                ports: ports.sorted())
            started[key] = seconds(state["StartedAt"] as? String ?? "")
        }
        return (seen, started)
    }

    /// "2026-12-03T16:49:45.520590894Z" (or with an offset) as seconds since the epoch.
    func seconds(_ time: String) -> Double {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        guard time.count >= 19, let date = f.date(from: String(time.prefix(19))) else { return -1 }
        var rest = time.dropFirst(19)
        var fraction = 0.0
        if rest.hasPrefix(".") {
            let digits = rest.dropFirst().prefix { $0.isNumber }
            fraction = Double("0." + digits) ?? 0
            rest = rest.dropFirst(1 + digits.count)
        }
        var offset = 0.0
        if let sign = rest.first, sign == "+" || sign == "-" {
            let hm = rest.dropFirst().split(separator: ":").compactMap { Double($0) }
            if hm.count == 2 { offset = (hm[0] * 3600 + hm[1] * 60) * (sign == "+" ? 1 : -1) }
        }
        return date.timeIntervalSince1970 + fraction - offset
    }

    /// A GET of / through 127.0.0.1:port from the host, the body once it answers.
    func body(port: Int) -> String {
        var reply = ""
        for _ in 0..<50 {
            reply = tool("/usr/bin/busybox", ["sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 127.0.0.1 \(port)"]).out
            if let r = reply.range(of: "\r\n\r\n") { return String(reply[r.upperBound...]) }
            usleep(100_000)
        }
        return "no answer on 127.0.0.1:\(port): \(reply)"
    }

    /// One side's view of a stack brought up: its containers, the dependency order kept, the
    /// bodies served on published ports and the results of `probes` run in containers.
    struct Side {
        var seen: [String: Seen] = [:]
        var orderKept: [String: Bool] = [:]
        var bodies: [Int: String] = [:]
        var probes: [String] = []
    }

    /// Brings `file` up on one side, looks, and brings it down; `dependencies`: (service,
    /// what it depends on); `probes`: (container key "SERVICE-N", shell command) whose
    /// output is compared.
    func side(_ engine: String, _ file: String, dependencies: [(String, String)], ports: [Int],
              probes: [(String, String)], file callerFile: StaticString = #filePath, line: UInt = #line) -> Side {
        let project = engine == "mdlua" ? mine : theirs
        let up = engine == "mdlua" ? mdlua(["up", "-d", "-f", file, "-p", project]) : podmanCompose(file, ["up", "-d"])
        XCTAssertEqual(up.status, 0, "\(engine) up: \(up.err)", file: callerFile, line: line)
        let filter = ["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project)"]
        let ids = (engine == "mdlua" ? mdlua(filter) : podman(filter)).out.split(separator: "\n").map(String.init)
        let json = engine == "mdlua" ? mdlua(["inspect"] + ids).out : podman(["inspect"] + ids).out
        let (seen, started) = inspect(json, file: callerFile, line: line)
        var result = Side(seen: seen)
        for (service, dependency) in dependencies {
            let a = started["\(service)-1"] ?? -1, b = started["\(dependency)-1"] ?? -1
            result.orderKept["\(service) after \(dependency)"] = a > 0 && b > 0 && a >= b
        }
        for port in ports { result.bodies[port] = body(port: port) }
        for (key, command) in probes {
            let name = engine == "mdlua" ? "\(project)-\(key)" : "\(project)_\(key.replacingOccurrences(of: "-", with: "_"))"
            let r = engine == "mdlua" ? mdlua(["exec", name, "sh", "-c", command]) : podman(["exec", name, "sh", "-c", command])
            result.probes.append("\(key): \(command) -> \(r.status) \(r.out)")
        }
        let down = engine == "mdlua" ? mdlua(["down", "-t", "0", "-f", file, "-p", project])
                                     : podmanCompose(file, ["down", "-t", "0"])
        XCTAssertEqual(down.status, 0, "\(engine) down: \(down.err)", file: callerFile, line: line)
        let left = (engine == "mdlua" ? mdlua(filter) : podman(filter)).out
        XCTAssertEqual(left, "", "\(engine) down leaves no container", file: callerFile, line: line)
        return result
    }

    func compare(_ file: String, dependencies: [(String, String)], ports: [Int] = [], probes: [(String, String)] = [],
                 expect: [String: String], line: UInt = #line) {
        let a = side("mdlua", file, dependencies: dependencies, ports: ports, probes: probes, line: line)
        XCTAssertEqual(mdlua(["network", "ls"]).out.contains(mine), false, "mdlua down removes the stack's networks")
        let b = side("podman-compose", file, dependencies: dependencies, ports: ports, probes: probes, line: line)
        XCTAssertEqual(podman(["pod", "ls", "-q"]).out, "", "podman-compose down leaves no pod")
        XCTAssertEqual(Set(a.seen.keys), Set(b.seen.keys), line: line)
        for key in a.seen.keys.sorted() {
            XCTAssertEqual(a.seen[key], b.seen[key], "\(key): mdlua, then podman-compose", line: line)
        }
        for (key, state) in expect { XCTAssertEqual(a.seen[key]?.state, state, key, line: line) }
        XCTAssertEqual(a.orderKept, b.orderKept, line: line)
        XCTAssertFalse(a.orderKept.values.contains(false), "\(a.orderKept)", line: line)
        XCTAssertEqual(a.bodies, b.bodies, line: line)
        XCTAssertEqual(a.probes, b.probes, line: line)
    }

    /// Services with the common fields: environment as a map and a list, a variable with no
    /// value, env_file (a bare name, quotes as written), `.env` interpolation with a default,
    /// `$$`, command as a string and a list, entrypoint, working_dir, user, labels, ports in
    /// the short and the long form on 127.0.0.1, depends_on in both forms, replicas.
    func testServicesEnvironmentCommandsPortsAndOrder() {
        _ = write("WEB_PORT=18471\nGREETING=\"hi there\" # from .env\n", ".env")
        _ = write("# the web service\nFROM_FILE=file value\nQUOTED=\"as written\"\n  BARE_FROM_HOST\n", "web.env")
        let file = write("""
            services:
              db:
                image: busybox
                command: ["sh", "-c", "exec sleep 600"]
                environment:
                  ROLE: database
                  GREETING: ${GREETING:-hello}
                  DEFAULTED: ${NOT_SET_ANYWHERE:-fallback}
                  FROM_HOST:
                labels:
                  tier: data
              migrate:
                image: busybox
                command: sh -c 'echo "$$ROLE migrated"; exit 0'
                environment: [ROLE=migrate]
                depends_on:
                  db: {condition: service_started}
              web:
                image: busybox
                entrypoint: ["sh", "-c"]
                command: ["mkdir -p /www && echo $$ROLE $$FROM_FILE > /www/index.html && exec httpd -f -p 8080 -h /www"]
                working_dir: /tmp
                user: "0:0"
                env_file: [web.env]
                environment:
                  - ROLE=web
                labels: [tier=front]
                ports:
                  - "127.0.0.1:${WEB_PORT}:8080"
                  - {target: 8081, published: 18472, host_ip: 127.0.0.1}
                depends_on: [db, migrate]
              worker:
                image: busybox
                command: ["sleep", "600"]
                deploy: {replicas: 2}
                depends_on: [web]
            """, "compose.yaml")
        compare(file, dependencies: [("migrate", "db"), ("web", "db"), ("web", "migrate"), ("worker", "web")],
                ports: [18471],
                probes: [("worker-1", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 8080 | tail -1"),
                         ("worker-2", "nslookup db >/dev/null && echo db resolves")],
                expect: ["db-1": "running", "migrate-1": "exited (0)", "web-1": "running", "worker-2": "running"])
    }

    /// Declared networks: a service on two of them reaches the others by their service names
    /// on each. (No lookup of a name that is not there: it would go to the host's resolvers.)
    func testNetworksSeparateServices() {
        let file = write("""
            services:
              api:
                image: busybox
                command: ["sh", "-c", "mkdir -p /www && echo api > /www/index.html && exec httpd -f -p 8080 -h /www"]
                networks: [back]
              proxy:
                image: busybox
                command: ["sleep", "600"]
                networks: [front, back]
                depends_on: [api]
              client:
                image: busybox
                command: ["sleep", "600"]
                networks: [front]
                depends_on: [proxy]
            networks:
              front: {}
              back: {}
            """, "networks.yaml")
        compare(file, dependencies: [("proxy", "api"), ("client", "proxy")],
                probes: [("proxy-1", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 api 8080 | tail -1"),
                         ("client-1", "nslookup proxy >/dev/null && echo proxy resolves")],
                expect: ["api-1": "running", "proxy-1": "running", "client-1": "running"])
    }
}
