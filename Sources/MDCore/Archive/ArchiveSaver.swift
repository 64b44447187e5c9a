#if canImport(Glibc)
import Glibc
#endif
import CStream

/// `save`: images as a `docker save` archive (uncompressed layer tars named by diff ID,
/// `manifest.json` with RepoTags) or an OCI archive (the blobs as stored, `index.json`
/// naming each image).
public enum ArchiveSaver {
    public enum Format: String { case docker, oci }

    /// Writes to `fd`. `images` pairs each image with the names to give it in the archive.
    public static func save(from store: Store, images: [(ImageRecord, [String])], format: Format, to fd: Int32) throws {
        let tar = TarWriter(fd: fd, what: "archive")
        var written: Set<String> = []
        let now = Int64(time(nil))

        func addBytes(_ name: String, _ bytes: [UInt8]) throws {
            guard written.insert(name).inserted else { return }
            var h = TarWriter.Header(name: name)
            h.size = UInt64(bytes.count)
            h.mtime = now
            try tar.append(h) { sink in try bytes.withUnsafeBytes { try sink($0) } }
        }

        func addDirectory(_ name: String) throws {
            guard written.insert(name).inserted else { return }
            var h = TarWriter.Header(name: name)
            h.type = FileType.directory
            h.mode = 0o755
            h.mtime = now
            try tar.append(h)
        }

        /// A stored blob, as it is (`plain` false) or decompressed to its tar (`plain` true).
        func addBlob(_ name: String, _ digest: Digest, size: UInt64, plain: Bool) throws {
            guard written.insert(name).inserted else { return }
            let path = store.blobs.path(digest)
            let bfd = open(path, O_RDONLY | O_CLOEXEC)
            guard bfd >= 0 else { throw EngineError.system("open blob \(digest)") }
            defer { close(bfd) }
            guard let s = mdl_stream_from_fd(bfd) else { throw EngineError("out of memory") }
            defer { mdl_stream_free(s) }
            var h = TarWriter.Header(name: name)
            h.size = size
            h.mtime = now
            try tar.append(h) { sink in
                if plain {
                    while true {
                        var buf: UnsafeRawPointer?
                        let n = mdl_stream_read_plain(s, &buf)
                        guard n >= 0 else { throw EngineError("blob \(digest): \(String(cString: mdl_stream_error(s)))") }
                        if n == 0 { break }
                        try sink(UnsafeRawBufferPointer(start: buf, count: n))
                    }
                } else {
                    var buf = [UInt8](repeating: 0, count: 1 << 20)
                    while true {
                        let n = buf.withUnsafeMutableBytes { mdl_stream_read(s, $0.baseAddress, $0.count) }
                        guard n >= 0 else { throw EngineError("blob \(digest): \(String(cString: mdl_stream_error(s)))") }
                        if n == 0 { break }
                        try buf.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    }
                }
            }
        }

        switch format {
        case .docker:
            var manifest: [JSON] = []
            var repositories: [String: [String: JSON]] = [:]
            try addDirectory("blobs/")
            try addDirectory("blobs/sha256/")
            for (image, names) in images {
                let configName = "blobs/sha256/" + image.id.hex
                try addBytes(configName, try store.blobs.read(image.id))
                var layerNames: [JSON] = []
                for d in image.layers {
                    let layer = try store.layers.get(d)
                    let name = "blobs/sha256/" + d.hex
                    try addBlob(name, layer.blob, size: layer.tarSize, plain: true)
                    layerNames.append(.string(name))
                }
                let tags = names.map(Reference.familiar)
                manifest.append(.object(["Config": .string(configName),
                                         "RepoTags": .array(tags.map { .string($0) }),
                                         "Layers": .array(layerNames)]))
                for t in tags {
                    if let colon = t.lastIndex(of: ":") {
                        repositories[String(t[..<colon]), default: [:]][String(t[t.index(after: colon)...])] = .string(image.id.hex)
                    }
                }
            }
            try addBytes("manifest.json", Array(JSON.array(manifest).serialized().utf8))
            try addBytes("repositories", Array(JSON.object(repositories.mapValues { .object($0) }).serialized().utf8))
        case .oci:
            try addBytes("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try addDirectory("blobs/")
            try addDirectory("blobs/sha256/")
            var descriptors: [JSON] = []
            for (image, names) in images {
                let manifestBytes = try store.blobs.read(image.manifest)
                let m = try JSON.parse(manifestBytes)
                try addBytes("blobs/sha256/" + image.id.hex, try store.blobs.read(image.id))
                for l in m["layers"]?.array ?? [] {
                    guard let ds = l["digest"]?.string else { continue }
                    let d = try Digest(parsing: ds)
                    try addBlob("blobs/sha256/" + d.hex, d, size: UInt64(l["size"]?.int ?? 0), plain: false)
                }
                try addBytes("blobs/sha256/" + image.manifest.hex, manifestBytes)
                let base: [String: JSON] = ["mediaType": .string(m["mediaType"]?.string ?? MediaType.ociManifest),
                                            "digest": .string(image.manifest.description),
                                            "size": .int(Int64(manifestBytes.count))]
                if names.isEmpty { descriptors.append(.object(base)) }
                for n in names {
                    var d = base
                    d["annotations"] = .object(["org.opencontainers.image.ref.name": .string(n),
                                                "io.containerd.image.name": .string(n)])
                    descriptors.append(.object(d))
                }
            }
            try addBytes("index.json", Array(JSON.object(["schemaVersion": .int(2),
                                                          "mediaType": .string(MediaType.ociIndex),
                                                          "manifests": .array(descriptors)]).serialized().utf8))
        }
        try tar.finish()
    }
}
