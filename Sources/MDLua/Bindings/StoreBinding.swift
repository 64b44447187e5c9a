#if canImport(Glibc)
import Glibc
#endif
import MDCore

/// `md._store`: the image and layer store, for stdlib/mdlua/image.lua and layer.lua, which
/// build the user-facing API (`md.image`, `md.layer`) on top. Every function takes the state
/// root first.
enum StoreBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func store(_ args: LuaArguments) throws -> Store { Store(root: try args.string(1)) }
        func strings(_ args: LuaArguments, _ i: Int) throws -> [String] {
            if args.isNil(i) { return [] }
            return try args.table(i).sorted { ($0.key.integerKey ?? 0) < ($1.key.integerKey ?? 0) }
                .compactMap { $0.value.stringValue }
        }
        return .record([
            "images": vm.function("md.image.list") { args in
                let s = try store(args)
                return [.array(try s.images.load().values.sorted { $0.added > $1.added }.map(lua))]
            },
            "image": vm.function("md.image.get") { args in
                [lua(try ImageLookup.find(try args.string(2), in: try store(args).images.load()))]
            },
            "blob": vm.function("md.image.blob") { args in
                [.string(try store(args).blobs.read(try Digest(parsing: try args.string(2))))]
            },
            "load": vm.function("md.image.load") { args in
                let s = try store(args)
                let images = try ArchiveLoader.load(into: s, from: try args.optionalString(2))
                for i in images { s.events.record("image", "load", id: i.id.description, attributes: ["name": i.names.first ?? ""]) }
                return [.array(images.map(lua))]
            },
            "save": vm.function("md.image.save") { args in
                let s = try store(args)
                let all = try s.images.load()
                var chosen: [(ImageRecord, [String])] = []
                for ref in try strings(args, 2) {
                    let image = try ImageLookup.find(ref, in: all)
                    // Saved under the name it was asked by, or all its names when asked by ID.
                    let asked = (try? ImageLookup.normalizedName(ref)).flatMap { image.names.contains($0) ? [$0] : nil }
                    if let i = chosen.firstIndex(where: { $0.0.id == image.id }) {
                        for n in asked ?? image.names where !chosen[i].1.contains(n) { chosen[i].1.append(n) }
                    } else {
                        chosen.append((image, asked ?? image.names))
                    }
                }
                guard !chosen.isEmpty else { throw EngineError("no image to save") }
                let format = ArchiveSaver.Format(rawValue: try args.optionalString(4) ?? "docker")
                guard let format else { throw EngineError("unknown format \"\(try args.string(4))\" (docker or oci)") }
                try withOutput(try args.optionalString(3)) { fd in
                    try ArchiveSaver.save(from: s, images: chosen, format: format, to: fd)
                }
                for (image, names) in chosen {
                    s.events.record("image", "save", id: image.id.description, attributes: ["name": names.first ?? ""])
                }
                return []
            },
            "tag": vm.function("md.image.tag") { args in
                let s = try store(args)
                let image = try ImageRemoval.tag(try args.string(2), as: try args.string(3), in: s)
                s.events.record("image", "tag", id: image.id.description,
                                attributes: ["name": (try? ImageLookup.normalizedName(try args.string(3))) ?? ""])
                return [lua(image)]
            },
            "remove": vm.function("md.image.remove") { args in
                let s = try store(args)
                let used = ContainerStore(store: s).imagesInUse()
                let target = try? ImageLookup.find(try args.string(2), in: s.images.load())
                let r = try ImageRemoval.remove(try args.string(2), from: s, force: args.boolean(3), inUse: used.contains)
                for n in r.untagged {
                    s.events.record("image", "untag", id: target?.id.description ?? "", attributes: ["name": n])
                }
                for d in r.deleted { s.events.record("image", "delete", id: d.description) }
                return [.record(["untagged": .array(r.untagged.map { .str($0) }),
                                 "deleted": .array(r.deleted.map { .str($0.description) })])]
            },
            "prune": vm.function("md.image.prune") { args in
                let s = try store(args)
                let used = ContainerStore(store: s).imagesInUse()
                _ = StateCheck.staging(s, repair: true)   // what interrupted loads and commits left
                return [.array(try ImageRemoval.prune(s, all: args.boolean(2), inUse: used.contains).map(lua))]
            },
            "assemble": vm.function("md.image.assemble") { args in
                let s = try store(args)
                let layers = try strings(args, 2).map { try ImageRemoval.findLayer($0, in: s) }
                let config = try JSON.parse(try args.string(3))
                let names = try strings(args, 4).map(ImageLookup.normalizedName)
                return [lua(try s.locked { try ImageAssembler.create(in: s, layers: layers, config: config, names: names) })]
            },
            "import": vm.function("md.image.import") { args in
                // (root, path, config json, names): one layer from a rootfs tar, one image.
                let s = try store(args)
                let path = try args.string(2)
                let config = try JSON.parse(try args.string(3))
                let names = try strings(args, 4).map(ImageLookup.normalizedName)
                let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw EngineError.system("open \(path)") }
                defer { if fd != 0 { close(fd) } }
                let image = try LayerCreator.importImage(in: s, fd: fd, what: path == "-" ? "stdin" : path,
                                                         config: config, names: names)
                s.events.record("image", "import", id: image.id.description, attributes: ["name": names.first ?? ""])
                return [lua(image)]
            },
            "layers": vm.function("md.layer.list") { args in
                [.array(try store(args).layers.list().sorted { $0.created > $1.created }.map(lua))]
            },
            "layer": vm.function("md.layer.get") { args in
                [lua(try ImageRemoval.findLayer(try args.string(2), in: try store(args)))]
            },
            "layer_create": vm.function("md.layer.create") { args in
                // (root, dir, comment, keep): keep=false for a layer only its images hold (a build's).
                [lua(try LayerCreator.create(in: try store(args), from: try args.string(2),
                                             comment: try args.optionalString(3) ?? "",
                                             keep: args.count < 4 || args.boolean(4)))]
            },
            "layer_import": vm.function("md.layer.import") { args in
                let path = try args.optionalString(2) ?? "-"
                let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw EngineError.system("open \(path)") }
                defer { if fd != 0 { close(fd) } }
                return [lua(try LayerCreator.import(in: try store(args), fd: fd, what: path == "-" ? "stdin" : path))]
            },
            "layer_remove": vm.function("md.layer.remove") { args in
                [lua(try ImageRemoval.removeLayer(try args.string(2), from: try store(args)))]
            },
            "layer_path": vm.function("md.layer.path") { args in
                let s = try store(args)
                return [.str(s.layers.diffPath(try ImageRemoval.findLayer(try args.string(2), in: s).diffID))]
            },
            "mount": vm.function("md.rootfs.mount") { args in
                // (root, image, dir): dir/upper, dir/work, dir/merged; returns merged.
                let s = try store(args)
                let image = try ImageLookup.find(try args.string(2), in: try s.images.load())
                let dir = try args.string(3)
                for d in ["upper", "work", "merged"] { try FileSystem.makeDirectories(dir + "/" + d, mode: 0o755) }
                try OverlayRootfs.mount(lowers: try OverlayRootfs.lowerDirs(image, in: s),
                                        upper: dir + "/upper", work: dir + "/work", target: dir + "/merged",
                                        links: s.layers.links)
                return [.str(dir + "/merged")]
            },
            "unmount": vm.function("md.rootfs.unmount") { args in
                try OverlayRootfs.unmount(try args.string(1))
                return []
            },
        ])
    }

    /// Runs `body` with a file descriptor for `path` (stdout when nil or "-"). A file is
    /// written under a temporary name and renamed at the end: never half-written.
    static func withOutput(_ path: String?, _ body: (Int32) throws -> Void) throws {
        guard let path, path != "-" else {
            try body(1)
            return
        }
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EngineError.system("create \(path)") }
        do {
            try body(fd)
            guard fsync(fd) == 0 else { throw EngineError.system("write \(path)") }
            close(fd)
            guard rename(tmp, path) == 0 else { throw EngineError.system("rename \(tmp)") }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
    }

    static func lua(_ r: ImageRecord) -> LuaValue {
        .record(["id": .str(r.id.description), "manifest": .str(r.manifest.description),
                 "names": .array(r.names.map { .str($0) }), "layers": .array(r.layers.map { .str($0.description) }),
                 "created": .str(r.created), "size": .integer(Int64(r.size)), "added": .str(r.added)])
    }

    static func lua(_ l: Layer) -> LuaValue {
        .record(["id": .str(l.diffID.description), "blob": .str(l.blob.description), "media_type": .str(l.mediaType),
                 "blob_size": .integer(Int64(l.blobSize)), "tar_size": .integer(Int64(l.tarSize)),
                 "size": .integer(Int64(l.size)), "created": .str(l.created), "comment": .str(l.comment),
                 "keep": .boolean(l.keep)])
    }
}

extension LuaValue {
    var integerKey: Int64? { if case .integer(let i) = self { return i }; return nil }
}
