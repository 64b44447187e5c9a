import Foundation
import PackagePlugin

/// Runs EmbedStdlibTool over the package's stdlib/ folder before the target builds.
@main
struct EmbedStdlib: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let stdlib = context.package.directoryURL.appending(path: "stdlib")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedModules.swift")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: stdlib, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where url.pathExtension == "lua" { inputs.append(url) }
        }
        return [.buildCommand(
            displayName: "Embedding stdlib/ (\(inputs.count) scripts)",
            executable: try context.tool(named: "EmbedStdlibTool").url,
            arguments: [stdlib.path, output.path],
            inputFiles: inputs,
            outputFiles: [output]
        )]
    }
}
