/// A named volume as stored: `ROOT/volumes/<name>/volume.json`, its data in `_data/` next
/// to it (VolumeStore). The `local` driver's options (`type`, `device`, `o`) make `_data` a
/// mount of that file system instead of a plain directory (VolumeMount).
public struct Volume: Equatable {
    public var name: String
    public var created: String
    public var labels: [String: String]
    public var options: [String: String]
    /// Made for one container (`-v /path`, an image's VOLUME): `owner` is its ID; `rm -v`
    /// and the removal of a `--rm` container remove it with the container.
    public var anonymous: Bool
    public var owner: String

    public init(name: String, created: String, labels: [String: String] = [:], options: [String: String] = [:],
                anonymous: Bool = false, owner: String = "") {
        self.name = name; self.created = created; self.labels = labels; self.options = options
        self.anonymous = anonymous; self.owner = owner
    }

    public var driver: String { "local" }

    public var json: JSON {
        .object(["name": .string(name), "driver": .string(driver), "created": .string(created),
                 "labels": .object(labels.mapValues { .string($0) }), "options": .object(options.mapValues { .string($0) }),
                 "anonymous": .bool(anonymous), "owner": .string(owner)])
    }

    public init(json j: JSON) throws {
        guard let n = j["name"]?.string else { throw EngineError("corrupt volume record") }
        name = n
        created = j["created"]?.string ?? ""
        labels = (j["labels"]?.object ?? [:]).compactMapValues(\.string)
        options = (j["options"]?.object ?? [:]).compactMapValues(\.string)
        anonymous = j["anonymous"] == .bool(true)
        owner = j["owner"]?.string ?? ""
    }

    /// Docker's rule for a volume's name: what `-v NAME:/path` tells from a host path.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 255 else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }
        return alnum(first) && name.utf8.allSatisfy { alnum($0) || $0 == 0x5f || $0 == 0x2e || $0 == 0x2d }
    }
}
