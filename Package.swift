// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mdlua",
    products: [
        .executable(name: "mdlua", targets: ["mdlua"]),
        .executable(name: "mdlua-registry", targets: ["mdlua-registry"]),
    ],
    dependencies: [
        // The registry client's HTTP (docs/registries.md: chosen over libcurl, whose static
        // archive cannot be linked into a static binary).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // Debian's C libraries, found through pkg-config.
        .systemLibrary(name: "CLua", path: "Sources/CLua", pkgConfig: "lua5.4",
                       providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CEdit", path: "Sources/CEdit", pkgConfig: "libedit",
                       providers: [.apt(["libedit-dev"])]),

        // C, split by concern. The kernel: the container's clone-to-exec path, mounts,
        // cgroup joins, seccomp, device filters, network namespaces, attach sockets.
        .target(name: "CKernel", linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("util")]),
        // Streams: layer tars and their compression, SHA-256. Layers are written with
        // libdeflate (whole-buffer, 3x zlib's speed at level 1) and read with zlib (libdeflate
        // has no streaming decompression).
        .target(name: "CStream",
                linkerSettings: [.linkedLibrary("archive"), .linkedLibrary("nettle"),
                                 .linkedLibrary("zstd"), .linkedLibrary("deflate"), .linkedLibrary("z")]),
        // The Lua glue: Lua macros as functions, the error trampoline, JSON, YAML, readline.
        .target(name: "CLuaGlue", dependencies: ["CLua", "CEdit"], linkerSettings: [.linkedLibrary("yaml")]),

        // The engine: the kernel and the disk, nothing about Lua.
        .target(name: "MDCore", dependencies: ["CKernel", "CStream"]),

        // Registries: pull, push, login over HTTP (async-http-client). In an executable of
        // its own, started only by those commands: linked into mdlua, its protocol
        // conformance records made every mdlua command slower (docs/registries.md).
        .target(name: "MDRegistry", dependencies: [
            "MDCore", "CStream",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .executableTarget(name: "mdlua-registry", dependencies: ["MDRegistry", "MDCore"]),

        // The Lua host: the VM, value conversion, one binding file per API area.
        .target(name: "MDLua", dependencies: ["CLuaGlue", "CKernel", "CLua", "MDCore"]),

        // stdlib/*.lua compiled to bytecode at build time and carried in the binary.
        .executableTarget(name: "EmbedStdlibTool", dependencies: ["CLua"]),
        .plugin(name: "EmbedStdlib", capability: .buildTool(), dependencies: ["EmbedStdlibTool"]),
        .target(name: "MDStdlib", plugins: ["EmbedStdlib"]),

        .executableTarget(name: "mdlua", dependencies: ["MDCore", "MDLua", "MDStdlib"]),

        .testTarget(name: "MDCoreTests", dependencies: ["MDCore", "CKernel", "CStream"]),
        .testTarget(name: "MDLuaTests", dependencies: ["MDLua", "MDStdlib"]),
        .testTarget(name: "CLITests"),
    ],
    // The engine's Swift is single-threaded by design (docs/design.md: no Swift between
    // clone and exec; the one other thread of a start, the network namespace's, is C);
    // Swift 6 strict concurrency checks buy nothing here.
    swiftLanguageModes: [.v5]
)
