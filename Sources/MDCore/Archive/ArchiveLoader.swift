#if canImport(Glibc)
import Glibc
#endif
import CStream

/// `load`: images from a `docker save` archive, an OCI archive (either maybe gzip or zstd
/// compressed as a whole), or an OCI image layout directory.
///
/// One pass over the input: each layer is unpacked while it is read, with its blob digest
/// and diff ID computed on the way. Everything is staged and verified (every blob against
/// its digest, every layer against its diff ID) before anything is published, so a bad
/// archive leaves no partial image, no orphaned layer and no temporary file.
public struct ArchiveLoader {
    enum Entry {
        case data([UInt8])
        case layer(StagedLayer)
        /// A layer that did not unpack: an error only if a manifest names it with the
        /// digest its bytes have (otherwise the digest mismatch is the error).
        case unreadable(StagedLayer.Unreadable)
    }

    let store: Store
    let staging: Staging
    var entries: [String: Entry] = [:]
    var aliases: [String: String] = [:]
    var layerCount = 0
    let source: String
    /// skopeo's `dir:` layout: `manifest.json` is the image's manifest itself and the blobs
    /// are beside it, named by their hex digest (`version` says which format).
    var dirLayout: Bool {
        if case .data(let v)? = lookup("version") { return String(decoding: v, as: UTF8.self).hasPrefix("Directory Transport Version:") }
        return false
    }

    static let maxDataBlob = 64 << 20

    /// Loads from a file, a directory (OCI layout), or stdin when `path` is nil or "-".
    public static func load(into store: Store, from path: String?) throws -> [ImageRecord] {
        let name = (path == nil || path == "-") ? "stdin" : path!
        var loader = ArchiveLoader(store: store, staging: try store.staging("load"), source: name)
        if let path, path != "-", FileSystem.isDirectory(path) {
            try loader.readLayout(path)
        } else {
            var fd: Int32 = 0
            if let path, path != "-" {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw EngineError.system("open \(path)") }
            }
            defer { if fd != 0 { close(fd) } }
            try loader.readArchive(fd)
        }
        return try loader.commit()
    }

    // MARK: reading

    mutating func readArchive(_ fd: Int32) throws {
        guard let a = archive_read_new() else { throw EngineError("cannot allocate an archive reader") }
        defer { archive_read_free(a) }
        archive_read_support_format_tar(a)
        archive_read_support_filter_gzip(a)
        archive_read_support_filter_zstd(a)
        archive_read_support_filter_none(a)
        guard archive_read_open_fd(a, fd, 1 << 20) == ARCHIVE_OK else {
            throw EngineError("\(source): \(String(cString: archive_error_string(a)))")
        }
        var entry: OpaquePointer?
        while true {
            let rc = archive_read_next_header(a, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let e = entry else {
                throw EngineError("\(source): not a readable tar archive: \(String(cString: archive_error_string(a)))")
            }
            let name = ArchiveLoader.clean(archive_entry_pathname(e).map { String(cString: $0) } ?? "")
            let type = UInt32(archive_entry_filetype(e))
            if type == FileType.symlink, let target = archive_entry_symlink(e) {
                aliases[name] = ArchiveLoader.resolve(String(cString: target), from: name)
            } else if let link = archive_entry_hardlink(e) {
                aliases[name] = ArchiveLoader.clean(String(cString: link))
            } else if type == FileType.regular {
                guard let s = mdl_stream_from_archive(a) else { throw EngineError("out of memory") }
                defer { mdl_stream_free(s) }
                try readEntry(name, s)
            }
        }
    }

    mutating func readLayout(_ dir: String) throws {
        func walk(_ rel: String) throws {
            let full = rel.isEmpty ? dir : dir + "/" + rel
            for name in FileSystem.list(full) {
                let r = rel.isEmpty ? name : rel + "/" + name
                var st = stat()
                guard lstat(dir + "/" + r, &st) == 0 else { continue }
                if (UInt32(st.st_mode) & FileType.mask) == FileType.directory { try walk(r); continue }
                guard (UInt32(st.st_mode) & FileType.mask) == FileType.regular else { continue }
                let fd = open(dir + "/" + r, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                guard fd >= 0 else { throw EngineError.system("open \(dir)/\(r)") }
                defer { close(fd) }
                guard let s = mdl_stream_from_fd(fd) else { throw EngineError("out of memory") }
                defer { mdl_stream_free(s) }
                try readEntry(r, s)
            }
        }
        try walk("")
    }

    mutating func readEntry(_ name: String, _ s: OpaquePointer) throws {
        layerCount += 1
        do {
            if let staged = try StagedLayer.stage(s, into: staging.path + "/layer-\(layerCount)", what: "\(source): \(name)") {
                entries[name] = .layer(staged)
                return
            }
        } catch let e as StagedLayer.Unreadable {
            entries[name] = .unreadable(e)
            return
        }
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { mdl_stream_read(s, $0.baseAddress, $0.count) }
            guard n >= 0 else { throw EngineError("\(source): \(name): \(String(cString: mdl_stream_error(s)))") }
            if n == 0 { break }
            data.append(contentsOf: buf[0..<n])
            guard data.count <= ArchiveLoader.maxDataBlob else {
                throw EngineError("\(source): \(name) is neither a layer nor a manifest or config (too large)")
            }
        }
        entries[name] = .data(data)
    }

    static func clean(_ name: String) -> String {
        name.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    /// A symlink's target relative to the directory holding it.
    static func resolve(_ target: String, from link: String) -> String {
        RootedDirectory.resolve(target, from: link.split(separator: "/").dropLast().map(String.init))
            .joined(separator: "/")
    }

    func lookup(_ name: String) -> Entry? {
        var n = ArchiveLoader.clean(name)
        for _ in 0..<8 { if let a = aliases[n] { n = a } else { break } }
        return entries[n]
    }

    func data(_ name: String, what: String) throws -> [UInt8] {
        switch lookup(name) {
        case .data(let d)?: return d
        case .layer?, .unreadable?: throw EngineError("\(source): \(what) \(name) is a tar, not JSON")
        case nil: throw EngineError("\(source): the manifest names \(what) \(name), which the archive lacks")
        }
    }

    func json(_ bytes: [UInt8], _ what: String) throws -> JSON {
        do { return try JSON.parse(bytes) } catch { throw EngineError("\(source): \(what) is not valid JSON (\(error))") }
    }

    /// Where the blobs are: `blobs/sha256/<hex>` in an OCI layout, `<hex>` in skopeo's
    /// `dir:` layout (`<hex>.tar` for its layers in the first version of that format).
    func blobName(_ d: Digest) -> String {
        if !dirLayout { return "blobs/sha256/" + d.hex }
        return lookup(d.hex) == nil && lookup(d.hex + ".tar") != nil ? d.hex + ".tar" : d.hex
    }

    /// A JSON blob (manifest, config), checked against its descriptor.
    func blob(_ d: Descriptor, what: String) throws -> [UInt8] {
        let bytes = try data(blobName(d.digest), what: what)
        try d.verify(bytes, source: source, what: what)
        return bytes
    }

    /// A layer, checked against its descriptor (media type, digest, size) and its diff ID.
    func layer(_ d: Descriptor, diffID: Digest) throws -> StagedLayer {
        let name = blobName(d.digest)
        try d.verifyLayerType(source: source)
        if case .unreadable(let u)? = lookup(name) {
            guard u.blob == d.digest else {
                throw EngineError("\(source): layer \(d.digest) does not match its digest (content is \(u.blob))")
            }
            throw u
        }
        guard case .layer(let l)? = lookup(name) else {
            if lookup(name) == nil { throw EngineError("\(source): the manifest names layer \(d.digest), which the archive lacks") }
            throw EngineError("\(source): layer \(d.digest) is not a tar archive")
        }
        try d.verify(layer: l, source: source)
        guard l.diffID == diffID else {
            throw EngineError("\(source): layer \(d.digest) does not match diff ID \(diffID) (content is \(l.diffID))")
        }
        return l
    }

    /// A layer named by a `docker save` manifest, checked against its diff ID (and its blob
    /// digest when the name states one: these archives have no descriptors).
    func layer(_ name: String, diffID: String?, blobDigest: Digest?) throws -> StagedLayer {
        if case .unreadable(let u)? = lookup(name) {
            if let blobDigest, u.blob != blobDigest {
                throw EngineError("\(source): layer \(name) does not match its digest \(blobDigest) (content is \(u.blob))")
            }
            throw u
        }
        guard case .layer(let l)? = lookup(name) else {
            if lookup(name) == nil { throw EngineError("\(source): the manifest names layer \(name), which the archive lacks") }
            throw EngineError("\(source): layer \(name) is not a tar archive")
        }
        if let blobDigest, l.blob != blobDigest {
            throw EngineError("\(source): layer \(name) does not match its digest \(blobDigest) (content is \(l.blob))")
        }
        guard let diffID else { throw EngineError("\(source): the config lists fewer diff IDs than the manifest has layers") }
        guard l.diffID.description == diffID else {
            throw EngineError("\(source): layer \(name) does not match diff ID \(diffID) (content is \(l.diffID))")
        }
        return l
    }

    // MARK: interpreting

    struct Found {
        var config: [UInt8]
        var layers: [StagedLayer]
        var names: [String]
        var manifest: [UInt8]?
    }

    func dockerImages(_ manifest: [UInt8]) throws -> [Found] {
        guard let items = try json(manifest, "manifest.json").array else {
            throw EngineError("\(source): manifest.json is not a list")
        }
        return try items.map { item in
            guard let configName = item["Config"]?.string, let layerNames = item["Layers"]?.stringArray else {
                throw EngineError("\(source): manifest.json entry lacks Config or Layers")
            }
            let config = try data(configName, what: "config")
            if let d = ArchiveLoader.digestInName(configName), Digest.of(config) != d {
                throw EngineError("\(source): config \(configName) does not match its digest")
            }
            let diffIDs = try json(config, "config \(configName)")["rootfs"]?["diff_ids"]?.stringArray ?? []
            guard diffIDs.count == layerNames.count else {
                throw EngineError("\(source): \(configName) lists \(diffIDs.count) diff IDs for \(layerNames.count) layers")
            }
            let layers = try layerNames.enumerated().map { i, n in
                try layer(n, diffID: diffIDs[i], blobDigest: ArchiveLoader.digestInName(n))
            }
            let names = try (item["RepoTags"]?.stringArray ?? []).map(ImageLookup.normalizedName)
            return Found(config: config, layers: layers, names: names, manifest: nil)
        }
    }

    /// One image from its manifest: config and layers verified against their descriptors.
    func image(_ manifest: ImageManifest, names: [String]) throws -> Found {
        let config = try blob(manifest.config, what: "config")
        let diffIDs = try manifest.diffIDs(config: config, source: source)
        let layers = try zip(manifest.layers, diffIDs).map { try layer($0, diffID: $1) }
        return Found(config: config, layers: layers, names: names, manifest: manifest.bytes)
    }

    func ociImages(_ index: [UInt8]) throws -> [Found] {
        var found: [Found] = []
        func visit(_ descriptors: [JSON], depth: Int) throws {
            guard depth < 4 else { throw EngineError("\(source): image indexes nested too deeply") }
            for j in descriptors {
                let d = try Descriptor(json: j, what: "\(source): a manifest descriptor")
                // Attestations and other artifacts are not images: skipped, never unpacked.
                if d.isArtifact { continue }
                if let p = d.platform, !Descriptor.Platform.host.accepts(p) { continue }
                let bytes = try blob(d, what: "manifest")
                if MediaType.isIndex(d.mediaType) || (d.mediaType.isEmpty && (try? JSON.parse(bytes))?["manifests"] != nil) {
                    try visit(try json(bytes, "index \(d.digest)")["manifests"]?.array ?? [], depth: depth + 1)
                    continue
                }
                let m = try ImageManifest(bytes: bytes, mediaType: d.mediaType.isEmpty ? nil : d.mediaType,
                                          source: "\(source): manifest \(d.digest)")
                var names: [String] = []
                for key in ["io.containerd.image.name", "org.opencontainers.image.ref.name"] {
                    // A bare tag ("latest") names nothing on its own.
                    if let n = d.annotations[key], n.contains("/") || n.contains(":"),
                       let norm = try? ImageLookup.normalizedName(n), !names.contains(norm) {
                        names.append(norm)
                    }
                }
                found.append(try image(m, names: names))
            }
        }
        try visit(try json(index, "index.json")["manifests"]?.array ?? [], depth: 0)
        return found
    }

    static func digestInName(_ name: String) -> Digest? {
        let parts = name.split(separator: "/")
        if parts.count >= 2, parts[parts.count - 2] == "sha256", Digest.isHex(String(parts.last!)) {
            return Digest(hex: String(parts.last!))
        }
        if let base = parts.last, base.hasSuffix(".json"), Digest.isHex(String(base.dropLast(5))) {
            return Digest(hex: String(base.dropLast(5)))
        }
        return nil
    }

    func commit() throws -> [ImageRecord] {
        let found: [Found]
        if case .data(let m)? = lookup("manifest.json"), dirLayout {
            if try json(m, "manifest.json")["manifests"] != nil {
                found = try ociImages(m)   // `skopeo copy --all`: an index
            } else {
                found = [try image(try ImageManifest(bytes: m, source: "\(source): manifest.json"), names: [])]
            }
        } else if case .data(let m)? = lookup("manifest.json") {
            found = try dockerImages(m)
        } else if case .data(let i)? = lookup("index.json") {
            found = try ociImages(i)
        } else {
            throw EngineError("\(source): not a docker or OCI image archive (no manifest.json or index.json)")
        }
        guard !found.isEmpty else { throw EngineError("\(source): the archive holds no image") }
        try store.syncStaged()
        return try store.locked {
            var published: [Digest: Layer] = [:]
            return try found.map { f in
                let layers = try f.layers.map { staged -> Layer in
                    if let l = published[staged.diffID] { return l }
                    let l = try staged.publish(to: store)
                    published[staged.diffID] = l
                    return l
                }
                return try ImageAssembler.record(in: store, configBytes: f.config, layers: layers,
                                                 names: f.names, manifestBytes: f.manifest)
            }
        }
    }
}
