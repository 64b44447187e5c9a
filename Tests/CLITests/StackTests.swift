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
        XCTAssertEqual(lastLine(up.stderr), "mdlua: service web needs db healthy: \(project)-db-1 is unhealthy: not ready", up.stderr)
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

    /// The last line of a command's stderr (`up` reports progress before it fails).
    func lastLine(_ text: String) -> String {
        String(text.split(separator: "\n").last ?? "")
    }

    func testDependencyThatFailsNamesBothServicesAndItsExitCode() {
        let file = write("""
            return { services = {
              migrate = { image = "busybox", command = { "sh", "-c", "exit 3" } },
              app = { image = "busybox", command = { "sleep", "600" }, depends_on = { migrate = "completed" } },
            } }
            """, "stack.lua")
        let up = md(["up", "-d", "-f", file, "-p", project])
        XCTAssertEqual(up.status, 125)
        XCTAssertEqual(lastLine(up.stderr),
                       "mdlua: service app needs migrate to complete successfully: \(project)-migrate-1 exited with code 3",
                       up.stderr)
        XCTAssertNil(ids()["\(project)-app-1"], "app was not created")
        // A dependency that exits before it is healthy, named with its code.
        let sick = write("""
            return { services = {
              db = { image = "busybox", command = { "sh", "-c", "exit 4" }, healthcheck = { test = "true", interval = "200ms" } },
              web = { image = "busybox", command = { "sleep", "600" }, depends_on = { "db" } },
            } }
            """, "sick.lua")
        let s = md(["up", "-d", "-f", sick, "-p", project + "s"])
        XCTAssertEqual(s.status, 125)
        XCTAssertEqual(lastLine(s.stderr),
                       "mdlua: service web needs db healthy: \(project)s-db-1 exited with code 4 before it was healthy", s.stderr)
        XCTAssertNil(ids()["\(project)s-web-1"])
        XCTAssertEqual(md(["down", "-f", file, "-p", project]).status, 0)
        XCTAssertEqual(md(["down", "-f", sick, "-p", project + "s"]).status, 0)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "")
    }

    /// What `up` needs and does not make (an external network or volume, an image, an env
    /// file) is checked before it makes anything: one line, 125, nothing left behind, even
    /// when what is missing belongs to a service that starts last.
    func testMissingThingsFailBeforeAnythingIsMade() {
        let cases: [(String, String)] = [
            ("""
             networks = { outside = { external = true, name = "\(project)-nonet" } },
             services = { a = { image = "busybox", command = { "sleep", "600" } },
                          b = { image = "busybox", command = { "sleep", "600" }, networks = { "outside" }, depends_on = { "a" } } },
             """, "network \(project)-nonet is external but does not exist"),
            ("""
             networks = { back = {} }, volumes = { data = { external = true, name = "\(project)-novol" } },
             services = { a = { image = "busybox", command = { "sleep", "600" }, networks = { "back" } },
                          b = { image = "busybox", command = { "sleep", "600" }, depends_on = { "a" } } },
             """, "volume \(project)-novol is external but does not exist"),
            ("""
             services = { a = { image = "busybox", command = { "sleep", "600" } },
                          b = { image = "\(project)-noimage", depends_on = { "a" } } },
             """, "service b: no such image: \(project)-noimage"),
            ("""
             services = { a = { image = "busybox", command = { "sleep", "600" } },
                          b = { image = "busybox", env_file = { "missing.env" }, depends_on = { "a" } } },
             """, "services.b.env_file: \(dir.path)/missing.env: No such file or directory"),
        ]
        for (i, (body, message)) in cases.enumerated() {
            let file = write("return {\n\(body)\n}\n", "case\(i).lua")
            let up = md(["up", "-d", "-f", file, "-p", project])
            XCTAssertEqual(up.status, 125, "case \(i)")
            XCTAssertEqual(up.stderr, "mdlua: \(message)\n", "case \(i)")
            XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "case \(i): no container")
            XCTAssertFalse(md(["network", "ls"]).stdout.contains(project), "case \(i): no network")
        }
        // A missing external network fails before a service's build runs: no image is made.
        try? FileManager.default.createDirectory(at: dir.appendingPathComponent("ctx"), withIntermediateDirectories: true)
        _ = write("FROM busybox\nRUN touch /built\n", "ctx/Dockerfile")
        let built = write("""
            return { networks = { outside = { external = true, name = "\(project)-nonet" } },
                     services = { b = { build = "ctx", command = { "sleep", "600" }, networks = { "outside" } } } }
            """, "built.lua")
        let up = md(["up", "-d", "-f", built, "-p", project])
        XCTAssertEqual(up.status, 125)
        XCTAssertEqual(up.stderr, "mdlua: network \(project)-nonet is external but does not exist\n")
        XCTAssertFalse(md(["images"]).stdout.contains("\(project)-b"), "no image built")
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

    /// A service with `build` (Compose's long form: context, dockerfile, args) gets its image
    /// from md.build's Dockerfile frontend, tagged PROJECT-SERVICE: built by `up` when it is
    /// missing, not again while it is there, rebuilt by `up --build` (the container made
    /// again for the new image). A build that fails leaves no container.
    func testServiceBuildIsBuiltByUp() throws {
        let ctx = dir.appendingPathComponent("app").path
        try FileManager.default.createDirectory(atPath: ctx, withIntermediateDirectories: true)
        _ = write("one\n", "app/msg.txt")
        _ = write("""
            FROM busybox
            ARG GREETING=none
            COPY msg.txt /msg.txt
            RUN echo "$GREETING" > /greeting
            STOPSIGNAL SIGKILL
            CMD ["sh", "-c", "cat /greeting /msg.txt; exec sleep 600"]
            """, "app/Dockerfile.app")
        let compose = write("""
            services:
              app:
                build:
                  context: ./app
                  dockerfile: Dockerfile.app
                  args: {GREETING: hi}
            """, "compose.yaml")
        func up(_ extra: [String] = []) -> MDLuaBinary.Result {
            md(["up", "-d", "-f", compose, "-p", project] + extra)
        }
        func logs(_ want: String) -> String {
            var out = ""
            for _ in 0..<50 {
                out = md(["stack", "logs", "--file", compose, "-p", project, "app"]).stdout
                if out == want { break }
                usleep(100_000)
            }
            return out
        }
        let image = "\(project)-app"
        XCTAssertEqual(md(["image", "inspect", image]).status, 125, "no image before the first up")
        let first = up()
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("app  Building") && first.stderr.contains("STEP 2/5: COPY msg.txt /msg.txt"), first.stderr)
        let built = md(["image", "inspect", "-f", "{{.Id}}", image]).stdout
        XCTAssertTrue(built.hasPrefix("sha256:"), built)
        XCTAssertEqual(logs("\(project)-app-1  | hi\n\(project)-app-1  | one\n"),
                       "\(project)-app-1  | hi\n\(project)-app-1  | one\n")
        let before = ids()
        // The image is there: a plain up builds nothing, even with the context changed.
        _ = write("two\n", "app/msg.txt")
        let again = up()
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("Building"), again.stderr)
        XCTAssertEqual(ids(), before)
        // --build rebuilds: the changed file's step runs, the earlier one is cached, and the
        // container is made again from the new image.
        let rebuilt = up(["--build"])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
        XCTAssertTrue(rebuilt.stderr.contains("STEP 1/5: ARG GREETING=none  CACHED"), rebuilt.stderr)
        XCTAssertTrue(rebuilt.stderr.contains("STEP 2/5: COPY msg.txt /msg.txt\n"), rebuilt.stderr)
        XCTAssertNotEqual(md(["image", "inspect", "-f", "{{.Id}}", image]).stdout, built)
        XCTAssertNotEqual(ids()["\(project)-app-1"], before["\(project)-app-1"])
        XCTAssertEqual(logs("\(project)-app-1  | hi\n\(project)-app-1  | two\n"),
                       "\(project)-app-1  | hi\n\(project)-app-1  | two\n")
        // down --rmi local removes the built image.
        XCTAssertEqual(md(["down", "--rmi", "local", "-f", compose, "-p", project]).status, 0)
        XCTAssertEqual(md(["image", "inspect", image]).status, 125)

        // The short form (a context directory); its RUN fails: up fails with the step's
        // output and makes nothing.
        try FileManager.default.createDirectory(atPath: dir.appendingPathComponent("bad").path, withIntermediateDirectories: true)
        _ = write("FROM busybox\nRUN echo broken here; exit 3\n", "bad/Dockerfile")
        let bad = write("return { services = { bad = { build = \"bad\" }, ok = { image = \"busybox\", command = { \"sleep\", \"600\" }, stop_signal = \"SIGKILL\" } } }",
                        "bad.lua")
        let failed = md(["up", "-d", "-f", bad, "-p", project])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.stderr.contains("RUN echo broken here; exit 3: exited with 3") && failed.stderr.contains("broken here"),
                      failed.stderr)
        XCTAssertEqual(md(["ps", "-aq"]).stdout, "", "no container after a failed build")
        XCTAssertEqual(md(["down", "-f", bad, "-p", project]).status, 0)
    }

    /// A service's env file gives the container and `mdlua kube`'s ConfigMap the same
    /// variables: both read it as `run --env-file` does (values as written, a bare name from
    /// the environment).
    func testEnvFileIsReadAlikeByUpAndKube() throws {
        _ = write("# settings\nA=1\n  B=two words\nQ=\"quoted\" # kept\nSTACK_BARE\n", "app.env")
        let compose = write("""
            services:
              app:
                image: busybox
                command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
                env_file: [app.env]
            """, "compose.yaml")
        let env = ["STACK_BARE": "from the host"]
        let up = MDLuaBinary.run(["--root", root, "up", "-d", "-f", compose, "-p", project], env: env)
        XCTAssertEqual(up.status, 0, up.stderr)
        let inside = md(["exec", "\(project)-app-1", "env"]).stdout.split(separator: "\n").map(String.init)
            .filter { ["A", "B", "Q", "STACK_BARE"].contains($0.split(separator: "=").first.map(String.init) ?? "") }.sorted()
        XCTAssertEqual(inside, ["A=1", "B=two words", "Q=\"quoted\" # kept", "STACK_BARE=from the host"])
        let out = dir.appendingPathComponent("kube").path
        let k = MDLuaBinary.run(["--root", root, "kube", "-f", compose, "-p", project, "-o", out], env: env)
        XCTAssertEqual(k.status, 0, k.stderr)
        let data = md(["-e", """
            local m = md._yaml.decode(md.fs.read("\(out)/configmap-app-env.yaml"), {})
            local keys = {}
            for k in pairs(m.data) do keys[#keys + 1] = k end
            table.sort(keys)
            for _, k in ipairs(keys) do print(k .. "=" .. m.data[k]) end
            """])
        XCTAssertEqual(data.stdout.split(separator: "\n").map(String.init), inside, data.stderr)
        // What the env file holds is part of the config hash: the same is left alone, a change
        // recreates the service.
        let before = ids()["\(project)-app-1"]
        XCTAssertEqual(MDLuaBinary.run(["--root", root, "up", "-d", "-f", compose, "-p", project], env: env).status, 0)
        XCTAssertEqual(ids()["\(project)-app-1"], before)
        _ = write("A=2\n", "app.env")
        let again = MDLuaBinary.run(["--root", root, "up", "-d", "-f", compose, "-p", project], env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertNotEqual(ids()["\(project)-app-1"], before)
        XCTAssertEqual(md(["exec", "\(project)-app-1", "sh", "-c", "echo $A"]).stdout, "2\n")
        // `stack logs -f FILE` is the file, not --follow: it returns while app runs.
        let logs = Process.run("/usr/bin/timeout", ["20", MDLuaBinary.path, "--root", root, "stack", "logs", "-f", compose, "-p", project])
        XCTAssertEqual(logs, 0, "stack logs -f FILE returned (124: it followed)")
        XCTAssertEqual(md(["down", "-t", "0", "-f", compose, "-p", project]).status, 0)
    }

    /// Every stack of this suite as Kubernetes manifests, checked against the API's schemas.
    func testKubeManifestsValidate() throws {
        let stacks = [threeServices(), write("""
            services:
              web:
                image: busybox
                command: httpd -f -p 8080
                ports: ["80:8080", "127.0.0.1:9000:9000/udp"]
                expose: ["8080"]
                env_file: [app.env]
                deploy: {replicas: 2, resources: {limits: {memory: 64m, cpus: "0.5"}}}
                user: "1000"
                healthcheck: {test: "wget -q localhost:8080", interval: 1m30s, timeout: 5s, start_period: 10s, retries: 3}
                volumes: [shared:/data, own:/own]
              other:
                image: busybox
                volumes: [shared:/data]
            volumes: {shared: {driver_opts: {size: 2g}}, own: {driver_opts: {size: 512m}}}
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
                     "type: LoadBalancer", "livenessProbe:", "memory: \"64Mi\"", "storage: \"2Gi\"", "storage: \"512Mi\""] {
            XCTAssertTrue(kinds.contains(kind), "\(kind) in\n\(kinds)")
        }
        // 8080 is published and exposed: one container port, one port of the ClusterIP Service.
        XCTAssertEqual(kinds.components(separatedBy: "containerPort: 8080").count, 2, kinds)
        XCTAssertEqual(kinds.components(separatedBy: "name: tcp-8080").count, 2, kinds)
    }
}
