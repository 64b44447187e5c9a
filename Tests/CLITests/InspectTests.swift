import Foundation
import XCTest

/// `inspect` of a container: Docker's document, compared key by key with Podman's for the
/// same flags, and kept current by `update`.
final class InspectTests: XCTestCase {
    var dir: URL!
    var root: String { dir.appendingPathComponent("root").path }
    var podman: [String] {
        ["--root", dir.appendingPathComponent("p").path, "--runroot", dir.appendingPathComponent("pr").path,
         "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"]
    }

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
        // Runs before the directory's removal (teardown blocks run last in, first out).
        addTeardownBlock { [unowned self] in
            let ids = md(["ps", "-aq", "--no-trunc"]).stdout.split(separator: "\n").map(String.init)
            _ = md(["-e", "for _, c in ipairs(md.container.list{all=true}) do c:rm{force=true} end"])
            // Only this test's containers: other suites may use the parent at the same time.
            XCTAssertEqual(leftoverCgroups(under: "mdlua-test").filter { c in ids.contains { c.hasSuffix("/" + $0) } }, [],
                           "the containers' cgroups are removed")
        }
        XCTAssertEqual(md(["image", "bootstrap", "busybox"]).status, 0)
    }

    @discardableResult
    func md(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> MDLuaBinary.Result {
        MDLuaBinary.run(["--root", root] + args, file: file, line: line)
    }

    @discardableResult
    func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = md(args, file: file, line: line)
        XCTAssertEqual(r.status, 0, "mdlua \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    /// Runs a host tool; its status and output (stdout and stderr together).
    func tool(_ path: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func document(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        let parsed = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        guard let doc = parsed?.first else {
            XCTFail("not an inspect document: \(json)", file: file, line: line)
            return [:]
        }
        return doc
    }

    /// The keys of Docker's container document (docker inspect, API 1.43) that mdlua fills in.
    static let dockerKeys: [String: [String]] = [
        "": ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath",
             "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs",
             "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"],
        "State": ["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error",
                  "StartedAt", "FinishedAt"],
        "Config": ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
                   "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels",
                   "StopSignal"],
        "HostConfig": ["Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy",
                       "AutoRemove", "VolumeDriver", "VolumesFrom", "ConsoleSize", "CapAdd", "CapDrop", "CgroupnsMode",
                       "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "Cgroup", "Links",
                       "OomScoreAdj", "PidMode", "Privileged", "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt",
                       "UTSMode", "UsernsMode", "ShmSize", "Runtime", "Isolation", "CpuShares", "Memory", "NanoCpus",
                       "CgroupParent", "BlkioWeight", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                       "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",
                       "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices", "DeviceCgroupRules",
                       "DeviceRequests", "MemoryReservation", "MemorySwap", "MemorySwappiness", "OomKillDisable",
                       "PidsLimit", "Ulimits", "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth",
                       "MaskedPaths", "ReadonlyPaths"],
        "NetworkSettings": ["Bridge", "SandboxID", "SandboxKey", "Ports", "HairpinMode", "LinkLocalIPv6Address",
                            "LinkLocalIPv6PrefixLen", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID",
                            "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen",
                            "IPv6Gateway", "MacAddress", "Networks"],
    ]

    /// Keys left out of the comparison, with the reason.
    static let skipped: [String: String] = [
        "Id": "an ID each engine makes", "Created": "a time",
        "ResolvConfPath": "a path (Podman's is empty until the start)", "HostnamePath": "a path", "HostsPath": "a path",
        "LogPath": "a path", "Driver": "the storage driver: mdlua's overlay, the vfs Podman is given here",
        "GraphDriver": "paths of the storage driver",
        "HostConfig.LogConfig": "the log driver: mdlua writes Docker's json-file, Podman its k8s-file",
        "HostConfig.IpcMode": "Podman's shareable (Docker: private, as mdlua)",
        "HostConfig.PidMode": "Podman's private (Docker: empty, as mdlua)",
        "HostConfig.UTSMode": "Podman's private (Docker: empty, as mdlua)",
        "HostConfig.Runtime": "the runtime's name", "HostConfig.ShmSize": "Podman's 64m is 65536000 (Docker's 67108864, as mdlua)",
        "HostConfig.MemorySwappiness": "Podman's -1 (Docker: null, as mdlua)",
        // docker/cli's create attaches stdout and stderr (stdin and StdinOnce with -i) of a
        // container it makes; Podman's create records false.
        "Config.AttachStdin": "", "Config.AttachStdout": "", "Config.AttachStderr": "", "Config.StdinOnce": "",
    ]

    /// Podman 4.3's document in Docker's terms, where Podman differs from Docker on purpose
    /// or by its own defaults. `given`: the flags the container was made with.
    func normalisePodman(_ doc: inout [String: Any], given: [String]) {
        doc["Name"] = "/" + (doc["Name"] as? String ?? "")                 // Docker's name has a slash
        doc["Image"] = "sha256:" + (doc["Image"] as? String ?? "")         // Docker's ID has its algorithm
        // --init: Podman shows its init as the command; Docker shows the container's own.
        var args = doc["Args"] as? [String] ?? []
        if doc["Path"] as? String == "/run/podman-init", args.first == "--" {
            args.removeFirst()
            doc["Path"] = args.first ?? ""
        }
        if let path = doc["Path"] as? String, args.first == path { args.removeFirst() }  // Podman repeats Path
        doc["Args"] = args
        var config = doc["Config"] as? [String: Any] ?? [:]
        config["Image"] = (config["Image"] as? String ?? "")
            .replacingOccurrences(of: "localhost/", with: "").replacingOccurrences(of: ":latest", with: "")
        if let ep = config["Entrypoint"] as? String {                      // Podman 4.3: a string
            config["Entrypoint"] = ep.isEmpty ? NSNull() : ep.split(separator: " ").map(String.init) as Any
        }
        if let sig = config["StopSignal"] as? Int {                        // Podman: the number
            config["StopSignal"] = [9: "SIGKILL", 15: "SIGTERM", 2: "SIGINT", 1: "SIGHUP", 3: "SIGQUIT"][sig] ?? "\(sig)"
        }
        // Podman puts what it adds for the process into the config; Docker (and mdlua) do not.
        // Podman keeps the environment in a map: its order changes from one create to the next.
        config["Env"] = (config["Env"] as? [String] ?? []).filter {
            $0 != "container=podman" && $0 != "TERM=xterm" && !$0.hasPrefix("HOSTNAME=")
        }.sorted()
        if config["Hostname"] as? String == (doc["Id"] as? String).map({ String($0.prefix(12)) }) {
            config["Hostname"] = "<id>"
        }
        doc["Config"] = config
        var host = doc["HostConfig"] as? [String: Any] ?? [:]
        // Podman's default capabilities leave out three of Docker's and it lists them as drops;
        // --privileged drops what root lacks here (no CAP_SYS_RESOURCE, docs/design.md).
        host["CapDrop"] = (host["CapDrop"] as? [String] ?? []).filter {
            !["CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SYS_RESOURCE"].contains($0)
        }
        if (host["NanoCpus"] as? Int ?? 0) > 0 {                           // Docker: --cpus is NanoCpus alone
            host["CpuQuota"] = 0
            host["CpuPeriod"] = 0
        }
        if !given.contains("--pids-limit") { host["PidsLimit"] = NSNull() } // containers.conf's default 2048
        if let i = given.firstIndex(of: "--memory-swap"), given[i + 1] == "-1" {
            host["MemorySwap"] = -1                                        // Docker keeps -1; Podman shows 0
        }
        var policy = host["RestartPolicy"] as? [String: Any] ?? [:]
        if policy["Name"] as? String == "" { policy["Name"] = "no" }       // Docker's name for no policy
        host["RestartPolicy"] = policy
        // Podman appends its mount options to --tmpfs's; Docker keeps what was given.
        if let tmpfs = host["Tmpfs"] as? [String: String] {
            host["Tmpfs"] = tmpfs.mapValues { v in
                v.split(separator: ",").filter { !["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"].contains(String($0)) }
                    .joined(separator: ",")
            }
        }
        // Podman names rlimits RLIMIT_X and adds its defaults; Docker lists the --ulimit ones.
        let ulimits = (host["Ulimits"] as? [[String: Any]] ?? []).map { u -> [String: Any] in
            var u = u
            u["Name"] = (u["Name"] as? String ?? "").replacingOccurrences(of: "RLIMIT_", with: "").lowercased()
            return u
        }.filter { u in given.contains { $0.hasPrefix((u["Name"] as? String ?? "?") + "=") } }
        host["Ulimits"] = ulimits
        doc["HostConfig"] = host
    }

    func normaliseMdlua(_ doc: inout [String: Any]) {
        var config = doc["Config"] as? [String: Any] ?? [:]
        config["Env"] = (config["Env"] as? [String] ?? []).sorted()     // as Podman's (above)
        if config["Hostname"] as? String == (doc["Id"] as? String).map({ String($0.prefix(12)) }) {
            config["Hostname"] = "<id>"
        }
        doc["Config"] = config
    }

    /// null, [] and {} are the same: Go's nil and empty slices and maps print alike.
    func empty(_ v: Any) -> Bool {
        v is NSNull || (v as? [Any])?.isEmpty == true || (v as? [String: Any])?.isEmpty == true
    }

    func compare(_ podman: Any, _ mdlua: Any, _ path: String, _ diffs: inout [String]) {
        if Self.skipped[path] != nil { return }
        if empty(podman) && empty(mdlua) { return }
        if let p = podman as? [String: Any], let m = mdlua as? [String: Any] {
            let level = path.isEmpty ? "" : path
            let keys = Self.dockerKeys[level].map(Set.init) ?? Set(p.keys).intersection(m.keys)
            for k in keys.sorted() {
                let sub = path.isEmpty ? k : path + "." + k
                guard let pv = p[k], let mv = m[k] else { continue }   // keys both have
                compare(pv, mv, sub, &diffs)
            }
            return
        }
        func text(_ v: Any) -> String {
            let data = try? JSONSerialization.data(withJSONObject: [v], options: [.sortedKeys, .fragmentsAllowed])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
        }
        if text(podman) != text(mdlua) {
            diffs.append("\(path): podman \(podman), mdlua \(mdlua)")
        }
    }

    func checkAgainstPodman(_ flags: [String], _ command: [String], extraPodman: [String] = [],
                            file: StaticString = #filePath, line: UInt = #line) {
        let name = "c\(UUID().uuidString.prefix(6))"
        // Both on --network none: the networks' part of the document is NetworkTests'.
        ok(["create", "--name", name, "--network", "none"] + flags + ["busybox"] + command, file: file, line: line)
        var mine = document(ok(["inspect", name], file: file, line: line), file: file, line: line)
        let (status, out) = tool("/usr/bin/podman", podman + ["create", "--network", "none", "--name", name]
                                    + extraPodman + flags + ["busybox"] + command)
        XCTAssertEqual(status, 0, "podman create: \(out)", file: file, line: line)
        let (_, json) = tool("/usr/bin/podman", podman + ["inspect", name])
        var theirs = document(json, file: file, line: line)
        // Every key of Docker's document is there.
        for (level, keys) in Self.dockerKeys {
            let section = level.isEmpty ? mine : (mine[level] as? [String: Any] ?? [:])
            for k in keys where section[k] == nil { XCTFail("\(level).\(k) missing for \(flags)", file: file, line: line) }
        }
        normalisePodman(&theirs, given: flags)
        normaliseMdlua(&mine)
        var diffs: [String] = []
        compare(theirs, mine, "", &diffs)
        XCTAssertEqual(diffs, [], "flags \(flags)", file: file, line: line)
    }

    func testInspectMatchesPodmanKeyByKey() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/podman") else { throw XCTSkip("no podman") }
        addTeardownBlock { [unowned self] in _ = tool("/usr/bin/podman", podman + ["rm", "-a", "-f"]) }
        let archive = dir.appendingPathComponent("bb.tar").path
        ok(["save", "-o", archive, "busybox"])
        XCTAssertEqual(tool("/usr/bin/podman", podman + ["load", "-q", "-i", archive]).0, 0)
        // A block device of this machine for the throttles.
        let device = ["/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0"].first {
            FileManager.default.fileExists(atPath: $0)
        } ?? "/dev/loop0"

        checkAgainstPodman([], ["true"])
        // Podman needs an init binary for --init (catatonit, not installed here); the
        // container is only created, never run, so any path to a file does.
        checkAgainstPodman(["-m", "64m", "--memory-swap", "128m", "--memory-reservation", "32m", "--cpus", "0.5",
                            "--cpu-shares", "512", "--cpuset-cpus", "0", "--cpuset-mems", "0", "--pids-limit", "100",
                            "--device-read-bps", device + ":1mb", "--device-write-bps", device + ":2mb",
                            "--device-read-iops", device + ":50", "--device-write-iops", device + ":100",
                            "--restart", "on-failure:3", "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN",
                            "--security-opt", "no-new-privileges", "--read-only", "--tmpfs", "/scratch:size=1m",
                            "--init", "--ulimit", "nofile=1024:2048", "-e", "A=1", "-l", "k=v", "-w", "/tmp",
                            "-u", "nobody", "-h", "myhost", "--stop-signal", "SIGKILL", "--entrypoint", "sh",
                            "-t", "-i"], ["-c", "sleep 1"], extraPodman: ["--init-path", "/bin/true"])
        checkAgainstPodman(["--cpu-quota", "20000", "--cpu-period", "50000", "--privileged", "--oom-kill-disable",
                            "--restart", "always", "--memory", "32m", "--memory-swap", "-1", "--tmpfs", "/t"], ["true"])
    }

    /// What Podman cannot show here, and Docker's forms: Docker's defaults, the health check,
    /// the blkio weight (Podman drops it on this kernel), --network host.
    func testDockerFieldsPodmanLeavesOut() {
        ok(["create", "--name", "d", "-m", "64m", "--cpus", "0.5", "--blkio-weight", "300", "--health-cmd", "true",
            "--health-interval", "30s", "--health-retries", "2", "--cgroup-parent", "mdlua-test", "--log-opt", "max-size=1m",
            "-l", "a=b", "busybox", "sleep", "1"])
        XCTAssertEqual(ok(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} "
                           + "{{.HostConfig.CpuQuota}} {{.HostConfig.BlkioWeight}} {{.HostConfig.CgroupParent}}", "d"]),
                       "67108864 67108864 500000000 0 300 mdlua-test\n", "mdlua's default swap is --memory: no swap")
        XCTAssertEqual(ok(["inspect", "-f", "{{json .Config.Healthcheck}} {{.HostConfig.LogConfig.Type}} "
                           + "{{index .HostConfig.LogConfig.Config \"max-size\"}} {{.Config.Labels}}", "d"]),
                       "{\"Interval\":30000000000,\"Retries\":2,\"Test\":[\"CMD-SHELL\",\"true\"]} json-file 1048576 map[a:b]\n")
        // Go's zero values where Docker has nil: [] in a template, null in JSON.
        XCTAssertEqual(ok(["inspect", "-f", "{{.HostConfig.CapAdd}} {{json .HostConfig.CapAdd}} {{.HostConfig.PidsLimit}} "
                           + "{{.HostConfig.Init}} {{.Config.Entrypoint}} {{.HostConfig.Tmpfs}} {{.State.Health}}", "d"]),
                       "[] null <nil> <nil> [] map[] <nil>\n")
        let doc = document(ok(["inspect", "d"]))
        let host = doc["HostConfig"] as? [String: Any] ?? [:]
        XCTAssertTrue(host["CapAdd"] is NSNull && host["Binds"] is NSNull, "\(host)")
        XCTAssertEqual(ok(["inspect", "-f", "{{.NetworkSettings.IPAddress}}|{{.HostConfig.NetworkMode}}|"
                           + "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", "d"]), "|bridge|bridge\n",
                       "on the default network; no address shown until it runs, as Docker's")
        ok(["create", "--name", "h", "--network", "host", "busybox", "true"])
        XCTAssertEqual(ok(["inspect", "-f", "{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
                           "h"]), "host host\n")
    }

    /// `update` rewrites the spec; inspect shows the limits in force, running or not.
    func testUpdateShowsInInspect() throws {
        guard FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes") else {
            throw XCTSkip("this host has no cgroup v1 memory hierarchy (cgroup v2 is tested by make test-vm)")
        }
        ok(["run", "-d", "--name", "u", "--cgroup-parent", "mdlua-test", "-m", "64m", "--cpus", "0.5", "busybox",
            "sleep", "60"])
        let limits = "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}"
        XCTAssertEqual(ok(["inspect", "-f", limits, "u"]), "67108864 500000000 <nil> no\n")
        ok(["update", "-m", "150m", "--cpus", "1", "--pids-limit", "50", "--restart", "on-failure:2", "u"])
        XCTAssertEqual(ok(["inspect", "-f", limits + " {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "u"]),
                       "157286400 1000000000 50 on-failure 2\n")
        ok(["rm", "-f", "u"])
        ok(["create", "--name", "c", "busybox", "true"])
        ok(["update", "--memory", "100m", "--cpu-shares", "256", "c"])
        XCTAssertEqual(ok(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}", "c"]), "104857600 256\n")
    }

    /// inspect --size: the writable layer (SizeRw) and it with the image (SizeRootFs).
    func testSize() {
        ok(["run", "--name", "s", "busybox", "sh", "-c", "printf 12 > /f"])
        let sizes = ok(["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "s"]).split(separator: " ")
        XCTAssertEqual(sizes.first, "2")
        let image = Int(ok(["-e", "io.write(md.image.get('busybox').size)"])) ?? -1
        XCTAssertEqual(Int(sizes.last?.dropLast() ?? ""), image + 2)
        XCTAssertEqual(ok(["inspect", "-f", "{{.SizeRw}}", "s"]), "<nil>\n", "without --size, as Docker")
    }
}
