/// Makes an image from stored layers and a config: fills in `rootfs.diff_ids`, writes the
/// config and an OCI manifest as blobs, and records it under its names.
public enum ImageAssembler {
    /// `config` is an OCI image config object; `rootfs` is set here, `created`,
    /// `architecture` and `os` only when missing. Call with the store lock held.
    public static func create(in store: Store, layers: [Layer], config: JSON, names: [String],
                              manifestBytes: [UInt8]? = nil, digests: [String] = []) throws -> ImageRecord {
        guard var c = config.object else { throw EngineError("image config must be a JSON object") }
        c["rootfs"] = .object(["type": .string("layers"),
                               "diff_ids": .array(layers.map { .string($0.diffID.description) })])
        if c["architecture"] == nil { c["architecture"] = .string("amd64") }
        if c["os"] == nil { c["os"] = .string("linux") }
        if c["created"] == nil { c["created"] = .string(Clock.now()) }
        return try record(in: store, configBytes: Array(JSON.object(c).serialized().utf8), layers: layers,
                          names: names, manifestBytes: manifestBytes)
    }

    /// Records an image whose config bytes are given as they are (a loaded image keeps its
    /// config byte for byte, so its ID stays the same). Call with the store lock held.
    public static func record(in store: Store, configBytes: [UInt8], layers: [Layer], names: [String],
                              manifestBytes: [UInt8]? = nil, digests: [String] = []) throws -> ImageRecord {
        let config = try JSON.parse(configBytes)
        let id = try store.blobs.put(configBytes)
        let manifest = try manifestBytes ?? Array(JSON.object([
            "schemaVersion": .int(2),
            "mediaType": .string(MediaType.ociManifest),
            "config": .object(["mediaType": .string(MediaType.ociConfig), "digest": .string(id.description),
                               "size": .int(Int64(configBytes.count))]),
            "layers": .array(layers.map { l in
                .object(["mediaType": .string(l.mediaType), "digest": .string(l.blob.description),
                         "size": .int(Int64(l.blobSize))])
            }),
        ]).serialized().utf8)
        let manifestDigest = try store.blobs.put(manifest)
        var all = try store.images.load()
        let existing = all[id]
        var record = ImageRecord(id: id, manifest: existing?.manifest ?? manifestDigest,
                                 layers: layers.map(\.diffID), names: existing?.names ?? [],
                                 created: config["created"]?.string ?? "",
                                 size: layers.reduce(0) { $0 + $1.size }, added: existing?.added ?? Clock.now())
        for n in names where !record.names.contains(n) { record.names.append(n) }
        // A name belongs to one image: it moves.
        for (otherID, var other) in all where otherID != id {
            let before = other.names.count
            other.names.removeAll { names.contains($0) }
            if other.names.count != before { all[otherID] = other }
        }
        if let existing { record.digests = existing.digests }
        all[id] = record
        for d in digests { ImageRecord.addDigest(d, to: id, in: &all) }
        try store.images.save(all)
        return all[id]!
    }
}
