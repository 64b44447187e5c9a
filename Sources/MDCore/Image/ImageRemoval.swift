/// `rmi`, `untag`, `image prune`, `layer rm`: records first, then whatever no image uses.
public enum ImageRemoval {
    public struct Result {
        public var untagged: [String] = []
        public var deleted: [Digest] = []
    }

    /// Removes a name, or the whole image when given by ID (or when it was the last name).
    /// An image with several names given by ID needs `force`. `inUse` says whether a
    /// container uses the image (refused unless `force`).
    public static func remove(_ text: String, from store: Store, force: Bool,
                              inUse: (Digest) -> Bool = { _ in false }) throws -> Result {
        try store.locked {
            var all = try store.images.load()
            var image = try ImageLookup.find(text, in: all)
            var result = Result()
            let byName = (try? ImageLookup.normalizedName(text)).map { image.names.contains($0) } ?? false
            if byName && image.names.count > 1 {
                let name = try ImageLookup.normalizedName(text)
                image.names.removeAll { $0 == name }
                all[image.id] = image
                try store.images.save(all)
                result.untagged.append(name)
                return result
            }
            if !byName && image.names.count > 1 && !force {
                throw EngineError("image \(image.id.short) has several names (\(image.names.map(Reference.familiar).joined(separator: ", "))): remove them by name, or use -f")
            }
            if inUse(image.id) {
                guard force else {
                    throw EngineError("image \(image.id.short) is used by a container: remove the container first, or use -f")
                }
                // As Docker: the names go, the image stays for its containers.
                result.untagged = image.names
                image.names = []
                image.digests = []
                all[image.id] = image
                try store.images.save(all)
                return result
            }
            result.untagged = image.names
            all[image.id] = nil
            try store.images.save(all)
            result.deleted.append(image.id)
            try store.collectGarbage()
            return result
        }
    }

    /// Removes images without a name (`all`: every image no container uses).
    public static func prune(_ store: Store, all pruneAll: Bool, inUse: (Digest) -> Bool = { _ in false }) throws -> [ImageRecord] {
        try store.locked {
            var images = try store.images.load()
            let doomed = images.values.filter { (pruneAll || $0.names.isEmpty) && !inUse($0.id) }
            for d in doomed { images[d.id] = nil }
            try store.images.save(images)
            try store.collectGarbage()
            return doomed.sorted { $0.id < $1.id }
        }
    }

    /// Adds a name to an image.
    public static func tag(_ source: String, as name: String, in store: Store) throws -> ImageRecord {
        let target = try ImageLookup.normalizedName(name)
        return try store.locked {
            var all = try store.images.load()
            var image = try ImageLookup.find(source, in: all)
            for (id, var other) in all where id != image.id && other.names.contains(target) {
                other.names.removeAll { $0 == target }
                all[id] = other
            }
            if !image.names.contains(target) { image.names.append(target) }
            all[image.id] = image
            try store.images.save(all)
            return image
        }
    }

    /// Finds a layer by diff ID or a unique prefix of it.
    public static func findLayer(_ text: String, in store: Store) throws -> Layer {
        var hex = text
        if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
        let matches = store.layers.list().filter { !hex.isEmpty && $0.diffID.hex.hasPrefix(hex) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            throw EngineError("layer ID prefix \"\(text)\" is ambiguous: " + matches.map { $0.diffID.short }.sorted().joined(separator: ", "))
        }
        throw EngineError("no such layer: \(text)")
    }

    /// `layer rm`: refused while an image uses the layer.
    public static func removeLayer(_ text: String, from store: Store) throws -> Layer {
        try store.locked {
            let layer = try findLayer(text, in: store)
            let users = try store.images.load().values.filter { $0.layers.contains(layer.diffID) }
            if !users.isEmpty {
                throw EngineError("layer \(layer.diffID.short) is used by image "
                                  + users.map { $0.names.first.map(Reference.familiar) ?? $0.id.short }.sorted().joined(separator: ", "))
            }
            try store.layers.remove(layer.diffID)
            try store.collectGarbage()
            return layer
        }
    }
}
