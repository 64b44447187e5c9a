#if canImport(Glibc)
import Glibc
#endif
import MDCore

/// `md._image`: the image store, for stdlib/mdlua/image.lua, which builds `md.image` on
/// top. Every function takes the state root first.
enum ImageBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func store(_ args: LuaArguments) throws -> Store { Store(root: try args.string(1)) }
        func strings(_ args: LuaArguments, _ i: Int) throws -> [String] {
            if args.isNil(i) { return [] }
            return RuntimeBinding.strings(try args.value(i))
        }
        return .record([
            "list": vm.function("md.image.list") { args in
                let s = try store(args)
                return [.array(try s.images.load().values.sorted { $0.added > $1.added }.map(lua))]
            },
            "get": vm.function("md.image.get") { args in
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
                try OutputFile.write(to: try args.optionalString(3)) { fd in
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
            "mount": vm.function("md.image.mount") { args in
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
            "unmount": vm.function("md.image.unmount") { args in
                try OverlayRootfs.unmount(try args.string(1))
                return []
            },
        ])
    }

    static func lua(_ r: ImageRecord) -> LuaValue {
        .record(["id": .str(r.id.description), "manifest": .str(r.manifest.description),
                 "names": .array(r.names.map { .str($0) }), "digests": .array(r.digests.map { .str($0) }), "layers": .array(r.layers.map { .str($0.description) }),
                 "created": .str(r.created), "size": .integer(Int64(r.size)), "added": .str(r.added)])
    }

}
