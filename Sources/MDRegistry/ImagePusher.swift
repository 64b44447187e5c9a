#if canImport(Glibc)
import Glibc
#endif
import MDCore
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// `push`: an image of the store to a registry, as the distribution spec has it. Each blob
/// (layers, then the config) is asked for first (`HEAD`); one the registry lacks is
/// mounted from another repository of the same registry when an image of the store came
/// from there, and uploaded otherwise (`POST` for a session, then one `PUT` with the whole
/// blob and its digest, or for a large blob `PATCH`es of chunks and a `PUT` of the digest). The manifest goes last, as stored, so the pushed digest is the
/// image's own manifest digest.
public struct ImagePusher {
    public struct Result {
        public var reference: Reference
        public var digest: Digest
        public var size: Int
    }

    let store: Store
    let reference: Reference
    let session: RegistrySession
    let progress: ProgressEvents
    var source: String { reference.description }

    /// Pushes `image` (a name or ID in the store) as `destination` (its name when nil).
    public static func push(_ image: String, as destination: String?, from store: Store, tlsVerify: Bool = true,
                            progress: ProgressEvents = ProgressEvents()) throws -> Result {
        let record = try ImageLookup.find(image, in: try store.images.load())
        let ref = try Reference(parsing: destination ?? image)
        guard ref.digest == nil else { throw EngineError("invalid push target \"\(destination ?? image)\": a digest cannot be pushed to") }
        // Repositories of the same registry that images of this store came from: blobs
        // can be mounted from there.
        var others: [String] = []
        for i in try store.images.load().values {
            for n in i.names {
                if let r = try? Reference(parsing: n), r.domain == ref.domain, r.path != ref.path, !others.contains(r.path) {
                    others.append(r.path)
                }
            }
        }
        let session = try RegistryClient.session(for: ref.domain, repository: ref.path, actions: "pull,push",
                                                 tlsVerify: tlsVerify,
                                                 extraScopes: others.prefix(5).map { "repository:\($0):pull" })
        let pusher = ImagePusher(store: store, reference: ref, session: session, progress: progress)
        return try pusher.run(record, mountFrom: Array(others.prefix(5)))
    }

    func run(_ image: ImageRecord, mountFrom: [String]) throws -> Result {
        let manifestBytes = try store.blobs.read(image.manifest)
        let manifest = try ImageManifest(bytes: manifestBytes, source: "image \(image.id.short)")
        progress.say("The push refers to repository [\(reference.name)]")
        for d in manifest.layers.reversed() + [manifest.config] {
            guard store.blobs.has(d.digest) else {
                throw EngineError("\(source): blob \(d.digest) of image \(image.id.short) is missing from the store")
            }
            let id = d.digest.short
            if try exists(d.digest) {
                if d != manifest.config { progress.layer(id, "Layer already exists") }
                continue
            }
            if d != manifest.config { progress.layer(id, "Preparing") }
            var mounted = false
            for repo in mountFrom where !mounted {
                mounted = try mount(d.digest, from: repo)
                if mounted && d != manifest.config { progress.layer(id, "Mounted from \(repo)") }
            }
            if !mounted {
                if d != manifest.config { progress.layer(id, "Pushing") }
                try upload(d)
                if d != manifest.config { progress.layer(id, "Pushed") }
            }
        }
        let tag = reference.tag ?? "latest"
        let r = try session.send(.PUT, "/v2/\(reference.path)/manifests/\(tag)",
                                 headers: HTTPHeaders([("Content-Type", manifest.mediaType)]),
                                 body: { .bytes(manifestBytes) })
        guard r.status == 201 || r.status == 200 else {
            throw EngineError("\(source): the registry refused the manifest (\(r.status))" + RegistryError.detail(r.body))
        }
        let digest = Digest.of(manifestBytes)
        if let h = r.header("Docker-Content-Digest"), h != digest.description {
            throw EngineError("\(source): the registry stored the manifest as \(h), not \(digest)")
        }
        progress.say("\(tag): digest: \(digest) size: \(manifestBytes.count)")
        // As Docker: the pushed digest is one of the image's RepoDigests.
        try store.locked {
            var all = try store.images.load()
            ImageRecord.addDigest(reference.name + "@" + digest.description, to: image.id, in: &all)
            try store.images.save(all)
        }
        store.events.record("image", "push", id: image.id.description, attributes: ["name": reference.description])
        return Result(reference: reference, digest: digest, size: manifestBytes.count)
    }

    func exists(_ d: Digest) throws -> Bool {
        let r = try session.send(.HEAD, "/v2/\(reference.path)/blobs/\(d)")
        return r.status == 200
    }

    func mount(_ d: Digest, from repo: String) throws -> Bool {
        let r = try session.send(.POST, "/v2/\(reference.path)/blobs/uploads/?mount=\(d)&from=\(repo)")
        if r.status == 201 { return true }
        // 202: the registry started an upload instead; it is abandoned (it expires).
        return false
    }

    /// The location an upload session continues at, as an absolute URL.
    func location(_ r: HTTPResult) throws -> String {
        guard let loc = r.header("Location") else { throw EngineError("\(source): the registry gave no upload location") }
        return loc.hasPrefix("http") ? loc : session.base + loc
    }

    /// Blobs larger than this go in chunks of this size (`MDLUA_REGISTRY_CHUNK_SIZE`, bytes;
    /// 0: always monolithic).
    static let chunkSize = Int64(HTTPTransport.env("MDLUA_REGISTRY_CHUNK_SIZE") ?? "") ?? 64 << 20

    func upload(_ d: Descriptor) throws {
        let start = try session.send(.POST, "/v2/\(reference.path)/blobs/uploads/")
        guard start.status == 202 else {
            throw EngineError("\(source): the registry refused an upload (\(start.status))" + RegistryError.detail(start.body))
        }
        var loc = try location(start)
        let path = store.blobs.path(d.digest)
        var body: () -> HTTPClient.Body? = { ImagePusher.fileBody(path, from: 0, size: d.size) }
        if ImagePusher.chunkSize > 0 && d.size > ImagePusher.chunkSize {
            loc = try uploadChunks(d, path: path, at: loc)
            body = { .bytes([]) }
        }
        let url = loc + (loc.contains("?") ? "&" : "?") + "digest=" + RegistrySession.escape(d.digest.description)
        let r = try session.send(.PUT, url, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]), body: body)
        guard r.status == 201 else {
            throw EngineError("\(source): upload of blob \(d.digest) failed (\(r.status))" + RegistryError.detail(r.body))
        }
    }

    /// A chunked upload, as the distribution spec has it: `PATCH` after `PATCH`, each with
    /// `Content-Range: FIRST-LAST` of the next chunk, each answered with where the upload
    /// continues. A chunk the registry refuses as out of order (416, as after a retried
    /// chunk it had partly taken) makes us ask it how much it has (`GET` of the upload:
    /// `Range: 0-LAST`) and go on from there. Returns where to `PUT` the digest.
    func uploadChunks(_ d: Descriptor, path: String, at start: String) throws -> String {
        var loc = start
        var offset: Int64 = 0
        var refusals = 0
        let id = d.digest.short
        while offset < d.size {
            let n = min(ImagePusher.chunkSize, d.size - offset)
            let at = offset
            let r = try session.send(.PATCH, loc, headers: HTTPHeaders([
                ("Content-Type", "application/octet-stream"), ("Content-Range", "\(at)-\(at + n - 1)"),
            ]), body: { ImagePusher.fileBody(path, from: at, size: n) })
            if r.status == 416 && refusals < 3 {
                refusals += 1
                let status = try session.send(.GET, loc)
                guard status.status == 204, let range = status.header("Range"), let last = Int64(range.split(separator: "-").last ?? "") else {
                    throw EngineError("\(source): upload of blob \(d.digest): the registry refused a chunk and did not say how much it has (\(status.status))")
                }
                offset = last + 1
                loc = (try? location(status)) ?? loc
                continue
            }
            guard r.status == 202 else {
                throw EngineError("\(source): upload of blob \(d.digest) failed at byte \(at) (\(r.status))" + RegistryError.detail(r.body))
            }
            loc = try location(r)
            offset = at + n
            progress.transferred(id, "Pushing", offset, of: d.size)
        }
        return loc
    }

    /// `size` bytes of a file from `from` as a request body, read a MiB at a time as the
    /// connection takes it.
    static func fileBody(_ path: String, from start: Int64, size: Int64) -> HTTPClient.Body {
        if size == 0 { return .bytes([]) }
        return .stream(contentLength: size) { writer in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            func next(_ done: Int64) -> EventLoopFuture<Void> {
                let at = start + done
                let want = Int(min(Int64(1 << 20), size - done))
                var buffer = ByteBuffer()
                buffer.reserveCapacity(want)
                let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { p in
                    max(0, pread(fd, p.baseAddress, want, off_t(at)))
                }
                if n <= 0 || done + Int64(n) >= size {
                    return writer.write(.byteBuffer(buffer)).always { _ in close(fd) }
                }
                return writer.write(.byteBuffer(buffer)).flatMap { next(done + Int64(n)) }
            }
            return next(0)
        }
    }
}
