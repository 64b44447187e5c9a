import Foundation
import XCTest

/// --format through real commands (stdlib/mdlua/template.lua, docs/templates.md): Go
/// templates, `table`, `json`, and the errors of a bad template or an unknown field.
final class FormatTests: ContainerTestCase {
    func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = md(args, file: file, line: line)
        XCTAssertEqual(r.status, 0, "mdlua \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    /// Exit 125 with one line on stderr that contains `message`, nothing on stdout.
    func fails(_ args: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = md(args, file: file, line: line)
        XCTAssertEqual(r.status, 125, "mdlua \(args.joined(separator: " ")): \(r.stdout)", file: file, line: line)
        XCTAssertEqual(r.stderr, "mdlua: \(message)\n", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
    }

    func testInspectTemplates() {
        XCTAssertEqual(md(["create", "--name", "c1", "-e", "A=1", "-e", "B=two words", "busybox", "sh", "-c", "echo hi"]).status, 0)
        let env = ok(["inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", "c1"])
        XCTAssertTrue(env.contains("A=1\nB=two words\n"), env)
        XCTAssertTrue(env.hasSuffix("\n\n"), "println's newline, then the one after each document: \(env)")
        XCTAssertEqual(ok(["inspect", "-f", "{{join .Args \" , \"}} {{upper .Name}} {{split .Config.Image \":\"}}", "c1"]),
                       "-c , echo hi /C1 [busybox]\n")
        XCTAssertEqual(ok(["inspect", "-f", "{{range $i, $e := .Config.Cmd}}{{if $i}},{{end}}{{$e}}{{end}}|{{len .Config.Env}}", "c1"]),
                       "sh,-c,echo hi|\(ok(["inspect", "-f", "{{range .Config.Env}}x{{end}}", "c1"]).count - 1)\n")
        XCTAssertEqual(ok(["inspect", "-f", "{{.State.Status}} {{if .State.Running}}up{{else}}down{{end}}", "c1"]), "created down\n")
        XCTAssertEqual(ok(["inspect", "-f", "{{json .Config.Cmd}}", "c1"]), "[\"sh\",\"-c\",\"echo hi\"]\n")
        // A map's missing key prints <no value>; a struct's unknown field is an error naming it.
        XCTAssertEqual(ok(["inspect", "-f", "{{.Config.Labels.nope}}", "c1"]), "<no value>\n")
        fails(["inspect", "-f", "{{.State.Nope}}", "c1"],
              "template: :1:2: executing \"\" at <.State.Nope>: can't evaluate field Nope")
        fails(["inspect", "-f", "{{.Names", "c1"], "template: :1:0: unclosed action")
        fails(["inspect", "-f", "{{if .Id}}", "c1"], "template: :1:10: unexpected EOF")
        // --format json is the default output.
        XCTAssertEqual(ok(["inspect", "--format", "json", "c1"]), ok(["inspect", "c1"]))
        XCTAssertEqual(ok(["image", "inspect", "-f", "{{index .RepoTags 0}} {{.Os}}", "busybox"]), "busybox:latest linux\n")
        // Fields Docker has and the image leaves out: Go's zero values.
        XCTAssertEqual(ok(["image", "inspect", "-f", "[{{.Config.User}}] {{.Config.Entrypoint}} {{json .Config.Entrypoint}} {{.Config.Labels}}",
                           "busybox"]), "[] [] null map[]\n")
        fails(["image", "inspect", "-f", "{{.Nope}}", "busybox"],
              "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope")
    }

    func testListsAsTablesAndJSON() throws {
        let id = ok(["run", "-d", "--name", "web", "busybox", "sleep", "60"]).trimmingCharacters(in: .newlines)
        XCTAssertEqual(md(["create", "--name", "idle", "busybox", "true"]).status, 0)

        let table = ok(["ps", "--format", "table {{.Names}}\\t{{.Status}}"])
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3, table)
        XCTAssertEqual(lines[0], "NAMES     STATUS", table)
        XCTAssertTrue(lines[1].hasPrefix("web       Up "), table)
        XCTAssertEqual(lines[2], "")

        let all = ok(["ps", "-a", "--format", "table {{.ID}}\t{{.Image}}\t{{.State}}"])
        XCTAssertEqual(all, """
            CONTAINER ID   IMAGE     STATE
            \(ok(["ps", "-aq"]).split(separator: "\n")[0])   busybox   created
            \(id.prefix(12))   busybox   running

            """)
        XCTAssertEqual(ok(["ps", "--format", "{{.Names}} {{.State}} {{.Label \"x\"}}|"]), "web running |\n")
        // (STATUS says "Up N seconds": the default table is read on both sides of it, as a
        // second may turn in between.)
        let before = ok(["ps"]), tableAlone = ok(["ps", "--format", "table"]), after = ok(["ps"])
        XCTAssertTrue(tableAlone == before || tableAlone == after, "table alone is the default table: \(tableAlone) vs \(before)")

        // One JSON object a line.
        let json = ok(["ps", "-a", "--format", "json"]).split(separator: "\n")
        XCTAssertEqual(json.count, 2)
        for line in json {
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertNotNil(obj["Names"]); XCTAssertNotNil(obj["Status"]); XCTAssertNotNil(obj["ID"])
        }
        XCTAssertEqual(ok(["ps", "--format", "{{json .Names}}"]), "\"web\"\n")

        let images = ok(["images", "--format", "table {{.Repository}}\\t{{.Tag}}"])
        XCTAssertEqual(images, "REPOSITORY   TAG\nbusybox      latest\n")
        let image = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ok(["images", "--format", "json"]).utf8)) as? [String: Any])
        XCTAssertEqual(image["Repository"] as? String, "busybox")

        // Errors: before any output, exit 125, one line.
        fails(["ps", "-a", "--format", "{{.Names}} {{.Nope}}"],
              "template: :1:13: executing \"\" at <.Nope>: can't evaluate field Nope")
        fails(["ps", "--format", "table {{.Names"], "template: :1:0: unclosed action")
        fails(["images", "--format", "{{nope .ID}}"], "template: :1:2: function \"nope\" not defined")
        fails(["stats", "--no-stream", "--format", "{{.Name"], "template: :1:0: unclosed action")

        let stats = ok(["stats", "--no-stream", "--format", "table {{.Name}}\\t{{.PIDs}}", "web"])
        XCTAssertTrue(stats.hasPrefix("NAME      PIDS\nweb       1"), stats)
        XCTAssertEqual(ok(["stats", "--no-stream", "--format", "{{.Container}}", "web"]), "web\n")
        XCTAssertEqual(md(["rm", "-f", "web", "idle"]).status, 0)
    }
}
