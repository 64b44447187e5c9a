/// Finding an image from what a user typed: a name (`busybox`, `busybox:1.36`,
/// `localhost:5000/a/b:c`), `name@sha256:...`, an ID, or a unique ID prefix.
public enum ImageLookup {
    public static func find(_ text: String, in images: [Digest: ImageRecord]) throws -> ImageRecord {
        if let ref = try? Reference(parsing: text) {
            if let digest = ref.digest {
                let entry = ref.description
                if let r = images.values.first(where: { $0.digests.contains(entry) }) { return r }
                if let r = images.values.first(where: { $0.manifest == digest || $0.id == digest }) { return r }
            } else {
                let name = ref.description
                if let r = images.values.first(where: { $0.names.contains(name) }) { return r }
            }
        }
        var hex = text
        if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
        if !hex.isEmpty, hex.count <= 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
            let matches = images.values.filter { $0.id.hex.hasPrefix(hex) }.sorted { $0.id < $1.id }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 {
                throw EngineError("image ID prefix \"\(text)\" is ambiguous: "
                                  + matches.map { $0.id.short }.joined(separator: ", "))
            }
        }
        throw EngineError("no such image: \(text)")
    }

    /// The normalized name a user meant (`busybox` → `docker.io/library/busybox:latest`).
    public static func normalizedName(_ text: String) throws -> String {
        let ref = try Reference(parsing: text)
        guard ref.digest == nil else { throw EngineError("invalid name \"\(text)\": a name cannot hold a digest") }
        return ref.description
    }
}
