import Foundation
import XCTest

/// Stacks with real containers (docs/stacks.md): health-ordered start, names resolving
/// between services, idempotent `up`, one service recreated when only it changed, scale,
/// `down` leaving nothing, a killed `up` converging, Compose files, and `mdlua kube` output
/// validated against the Kubernetes schemas. Each test has its own state root and project.
final class StackTests: ContainerTestCase {
    var project: String { "st" + String(dir.lastPathComponent.suffix(6)).lowercased().filter { $0.isLetter || $0.isNumber } }

    func write(_ text: String, _ name: String) -> String {
        let path = dir.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// A database that turns healthy after a delay, a web server, and a worker whose message
    /// comes from the environment (so that a change to it changes the worker only).
    func threeServices(message: String = "hello") -> String {
        write("""
            local msg = os.getenv("STACK_MESSAGE") or "\(message)"
            return md.stack {
              services = {
                db = { image = "busybox", command = { "sh", "-c", "sleep 1; touch /ready; exec sleep 600" },
                       healthcheck = { test = "test -f /ready", interval = "300ms", retries = 40 } },
                worker = { image = "busybox", depends_on = { "db" },
                           command = { "sh", "-c", "echo " .. msg .. "; exec sleep 600" } },
                web = { image = "busybox", depends_on = { "db" },
                        command = { "sh", "-c", "mkdir -p /www; echo hello > /www/index.html; exec httpd -f -p 80 -h /www" } },
              },
            }
            """, "stack.lua")
    }

    func ids() -> [String: String] {
        let out = md(["ps", "-a", "--format", "{{.Names}} {{.ID}}"]).stdout
        var m: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let p = line.split(separator: " ")
            if p.count == 2 { m[String(p[0])] = String(p[1]) }
        }
        return m
    }

    func testUpWaitsForHealthNamesResolveAndUpIsIdempotent() {
        let file = threeServices()
        let up = md(["up", "-d", "-f", file, "-p", project])
        XCTAssertEqual(up.status, 0, up.stderr)
        // web and worker started only once db was healthy.
        let health = md(["inspect", "-f", "{{.State.Health.Status}}", "\(project)-db-1"]).stdout
        XCTAssertEqual(health, "healthy\n")
        let dbHealthy = md(["-e", """
            local c = md.container.get("\(project)-db-1")
            local log = c.health.Log
            for _, e in ipairs(log) do if e.ExitCode == 0 then print(e.End) break end end
            """]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for s in ["web", "worker"] {
            let started = md(["inspect", "-f", "{{.State.StartedAt}}", "\(project)-\(s)-1"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertGreaterThanOrEqual(started, String(dbHealthy.prefix(started.count)), "\(s) started after db was healthy")
        }
        // The worker reaches the web server by its service name (busybox nc: its static wget
        // cannot look names up).
        var page = ""
        for _ in 0..<50 {
            page = md(["stack", "exec", "-f", file, "-p", project, "worker", "sh", "-c",
                       "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 80"]).stdout
            if page.hasSuffix("\r\n\r\nhello\n") { break }
            usleep(100_000)
        }
        XCTAssertTrue(page.hasPrefix("HTTP/1.") && page.hasSuffix("\r\n\r\nhello\n"), page)
        let before = ids()
        XCTAssertEqual(before.count, 3, "\(before)")
        // A second up changes nothing.
        XCTAssertEqual(md(["up", "-d", "-f", file, "-p", project]).status, 0)
        XCTAssertEqual(ids(), before)
        // A change to the worker recreates the worker only.
        let changed = MDLuaBinary.run(["--root", root, "up", "-d", "-f", file, "-p", project], env: ["STACK_MESSAGE": "bye"])
        XCTAssertEqual(changed.status, 0, changed.stderr)
        let after = ids()
        XCTAssertEqual(after["\(project)-db-1"], before["\(project)-db-1"])
        XCTAssertEqual(after["\(project)-web-1"], before["\(project)-web-1"])
        XCTAssertNotEqual(after["\(project)-worker-1"], before["\(project)-worker-1"])
        // Scale adds and removes replicas.
        XCTAssertEqual(md(["stack", "scale", "-f", file, "-p", project, "web=2"]).status, 0)
        XCTAssertNotNil(ids()["\(project)-web-2"])
        XCTAssertEqual(md(["stack", "scale", "-f", file, "-p", project, "web=1"]).status, 0)
        XCTAssertNil(ids()["\(project)-web-2"])
        let ps = md(["stack", "ps", "-f", file, "-p", project]).stdout
        XCTAssertTrue(ps.hasPrefix("NAME") && ps.contains("\(project)-web-1") && ps.contains("Up"), ps)
        // down -v leaves no container or network of the stack.
        XCTAssertEqual(md(["down", "-v", "-f", file, "-p", project]).status, 0)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
        XCTAssertFalse(md(["network", "ls"]).stdout.contains(project), md(["network", "ls"]).stdout)
    }

    func testUnhealthyDependencyFailsUpWithItsOutput() {
        let file = write("""
            return { services = {
              db = { image = "busybox", command = { "sleep", "600" },
                     healthcheck = { test = { "CMD-SHELL", "echo not ready; exit 1" }, interval = "200ms", retries = 2 } },
              web = { image = "busybox", command = { "sleep", "600" }, depends_on = { db = "healthy" } },
            } }
            """, "stack.lua")
        let up = md(["up", "-d", "-f", file, "-p", project])
        XCTAssertEqual(up.status, 125)
        XCTAssertTrue(up.stderr.contains("service db is unhealthy: not ready"), up.stderr)
        XCTAssertEqual(ids()["\(project)-web-1"], nil, "web was not started")
        XCTAssertEqual(md(["down", "-f", file, "-p", project]).status, 0)
    }

    func testBadStacksAreOneLineErrors() {
        let cycle = write("""
            return { services = { a = { image = "busybox", depends_on = { "b" } }, b = { image = "busybox", depends_on = { "a" } } } }
            """, "cycle.lua")
        let r = md(["up", "-d", "-f", cycle, "-p", project])
        XCTAssertEqual(r.status, 125)
        XCTAssertEqual(r.stderr, "mdlua: dependency cycle: a -> b -> a\n")
        let typo = write("return { services = { a = { image = \"busybox\", comand = \"x\" } } }", "typo.lua")
        XCTAssertEqual(md(["up", "-d", "-f", typo]).stderr, "mdlua: services.a: unknown key \"comand\"\n")
        let yaml = write("services:\n  a:\n    image: [busybox\n", "compose.yaml")
        let y = md(["up", "-d", "-f", yaml])
        XCTAssertEqual(y.status, 125)
        XCTAssertTrue(y.stderr.hasPrefix("mdlua: \(yaml): line "), y.stderr)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }

    /// `up` killed while it brings services up, then `up` again: the stack converges.
    func testKilledUpConverges() throws {
        let file = threeServices()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MDLuaBinary.path)
        p.arguments = ["--root", root, "up", "-d", "-f", file, "-p", project]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(600_000)   // db is up, not yet healthy: up is waiting
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let up = md(["up", "-d", "-f", file, "-p", project])
        XCTAssertEqual(up.status, 0, up.stderr)
        XCTAssertEqual(Set(ids().keys), ["\(project)-db-1", "\(project)-web-1", "\(project)-worker-1"])
        XCTAssertEqual(md(["down", "-v", "-f", file, "-p", project]).status, 0)
    }

    func testComposeFileRunsAndConvertsToLua() {
        let compose = write("""
            name: ${PROJECT}
            x-base: &base
              image: busybox
            services:
              db:
                <<: *base
                command: ["sh", "-c", "touch /ready; exec sleep 600"]
                healthcheck: {test: ["CMD", "test", "-f", "/ready"], interval: 200ms, retries: 20}
              app:
                <<: *base
                command: sh -c 'echo "$$GREETING" from ${WHO:-compose}; exec sleep 600'
                environment:
                  GREETING: hi
                depends_on:
                  db: {condition: service_healthy}
            """, "compose.yaml")
        let up = MDLuaBinary.run(["--root", root, "up", "-d", "-f", compose], env: ["PROJECT": project])
        XCTAssertEqual(up.status, 0, up.stderr)
        var logs = ""
        for _ in 0..<30 {
            logs = MDLuaBinary.run(["--root", root, "stack", "logs", "-f", compose, "app"], env: ["PROJECT": project]).stdout
            if !logs.isEmpty { break }
            usleep(100_000)
        }
        XCTAssertEqual(logs, "\(project)-app-1  | hi from compose\n")
        let lua = MDLuaBinary.run(["--root", root, "stack", "convert", compose], env: ["PROJECT": project])
        XCTAssertEqual(lua.status, 0, lua.stderr)
        let converted = write(lua.stdout, "converted.lua")
        let config = md(["stack", "config", "-f", converted, "--services"])
        XCTAssertEqual(config.stdout, "app\ndb\n", config.stderr)
        XCTAssertEqual(MDLuaBinary.run(["--root", root, "down", "-f", compose], env: ["PROJECT": project]).status, 0)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }

    /// Every stack of this suite as Kubernetes manifests, checked against the API's schemas.
    func testKubeManifestsValidate() throws {
        let stacks = [threeServices(), write("""
            services:
              web:
                image: busybox
                command: httpd -f -p 8080
                ports: ["80:8080", "127.0.0.1:9000:9000/udp"]
                env_file: [app.env]
                deploy: {replicas: 2, resources: {limits: {memory: 64m, cpus: "0.5"}}}
                user: "1000"
                healthcheck: {test: "wget -q localhost:8080", interval: 1m30s, timeout: 5s, start_period: 10s, retries: 3}
                volumes: [shared:/data, own:/own]
              other:
                image: busybox
                volumes: [shared:/data]
            volumes: {shared: {}, own: {}}
            """, "compose.yaml")]
        _ = write("A=1\nB=two words\n", "app.env")
        for (i, stack) in stacks.enumerated() {
            let out = dir.appendingPathComponent("kube\(i)").path
            let k = md(["kube", "-f", stack, "-p", project, "-o", out])
            XCTAssertEqual(k.status, 0, k.stderr)
            let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
            XCTAssertFalse(files.isEmpty)
            let v = Process.run("/usr/bin/env", ["python3", "-m", "kubernetes_validate", "--strict", "--quiet"]
                                + files.map { out + "/" + $0 })
            XCTAssertEqual(v, 0, "kubernetes-validate rejected \(files)")
        }
        let kinds = md(["kube", "-f", stacks[1], "-p", project]).stdout
        for kind in ["kind: StatefulSet", "kind: Deployment", "kind: PersistentVolumeClaim", "kind: ConfigMap",
                     "type: LoadBalancer", "livenessProbe:", "memory: \"64Mi\""] {
            XCTAssertTrue(kinds.contains(kind), "\(kind) in\n\(kinds)")
        }
    }
}
