/// What a container was created with, beyond its OCI runtime spec: the settings the engine
/// acts on across the container's life (removal at exit, the restart policy, the health
/// check, the log's rotation) and the ones `inspect` shows as given. Kept in the record
/// (container.json, under "config"), written once by `create`; `update` changes the restart
/// policy. Reaches Lua as `c.config`, a table with these keys.
///
/// Each setting travels this one road: the spec carries only what the container's process is
/// made with (Runtime/Annotation.swift lists the few annotations it has).
public struct ContainerConfig: Equatable {
    /// The image reference as the user gave it ("busybox", "busybox:1.36").
    public var image = ""
    /// `--rm`: removed when it exits, its overlay volatile.
    public var remove = false
    /// `--restart` ("no", "on-failure:3", "always", "unless-stopped").
    public var restart = "no"
    /// The health check as given (Docker's Healthcheck: test, interval, timeout, start_period,
    /// retries; durations in seconds); nil without one.
    public var healthcheck: JSON?
    /// `--stop-signal`, or the image's StopSignal.
    public var stopSignal = "SIGTERM"
    /// `--log-opt max-size` in bytes and `max-file`.
    public var logMaxSize = 10 << 20
    public var logMaxFiles = 3
    public var labels: [String: String] = [:]
    public var tty = false
    /// `-i`: a detached container's stdin stays open for `attach`.
    public var interactive = false
    /// `-d`: started detached (Docker's AttachStdout/AttachStderr say false then).
    public var detach = false
    public var privileged = false
    /// The entrypoint part of the command (the image's, or `--entrypoint`).
    public var entrypoint: [String] = []
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var securityOpt: [String] = []
    /// `--tmpfs` as given ("/run:size=64m").
    public var tmpfs: [String] = []
    /// `--network` as given ("none", "host"; "" when not given).
    public var network = ""
    /// `--dns`, `--dns-search`, `--dns-option` (Docker's HostConfig.Dns, DnsSearch,
    /// DnsOptions): kept for the resolv.conf written again at `network connect`/`disconnect`.
    public var dns: [String] = []
    public var dnsSearch: [String] = []
    public var dnsOption: [String] = []
    /// `-v` and `--volumes-from` as given (Docker's HostConfig.Binds and VolumesFrom).
    public var volumes: [String] = []
    public var volumesFrom: [String] = []
    /// The user's mounts as made (`-v`, `--mount`, `--volumes-from`, the image's VOLUMEs):
    /// the named volumes among them are set up by VolumesHook; docs/volumes.md.
    public var mounts: [ContainerMount] = []
    /// `--storage-opt` (Docker's HostConfig.StorageOpt): "size" limits the writable layer
    /// (WritableLayer.swift).
    public var storageOpt: [String: String] = [:]

    public init() {}

    /// The health check the monitor runs, or nil.
    public var health: HealthCheck.Config? { HealthCheck.Config(json: healthcheck) }

    private static let keys: Set<String> = ["image", "rm", "restart", "healthcheck", "stop_signal", "log_max_size",
                                            "log_max_file", "labels", "tty", "interactive", "detach", "privileged",
                                            "entrypoint", "cap_add", "cap_drop", "security_opt", "tmpfs", "network",
                                            "dns", "dns_search", "dns_option", "volumes", "volumes_from", "mounts", "storage_opt"]

    /// From its JSON form; a key this version does not know, or a value of the wrong type, is
    /// an error (the config comes from the stdlib's option table: a mistake there must show).
    public init(json: JSON) throws {
        guard let o = json.object else { throw EngineError("the container config must be an object") }
        if let k = o.keys.sorted().first(where: { !ContainerConfig.keys.contains($0) }) {
            throw EngineError("unknown container config field \"\(k)\"")
        }
        func string(_ k: String, _ d: String) throws -> String {
            guard let v = o[k], v != .null else { return d }
            guard let s = v.string else { throw EngineError("container config field \"\(k)\": expected a string") }
            return s
        }
        func bool(_ k: String) throws -> Bool {
            guard let v = o[k], v != .null else { return false }
            guard case .bool(let b) = v else { throw EngineError("container config field \"\(k)\": expected true or false") }
            return b
        }
        func int(_ k: String, _ d: Int) throws -> Int {
            guard let v = o[k], v != .null else { return d }
            guard let i = v.int, i >= 0 else { throw EngineError("container config field \"\(k)\": expected a count") }
            return Int(i)
        }
        // An empty Lua table is an empty array or an empty object: both read as empty.
        func strings(_ k: String) throws -> [String] {
            guard let v = o[k], v != .null else { return [] }
            if v.object?.isEmpty == true { return [] }
            guard let a = v.array, let s = v.stringArray, s.count == a.count else {
                throw EngineError("container config field \"\(k)\": expected a list of strings")
            }
            return s
        }
        image = try string("image", "")
        remove = try bool("rm")
        restart = try string("restart", "no")
        if let h = o["healthcheck"], h != .null { healthcheck = h }
        stopSignal = try string("stop_signal", "SIGTERM")
        logMaxSize = try int("log_max_size", 10 << 20)
        logMaxFiles = try int("log_max_file", 3)
        func map(_ k: String) throws -> [String: String] {
            guard let l = o[k], l != .null, l.array?.isEmpty != true else { return [:] }
            guard let m = l.object else { throw EngineError("container config field \"\(k)\": expected a map") }
            var out: [String: String] = [:]
            for (mk, v) in m {
                guard let s = v.string else { throw EngineError("container config field \"\(k)\", \"\(mk)\": expected a string") }
                out[mk] = s
            }
            return out
        }
        labels = try map("labels")
        storageOpt = try map("storage_opt")
        tty = try bool("tty")
        interactive = try bool("interactive")
        detach = try bool("detach")
        privileged = try bool("privileged")
        entrypoint = try strings("entrypoint")
        capAdd = try strings("cap_add")
        capDrop = try strings("cap_drop")
        securityOpt = try strings("security_opt")
        tmpfs = try strings("tmpfs")
        network = try string("network", "")
        dns = try strings("dns")
        dnsSearch = try strings("dns_search")
        dnsOption = try strings("dns_option")
        volumes = try strings("volumes")
        volumesFrom = try strings("volumes_from")
        if let m = o["mounts"], m != .null, m.object?.isEmpty != true {
            guard let list = m.array else { throw EngineError("container config field \"mounts\": expected a list") }
            mounts = try list.map(ContainerMount.init(json:))
        }
    }

    public var json: JSON {
        func list(_ a: [String]) -> JSON { .array(a.map { .string($0) }) }
        var o: [String: JSON] = [
            "image": .string(image), "rm": .bool(remove), "restart": .string(restart), "stop_signal": .string(stopSignal),
            "log_max_size": .int(Int64(logMaxSize)), "log_max_file": .int(Int64(logMaxFiles)),
            "labels": .object(labels.mapValues { .string($0) }), "tty": .bool(tty), "interactive": .bool(interactive),
            "detach": .bool(detach), "privileged": .bool(privileged), "entrypoint": list(entrypoint),
            "cap_add": list(capAdd), "cap_drop": list(capDrop), "security_opt": list(securityOpt), "tmpfs": list(tmpfs),
            "network": .string(network), "dns": list(dns), "dns_search": list(dnsSearch), "dns_option": list(dnsOption),
            "volumes": list(volumes), "volumes_from": list(volumesFrom),
            "mounts": .array(mounts.map(\.json)), "storage_opt": .object(storageOpt.mapValues { .string($0) }),
        ]
        if let h = healthcheck { o["healthcheck"] = h }
        return .object(o)
    }
}
