#if canImport(Glibc)
import Glibc
#endif
import MDCore

/// `md._layer`: the layer store, for stdlib/mdlua/layer.lua, which builds `md.layer` on top
/// (and for image.lua and builds, which make layers). Every function takes the state root
/// first.
enum LayerBinding {
    static func module(_ vm: LuaVM) -> LuaValue {
        func store(_ args: LuaArguments) throws -> Store { Store(root: try args.string(1)) }
        return .record([
            "list": vm.function("md.layer.list") { args in
                [.array(try store(args).layers.list().sorted { $0.created > $1.created }.map(lua))]
            },
            "get": vm.function("md.layer.get") { args in
                [lua(try ImageRemoval.findLayer(try args.string(2), in: try store(args)))]
            },
            "create": vm.function("md.layer.create") { args in
                // (root, dir, comment, keep, clamp time): keep=false for a layer only its images
                // hold (a build's); a clamp time dates no entry later (SOURCE_DATE_EPOCH).
                [lua(try LayerCreator.create(in: try store(args), from: try args.string(2),
                                             comment: try args.optionalString(3) ?? "",
                                             keep: args.count < 4 || args.boolean(4),
                                             clampTime: try args.optionalInteger(5)))]
            },
            "import": vm.function("md.layer.import") { args in
                let path = try args.optionalString(2) ?? "-"
                let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw EngineError.system("open \(path)") }
                defer { if fd != 0 { close(fd) } }
                return [lua(try LayerCreator.import(in: try store(args), fd: fd, what: path == "-" ? "stdin" : path))]
            },
            "remove": vm.function("md.layer.remove") { args in
                [lua(try ImageRemoval.removeLayer(try args.string(2), from: try store(args)))]
            },
            "path": vm.function("md.layer.path") { args in
                let s = try store(args)
                return [.str(s.layers.diffPath(try ImageRemoval.findLayer(try args.string(2), in: s).diffID))]
            },
        ])
    }

    static func lua(_ l: Layer) -> LuaValue {
        .record(["id": .str(l.diffID.description), "blob": .str(l.blob.description), "media_type": .str(l.mediaType),
                 "blob_size": .integer(Int64(l.blobSize)), "tar_size": .integer(Int64(l.tarSize)),
                 "size": .integer(Int64(l.size)), "created": .str(l.created), "comment": .str(l.comment),
                 "keep": .boolean(l.keep)])
    }
}
