#if canImport(Glibc)
import Glibc
#endif
import MDCore
import CStream
import Dispatch
import NIOConcurrencyHelpers
import NIOHTTP1
import NIOPosix

/// `pull`: an image from a registry into the store.
///
/// The manifest is fetched (an index is resolved to the platform's image, attestations
/// skipped) and checked as `load` checks one (`ImageManifest`); layers not in the store
/// yet are downloaded in parallel, at most `concurrency` at a time, each verified against
/// its descriptor while it streams (`BlobDownload`), then unpacked by the store's one
/// safe path (`StagedLayer`) in a staging directory. Only when every layer is there and
/// matches the config's diff IDs is anything published, under the store lock.
public struct ImagePuller {
    public struct Options {
        public var platform = Descriptor.Platform.host
        public var tlsVerify = true
        public var concurrency = 3
        public var progress = ProgressEvents()
        public init() {}
    }

    public struct Result {
        public var image: ImageRecord
        public var reference: Reference
        /// The digest the reference resolved to (an index's when it was one).
        public var digest: Digest
        public var platform: Descriptor.Platform
        /// False when the image was already in the store, whole.
        public var downloaded: Bool
    }

    static let manifestTypes = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest]

    let store: Store
    let reference: Reference
    let options: Options
    let session: RegistrySession
    var source: String { reference.description }

    public static func pull(_ text: String, into store: Store, options: Options = Options()) throws -> Result {
        let ref = try Reference(parsing: text)
        return try RegistryClient.reading(ref.domain, repository: ref.path, tlsVerify: options.tlsVerify) { session in
            try ImagePuller(store: store, reference: ref, options: options, session: session).run()
        }
    }

    /// Every tag of a repository (`pull -a`).
    public static func tags(_ text: String, tlsVerify: Bool) throws -> [String] {
        let ref = try Reference(parsing: text)
        return try RegistryClient.reading(ref.domain, repository: ref.path, tlsVerify: tlsVerify) { session in
            let r = try session.send(.GET, "/v2/\(ref.path)/tags/list")
            guard r.status == 200 else {
                throw RegistryError.notFound("\(ref.name): cannot list tags (\(r.status))" + RegistryError.detail(r.body))
            }
            return (try? JSON.parse(r.body))?["tags"]?.stringArray ?? []
        }
    }

    func fetchManifest(_ what: String, accept: [String]) throws -> (bytes: [UInt8], type: String, digest: String?) {
        let r = try session.send(.GET, "/v2/\(reference.path)/manifests/\(what)",
                                 headers: HTTPHeaders([("Accept", accept.joined(separator: ", "))]), limit: 4 << 20)
        if r.status == 404 {
            throw RegistryError.notFound("\(source): not found: manifest unknown")
        }
        guard r.status == 200 else {
            throw EngineError("\(source): the registry answered \(r.status) for manifest \(what)" + RegistryError.detail(r.body))
        }
        return (r.body, r.header("Content-Type") ?? "", r.header("Docker-Content-Digest"))
    }

    func run() throws -> Result {
        let p = options.progress
        var (bytes, type, headerDigest) = try fetchManifest(reference.digest?.description ?? reference.tag ?? "latest",
                                                            accept: ImagePuller.manifestTypes)
        let digest = Digest.of(bytes)
        // By digest, the bytes must be those; by tag, what the registry says they are.
        if let want = reference.digest, want != digest {
            throw EngineError("\(source): manifest does not match its digest (content is \(digest))")
        }
        if let h = headerDigest, let d = try? Digest(parsing: h), d != digest {
            throw EngineError("\(source): manifest does not match Docker-Content-Digest \(h) (content is \(digest))")
        }
        if let t = reference.tag { p.say("\(t): Pulling from \(reference.path)") }
        var platform = options.platform
        let j = try? JSON.parse(bytes)
        if MediaType.isIndex(type) || MediaType.isIndex(j?["mediaType"]?.string ?? "") || j?["manifests"] != nil {
            let chosen = try choose(from: bytes)
            platform = chosen.platform ?? platform
            (bytes, type, headerDigest) = try fetchManifest(chosen.digest.description, accept: [MediaType.ociManifest, MediaType.dockerManifest])
            try chosen.verify(bytes, source: source, what: "manifest")
        }
        let manifest = try ImageManifest(bytes: bytes, mediaType: MediaType.isManifest(type) ? type : nil, source: source)
        Trace.mark("pull: manifest")
        let config = try fetchSmallBlob(manifest.config)
        Trace.mark("pull: config")
        let diffIDs = try manifest.diffIDs(config: config, source: source)
        if let c = try? JSON.parse(config), let os = c["os"]?.string, let arch = c["architecture"]?.string {
            platform = Descriptor.Platform(os: os, architecture: arch, variant: c["variant"]?.string)
        }

        let staging = try store.staging("pull")
        PartialDownloads.removeStale(root: store.root)
        let staged = try fetchLayers(manifest, diffIDs: diffIDs, staging: staging)
        Trace.mark("pull: layers staged")
        // Every download and unpacked tree on disk before anything is published (each was
        // sent on its way as it was written; this waits for what is left).
        if staged.contains(where: { $0 != nil }) { try store.syncStaged() }
        Trace.mark("pull: synced")
        let existing = try store.images.load()[Digest.of(config)]
        let names = reference.tag != nil ? [reference.name + ":" + reference.tag!] : []
        let image: ImageRecord = try store.locked {
            var layers: [Layer] = []
            for (i, s) in staged.enumerated() {
                if let s { layers.append(try s.publish(to: store, durable: false)) } else { layers.append(try store.layers.get(diffIDs[i])) }
            }
            // The layers' records and renames, the config and the manifest: on disk, with one
            // sync, before images.json names them (written durably, last).
            try store.blobs.put(config, durable: false)
            try store.blobs.put(manifest.bytes, durable: false)
            try store.syncStaged()
            return try ImageAssembler.record(in: store, configBytes: config, layers: layers, names: names,
                                             manifestBytes: manifest.bytes, digests: [reference.name + "@" + digest.description])
        }
        Trace.mark("pull: published")
        for (i, s) in staged.enumerated() where s != nil { unlinkPartial(manifest.layers[i]) }
        p.say("Digest: \(digest)")
        let familiar = Reference.familiar(reference.name) + (reference.tag.map { ":" + $0 } ?? "")
        if existing != nil && existing!.layers == image.layers && staged.allSatisfy({ $0 == nil }) {
            p.say("Status: Image is up to date for \(familiar)")
        } else {
            p.say("Status: Downloaded newer image for \(familiar)")
        }
        store.events.record("image", "pull", id: image.id.description, attributes: ["name": reference.description])
        return Result(image: image, reference: reference, digest: digest, platform: platform,
                      downloaded: staged.contains { $0 != nil })
    }

    /// The index entry for the platform asked for; attestations and artifacts are not.
    func choose(from index: [UInt8]) throws -> Descriptor {
        let j = try JSON.parse(index)
        var seen: [String] = []
        for m in j["manifests"]?.array ?? [] {
            let d = try Descriptor(json: m, what: "\(source): an index entry")
            if d.isArtifact { continue }
            guard let p = d.platform else { continue }
            seen.append(p.description)
            if options.platform.accepts(p) { return d }
        }
        throw RegistryError.notFound("\(source): no image for platform \(options.platform) in the index (it has: \(seen.joined(separator: ", ")))")
    }

    /// A config (or other small JSON blob), verified against its descriptor.
    func fetchSmallBlob(_ d: Descriptor) throws -> [UInt8] {
        if store.blobs.has(d.digest), let b = try? store.blobs.read(d.digest), Digest.of(b) == d.digest { return b }
        let r = try session.send(.GET, "/v2/\(reference.path)/blobs/\(d.digest)", limit: 16 << 20)
        guard r.status == 200 else {
            throw RegistryError.notFound("\(source): blob \(d.digest) is missing from the registry (\(r.status))" + RegistryError.detail(r.body))
        }
        try d.verify(r.body, source: source, what: "config")
        return r.body
    }

    var partialDirectory: String { PartialDownloads.directory(store.root) }
    /// The file each layer was downloaded to: `<hex>`, or a private `<hex>-PID` when
    /// another pull held `<hex>` (which stays that pull's).
    let downloadedTo = NIOLockedValueBox<[Digest: String]>([:])

    func unlinkPartial(_ d: Descriptor) {
        let path = downloadedTo.withLockedValue { $0[d.digest] } ?? partialDirectory + "/" + d.digest.hex
        unlink(path)
        unlink(path + ".lock")
    }

    /// Downloads and stages every layer the store lacks; nil for those it has.
    func fetchLayers(_ manifest: ImageManifest, diffIDs: [Digest], staging: Staging) throws -> [StagedLayer?] {
        let p = options.progress
        var results = [StagedLayer?](repeating: nil, count: manifest.layers.count)
        var errors: [Error?] = Array(repeating: nil, count: manifest.layers.count)
        let lock = NIOLock()
        var todo: [Int] = []
        var seen: Set<Digest> = []
        for (i, l) in manifest.layers.enumerated() {
            if store.layers.has(diffIDs[i]) || seen.contains(diffIDs[i]) {
                p.layer(l.digest.short, "Already exists")
            } else {
                seen.insert(diffIDs[i])
                todo.append(i)
                p.layer(l.digest.short, "Waiting")
            }
        }
        // Worker threads of our own, made with signals blocked (HTTPTransport.withSignalsBlocked),
        // each downloading and unpacking one layer at a time.
        // And as many that unpack a download as it arrives.
        let (pool, unpackers) = HTTPTransport.withSignalsBlocked { () -> (NIOThreadPool, NIOThreadPool) in
            let n = max(1, min(options.concurrency, todo.count))
            let p = NIOThreadPool(numberOfThreads: n), u = NIOThreadPool(numberOfThreads: n)
            p.start()
            u.start()
            return (p, u)
        }
        defer {
            try? pool.syncShutdownGracefully()
            try? unpackers.syncShutdownGracefully()
        }
        let group = DispatchGroup()
        var failed = false
        for i in todo {
            group.enter()
            pool.submit { _ in
                defer { group.leave() }
                if lock.withLock({ failed }) { return }
                do {
                    let s = try self.fetchLayer(manifest.layers[i], diffID: diffIDs[i], into: staging.path + "/layer-\(i)",
                                                unpackers: unpackers)
                    lock.withLock { results[i] = s }
                } catch {
                    lock.withLock { errors[i] = error; failed = true }
                }
            }
        }
        group.wait()
        if let e = errors.compactMap({ $0 }).first { throw e }
        // A layer that was in `seen` twice is published once; the later index reuses it.
        return results
    }

    /// One layer: downloaded into its partial file, verified, unpacked into `dir`. A
    /// download from its first byte is unpacked as it arrives, on one of `unpackers`,
    /// through a pipe the download copies every byte to: into `dir`, a staging directory
    /// that is kept only if the whole blob then matches its digest (the unpacking is the
    /// store's one safe path, StagedLayer, whatever the bytes). When the copy was not whole
    /// (the download started over, or resumed from an earlier pull's partial file), the
    /// verified file is unpacked after, as a resumed one always is.
    func fetchLayer(_ d: Descriptor, diffID: Digest, into dir: String, unpackers: NIOThreadPool) throws -> StagedLayer {
        let p = options.progress
        let id = d.digest.short
        let what = "\(source): layer \(d.digest)"
        let download = try BlobDownload(d, directory: partialDirectory, source: source)
        downloadedTo.withLockedValue { $0[d.digest] = download.path }
        download.progress = { p.downloading(id, $0, of: d.size) }
        var streamed: (done: DispatchSemaphore, result: () -> Swift.Result<StagedLayer?, Error>)?
        if !download.complete && download.offset == 0 {
            var ends: [Int32] = [0, 0]
            guard pipe(&ends) == 0 else { throw EngineError.system("pipe") }
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(ends[1], 1031 /* F_SETPIPE_SZ */, 1 << 20)   // fewer wake-ups per MB
            download.teeing(to: ends[1])
            let done = DispatchSemaphore(value: 0)
            let box = NIOLockedValueBox<Swift.Result<StagedLayer?, Error>>(.success(nil))
            unpackers.submit { _ in
                defer { close(ends[0]); done.signal() }
                guard let s = mdl_stream_from_fd(ends[0]) else { box.withLockedValue { $0 = .failure(EngineError("out of memory")) }; return }
                defer { mdl_stream_free(s) }
                // The download hashes these bytes already: the layer is kept only if they
                // are the whole blob and match its digest (streamedLayer).
                mdl_stream_skip_raw_digest(s)
                let r = Swift.Result(catching: {
                    try StagedLayer.stage(s, into: dir, what: what, copyBlob: false, hashedBlob: d.digest)
                })
                box.withLockedValue { $0 = r }
            }
            streamed = (done, { box.withLockedValue { $0 } })
        }
        // The unpacking as it streamed, if it took every byte and made a layer; else its
        // directory goes.
        func streamedLayer() -> StagedLayer? {
            guard let streamed else { return nil }
            download.endTee(whole: true)
            streamed.done.wait()
            if download.teeWhole, case .success(let staged?) = streamed.result() { return staged }
            try? FileSystem.removeTree(dir)
            return nil
        }
        do {
            if !download.complete {
                p.layer(id, "Pulling fs layer")
                let r = try session.stream("/v2/\(reference.path)/blobs/\(d.digest)", sink: download)
                guard r.status == 200 || r.status == 206 else {
                    throw RegistryError.notFound("\(source): blob \(d.digest) is missing from the registry (\(r.status))" + RegistryError.detail(r.body))
                }
            }
            p.layer(id, "Verifying Checksum")
            try download.verify()
            Trace.mark("pull: layer \(id) downloaded")
        } catch let e as TransportError {
            download.endTee(whole: false)
            _ = streamedLayer()
            throw e   // what arrived is kept: the next pull resumes it
        } catch {
            download.endTee(whole: false)
            _ = streamedLayer()
            download.discard()
            throw error
        }
        p.layer(id, "Download complete")
        p.layer(id, "Extracting")
        var staged = streamedLayer()
        if staged == nil {
            let fd = open(download.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw EngineError.system("open \(download.path)") }
            defer { close(fd) }
            guard let s = mdl_stream_from_fd(fd) else { throw EngineError("out of memory") }
            defer { mdl_stream_free(s) }
            staged = try StagedLayer.stage(s, into: dir, what: what, copyBlob: false)
        }
        guard let staged else { throw EngineError("\(what) is not a tar archive") }
        // The verified download is the blob: linked in (its partial file goes once published).
        guard link(download.path, staged.blobFile) == 0 else { throw EngineError.system("link \(download.path)") }
        try d.verify(layer: staged, source: source)
        guard staged.diffID == diffID else {
            throw EngineError("\(source): layer \(d.digest) does not match diff ID \(diffID) (content is \(staged.diffID))")
        }
        p.layer(id, "Pull complete")
        Trace.mark("pull: layer \(id) unpacked")
        return staged
    }
}
