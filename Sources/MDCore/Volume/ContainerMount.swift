/// One of the user's mounts of a container, as its config keeps it (ContainerConfig.mounts,
/// made by stdlib/mdlua/spec.lua from `-v`, `--mount`, `--volumes-from` and the image's
/// VOLUMEs; the spec's mounts hold their effect).
public struct ContainerMount: Equatable {
    /// "volume", "bind" or "tmpfs".
    public var type: String
    /// A volume's name, a host path, or "" (tmpfs).
    public var source: String
    public var destination: String
    public var readonly = false
    /// `:nocopy` / `volume-nocopy`: no copy of the image's content into a new empty volume.
    public var nocopy = false
    /// Made for this container (`-v /path`, an image's VOLUME): removed with it by `rm -v`.
    public var anonymous = false
    /// A bind's propagation ("rshared", ...); "" for the default.
    public var propagation = ""
    /// A tmpfs's size in bytes (0: the default) and mode ("" : the default).
    public var tmpfsSize: Int64 = 0
    public var tmpfsMode = ""

    public init(json j: JSON) throws {
        guard let t = j["type"]?.string, ["volume", "bind", "tmpfs"].contains(t), let d = j["destination"]?.string else {
            throw EngineError("container config field \"mounts\": each needs a type (volume, bind, tmpfs) and a destination")
        }
        type = t
        destination = d
        source = j["source"]?.string ?? ""
        guard t == "tmpfs" || !source.isEmpty else {
            throw EngineError("container config field \"mounts\": the \(t) on \(d) needs a source")
        }
        readonly = j["readonly"] == .bool(true)
        nocopy = j["nocopy"] == .bool(true)
        anonymous = j["anonymous"] == .bool(true)
        propagation = j["propagation"]?.string ?? ""
        tmpfsSize = j["tmpfs_size"]?.int ?? 0
        tmpfsMode = j["tmpfs_mode"]?.string ?? ""
    }

    public var json: JSON {
        var o: [String: JSON] = ["type": .string(type), "source": .string(source), "destination": .string(destination),
                                 "readonly": .bool(readonly), "nocopy": .bool(nocopy), "anonymous": .bool(anonymous)]
        if !propagation.isEmpty { o["propagation"] = .string(propagation) }
        if tmpfsSize > 0 { o["tmpfs_size"] = .int(tmpfsSize) }
        if !tmpfsMode.isEmpty { o["tmpfs_mode"] = .string(tmpfsMode) }
        return .object(o)
    }

    /// The named volumes among a container's mounts.
    public static func volumes(_ c: ContainerConfig) -> [ContainerMount] { c.mounts.filter { $0.type == "volume" } }
}

extension ContainerStore {
    /// The containers whose mounts name the volume, but `except` (a container being removed).
    public func containersUsing(volume name: String, except: String? = nil) -> [ContainerRecord] {
        list().filter { r in r.id != except && ContainerMount.volumes(r.config).contains { $0.source == name } }
    }

    /// Removes a volume that no container uses; refused naming the first one that does.
    public func removeVolume(_ name: String) throws {
        if let c = containersUsing(volume: name).first {
            throw EngineError("volume \(name) is in use by container \(c.name) (\(c.id.prefix(12)))")
        }
        try VolumeStore(store: store).remove(name)
    }

    /// The anonymous volumes a container owns, removed with it (`rm -v`, `--rm`); one another
    /// container mounts too (`--volumes-from`) stays.
    func removeAnonymousVolumes(of r: ContainerRecord) {
        let volumes = VolumeStore(store: store)
        for use in ContainerMount.volumes(r.config) where use.anonymous {
            guard let v = try? volumes.get(use.source), v.anonymous, v.owner == r.id else { continue }
            if !containersUsing(volume: use.source, except: r.id).isEmpty { continue }
            try? volumes.remove(use.source)
        }
    }
}
