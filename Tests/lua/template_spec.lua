-- stdlib/mdlua/template.lua: Go's text/template with Docker's functions.
local template = require "mdlua.template"
local json = require "mdlua.json"

local function r(src, data) return template.render(src, data) end
local function fails(src, data, text) return assert_error(text, template.render, src, data) end

-- A container document shaped as `docker inspect` prints one.
local function container()
  return {
    Id = "4fa6e0f0c678", Name = "/web", Image = "sha256:8a7be7aa", Path = "sh", Args = json.array { "-c", "ls -l" },
    State = { Status = "running", Running = true, Pid = 42, ExitCode = 0, Health = json.null },
    Config = { Image = "busybox:latest", Env = json.array { "PATH=/bin", "HOME=/root" }, Cmd = json.array { "sh" },
               Labels = { ["com.example.vendor"] = "ACME", version = "1.0" }, Tty = false },
    NetworkSettings = { Networks = { bridge = { IPAddress = "172.17.0.2" }, backend = { IPAddress = "10.0.0.5" } } },
    Mounts = json.array(),
  }
end

describe("text and actions", function()
  it("copies text and prints fields", function()
    assert_eq(r("plain text", {}), "plain text")
    assert_eq(r("", {}), "")
    assert_eq(r("{{.Name}} is {{.State.Status}}", container()), "/web is running")
    assert_eq(r("{{.}}", "dot"), "dot")
    assert_eq(r("{{.State.Pid}} {{.State.Running}}", container()), "42 true")
  end)

  it("trims around {{- and -}}", function()
    assert_eq(r("a  {{- .X -}}  b", { X = 1 }), "a1b")
    assert_eq(r("a \n\t{{- .X}} b", { X = 1 }), "a1 b")
    assert_eq(r("{{.X -}}\n\n  b", { X = 1 }), "1b")
    assert_eq(r("{{-3}}", {}), "-3")
  end)

  it("drops comments", function()
    assert_eq(r("a{{/* a comment */}}b", {}), "ab")
    assert_eq(r("a {{- /* trimmed\nover lines */ -}} b", {}), "ab")
  end)

  it("reads literals: strings with Go escapes, raw strings, chars, numbers, bools", function()
    assert_eq(r([[{{"tab\there \"q\" \\ \x41\101\u00e9\U0001F600"}}]], {}), "tab\there \"q\" \\ AA\u{e9}\u{1F600}")
    assert_eq(r("{{`raw \\n {{ }}`}}", {}), "raw \\n {{ }}")
    assert_eq(r("{{'a'}} {{'\\n'}}", {}), "97 10")
    assert_eq(r("{{1}} {{-2}} {{+3}} {{1.5}} {{0x1F}} {{0o17}} {{0b101}} {{1_000}} {{1e3}} {{.5}}", {}),
      "1 -2 3 1.5 31 15 5 1000 1000 0.5")
    assert_eq(r("{{true}} {{false}}", {}), "true false")
    assert_eq(r("{{print nil}}", {}), "<nil>")
  end)

  it("prints values as Go's fmt does", function()
    local d = { L = json.array { 1, "a", true }, M = { b = 2, a = 1 }, S = { Name = "x", Size = 3 }, F = 0.1, Big = 1e21, E = {} }
    assert_eq(r("{{.L}} {{.M}} {{.S}} {{.F}} {{.Big}} {{.E}}", d), "[1 a true] map[a:1 b:2] {x 3} 0.1 1e+21 map[]")
  end)
end)

describe("fields", function()
  it("prints <no value> for a missing map key, and for what follows", function()
    assert_eq(r("{{.Config.Labels.nope}}", container()), "<no value>")
    assert_eq(r("{{.Config.Labels.nope.deeper}}", container()), "<no value>")
    assert_eq(r("{{.Config.Labels.version}}", container()), "1.0")
  end)

  it("fails on an unknown field of a struct, naming it", function()
    fails("{{.Nope}}", container(), [[template: :1:2: executing "" at <.Nope>: can't evaluate field Nope]])
    fails("x {{.State.Nope}}", container(), [[template: :1:4: executing "" at <.State.Nope>: can't evaluate field Nope]])
  end)

  it("fails on a field of a string, a number or a list", function()
    fails("{{.Name.Foo}}", container(), "can't evaluate field Foo in type string")
    fails("{{.State.Pid.Foo}}", container(), "can't evaluate field Foo in type int")
    fails("{{.Args.Foo}}", container(), "can't evaluate field Foo in type []interface {}")
  end)

  it("takes declared fields of a template.struct as present", function()
    local s = template.struct({ A = 1 }, { "B" })
    assert_eq(r("{{.A}} {{.B}}", s), "1 <no value>")
    fails("{{.C}}", s, "can't evaluate field C")
  end)

  it("gives a declared missing field its zero value (template.fields)", function()
    local s = template.struct({ A = 1 }, template.fields "S:s B:b I:i L:l M:m P:p")
    assert_eq(r("[{{.S}}] {{.B}} {{.I}} {{.L}} {{.M}} {{.P}} {{len .L}} {{.M.x}}", s), "[] false 0 [] map[] <nil> 0 <no value>")
    assert_eq(r("{{json .L}} {{json .M}} {{json .P}} {{if .L}}y{{else}}n{{end}}{{range .M}}x{{end}}", s), "null null null n")
    assert_error("unknown type q", template.fields, "X:q")
  end)

  it("takes a template.map as a map even with capitalized keys", function()
    assert_eq(r("{{.Nope}}", template.map { A = 1 }), "<no value>")
  end)

  it("calls a function field as a method, with arguments", function()
    local row = { Label = function(k) return ({ a = "1" })[k] or "" end }
    assert_eq(r([[{{.Label "a"}}|{{.Label "b"}}]], row), "1|")
    fails([[{{.State.Status "x"}}]], container(), "Status is not a method but has arguments")
  end)

  it("chains fields on variables and parenthesized values", function()
    assert_eq(r("{{$s := .State}}{{$s.Status}}", container()), "running")
    assert_eq(r("{{(index .NetworkSettings.Networks \"bridge\").IPAddress}}", container()), "172.17.0.2")
    assert_eq(r("{{$.Config.Image}}", container()), "busybox:latest")
  end)

  it("treats json.null as nil", function()
    assert_eq(r("{{.State.Health}}|{{.State.Health.Status}}", container()), "<nil>|<no value>")
  end)
end)

describe("variables", function()
  it("declares, assigns and scopes them as Go does", function()
    assert_eq(r("{{$x := 1}}{{$x}}{{$x = 2}}{{$x}}", {}), "12")
    assert_eq(r("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", {}), "21")
    assert_eq(r("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", {}), "2")
    assert_eq(r("{{range .L}}{{$.N}}{{end}}", { L = json.array { 1, 2 }, N = "n" }), "nn")
  end)

  it("rejects undefined ones at parse time", function()
    fails("{{$x}}", {}, [[template: :1:2: undefined variable "$x"]])
    fails("{{$x = 1}}", {}, [[undefined variable "$x"]])
    fails("{{if true}}{{$y := 1}}{{end}}{{$y}}", {}, [[undefined variable "$y"]])
  end)
end)

describe("pipelines", function()
  it("passes the value as the last argument", function()
    assert_eq(r([[{{.Name | printf "%s!"}}]], container()), "/web!")
    assert_eq(r([[{{"x" | printf "%s-%s" "a"}}]], {}), "a-x")
    assert_eq(r([[{{.Config.Env | len | printf "%03d"}}]], container()), "002")
    assert_eq(r([[{{$n := .Args | len}}{{$n}}]], container()), "2")
  end)

  it("evaluates parenthesized pipelines", function()
    assert_eq(r([[{{printf "%d args" (len .Args)}}]], container()), "2 args")
    assert_eq(r([[{{(print "a" | printf "%s%s" "b")}}]], {}), "ba")
  end)

  it("refuses a non-command after |", function()
    fails([[{{.Name | "x"}}]], container(), "non executable command in pipeline stage 2")
    fails([[{{1 2}}]], {}, "can't give argument to non-function 1")
  end)
end)

describe("if / else if / else", function()
  local function truthy(v) return r("{{if .}}T{{else}}F{{end}}", v) end
  it("uses Go's truth", function()
    assert_eq(truthy(true), "T"); assert_eq(truthy(false), "F")
    assert_eq(truthy(1), "T"); assert_eq(truthy(0), "F"); assert_eq(truthy(0.0), "F")
    assert_eq(truthy("x"), "T"); assert_eq(truthy(""), "F")
    assert_eq(truthy(json.array { 1 }), "T"); assert_eq(truthy(json.array()), "F")
    assert_eq(truthy({ a = 1 }), "T"); assert_eq(truthy({}), "F")
    assert_eq(truthy(json.null), "F"); assert_eq(truthy(nil), "F")
    assert_eq(truthy(template.struct {}), "T")
  end)

  it("chains else if", function()
    local t = template.parse([[{{if eq .N 1}}one{{else if eq .N 2}}two{{else if eq .N 3}}three{{else}}many{{end}}]])
    assert_eq(t:execute { N = 1 }, "one"); assert_eq(t:execute { N = 2 }, "two")
    assert_eq(t:execute { N = 3 }, "three"); assert_eq(t:execute { N = 9 }, "many")
  end)

  it("scopes a variable of the condition to the if", function()
    assert_eq(r("{{if $x := .A}}{{$x}}{{else}}none {{$x}}{{end}}", { A = "a" }), "a")
    assert_eq(r("{{if $x := .A}}{{$x}}{{else}}none{{$x}}{{end}}", { A = "" }), "none")
  end)
end)

describe("with", function()
  it("sets dot, or runs else", function()
    assert_eq(r("{{with .State}}{{.Status}}{{end}}", container()), "running")
    assert_eq(r("{{with .Mounts}}some{{else}}none{{end}}", container()), "none")
    assert_eq(r("{{with .A}}a{{else with .B}}{{.}}{{else}}c{{end}}", { A = "", B = "b" }), "b")
    assert_eq(r("{{with $v := .A}}{{$v}}{{.}}{{end}}", { A = "a" }), "aa")
  end)
end)

describe("range", function()
  it("goes over lists with the element as dot", function()
    assert_eq(r("{{range .Config.Env}}{{println .}}{{end}}", container()), "PATH=/bin\nHOME=/root\n")
  end)

  it("declares the element, or the index and the element", function()
    assert_eq(r("{{range $e := .Args}}[{{$e}}]{{end}}", container()), "[-c][ls -l]")
    assert_eq(r("{{range $i, $e := .Args}}{{$i}}={{$e}} {{end}}", container()), "0=-c 1=ls -l ")
  end)

  it("goes over maps in sorted key order", function()
    assert_eq(r("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", container()),
      "com.example.vendor=ACME;version=1.0;")
    assert_eq(r("{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}", container()),
      "10.0.0.5\n172.17.0.2\n")
  end)

  it("runs else when empty or nil", function()
    assert_eq(r("{{range .Mounts}}m{{else}}no mounts{{end}}", container()), "no mounts")
    assert_eq(r("{{range .Missing}}m{{else}}nothing{{end}}", template.map {}), "nothing")
    assert_eq(r("{{range .State.Health}}m{{else}}null{{end}}", container()), "null")
  end)

  it("counts up to an integer (Go 1.22)", function()
    assert_eq(r("{{range 3}}{{.}}{{end}}", {}), "012")
  end)

  it("stops at break and skips at continue", function()
    local d = { L = json.array { 1, 2, 3, 4, 5 } }
    assert_eq(r("{{range .L}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}", d), "123")
    assert_eq(r("{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", d), "1345")
    assert_eq(r("{{range .L}}{{range $.L}}{{break}}{{end}}{{.}}{{end}}", d), "12345")
  end)

  it("refuses what it cannot iterate", function()
    fails("{{range .Name}}{{end}}", container(), "range can't iterate over /web")
    fails("{{break}}", {}, "{{break}} outside {{range}}")
    fails("{{range .L}}{{end}}{{continue}}", {}, "{{continue}} outside {{range}}")
  end)
end)

describe("functions", function()
  it("and / or return an argument, lazily", function()
    assert_eq(r("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}}", {}), "0 2 x ")
    assert_eq(r("{{and false (index .L 99)}} {{or true (index .L 99)}}", { L = json.array() }), "false true")
    assert_eq(r("{{not 0}} {{not \"x\"}}", {}), "true false")
  end)

  it("compare with eq ne lt le gt ge", function()
    assert_eq(r("{{eq 1 1}} {{eq \"a\" \"b\" \"a\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}}", {}),
      "true true true true true true false")
    assert_eq(r("{{eq 1.0 1}} {{eq .X nil}} {{eq true true}}", {}), "true true true")
    fails("{{eq 1 \"a\"}}", {}, "error calling eq: incompatible types for comparison")
    fails("{{lt true false}}", {}, "invalid type for comparison")
    fails("{{lt .L 1}}", { L = json.array() }, "invalid type for comparison")
  end)

  it("len, index and slice", function()
    local d = container()
    assert_eq(r("{{len .Args}} {{len .Name}} {{len .Config.Labels}}", d), "2 4 2")
    assert_eq(r([[{{index .Args 1}} {{index .Config.Labels "version"}} {{index .NetworkSettings.Networks "bridge" "IPAddress"}}]], d),
      "ls -l 1.0 172.17.0.2")
    assert_eq(r([[{{index .Config.Labels "nope"}} {{index "abc" 1}}]], d), "<no value> 98")
    assert_eq(r([[{{slice .Name 1}} {{slice .Name 1 3}} {{slice .Args 1}} {{slice .Args 0 1}}]], d), "web we [ls -l] [-c]")
    fails("{{index .Args 2}}", d, "error calling index: index out of range: 2")
    fails("{{slice .Name 3 9}}", d, "error calling slice: index out of range: 9")
    fails("{{len 3}}", d, "error calling len: len of type int")
    fails("{{index 3 1}}", d, "can't index item of type int")
  end)

  it("printf with Go's verbs", function()
    assert_eq(r([[{{printf "%s|%5s|%-5s|%.2s" "abc" "ab" "ab" "abc"}}]], {}), "abc|   ab|ab   |ab")
    assert_eq(r([[{{printf "%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%#x" 42 42 42 -42 42 255 255 8 5 255}}]], {}),
      "42|   42|42   |-0042|+42|ff|FF|10|101|0xff")
    assert_eq(r([[{{printf "%.2f|%8.3f|%e|%g|%g" 3.14159 2.5 1234.5 0.000001 100000.0}}]], {}),
      "3.14|   2.500|1.234500e+03|1e-06|100000")
    assert_eq(r([[{{printf "%q|%v|%t|%c|%U|%%|%x" "a\"b" .L true 65 65 "hi"}}]], { L = json.array { 1, 2 } }),
      [["a\"b"|[1 2]|true|A|U+0041|%|6869]])
    assert_eq(r([[{{printf "%d %d" 1}}|{{printf "%d" 1 2}}|{{printf "%d" "x"}}|{{printf "%z" 1}}]], {}),
      "1 %!d(MISSING)|1%!(EXTRA int=2)|%!d(string=x)|%!z(int=1)")
    assert_eq(r([[{{printf "%*d|%-*d|" 4 7 3 7}}]], {}), "   7|7  |")
  end)

  it("print and println", function()
    assert_eq(r([[{{print "a" "b" 1 2 "c"}}]], {}), "ab1 2c")
    assert_eq(r([[{{println "a" 1 true}}]], {}), "a 1 true\n")
    assert_eq(r([[{{println}}]], {}), "\n")
  end)

  it("html and urlquery", function()
    assert_eq(r([[{{html "<a href='x'>&</a>"}}]], {}), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;")
    assert_eq(r([[{{urlquery "a b&c=d/é"}}]], {}), "a+b%26c%3Dd%2F%C3%A9")
  end)

  it("json, Docker's", function()
    local d = container()
    assert_eq(r("{{json .Config.Env}}", d), '["PATH=/bin","HOME=/root"]')
    assert_eq(r("{{json .Name}} {{json .State.Pid}} {{json .State.Health}} {{json .Nope}}", template.struct(d, { "Nope" })),
      '"/web" 42 null null')
    assert_eq(r("{{json .}}", { Label = function() end, A = 1 }), '{"A":1}')
  end)

  it("join and split, Docker's", function()
    local d = container()
    assert_eq(r([[{{join .Args " , "}}]], d), "-c , ls -l")
    assert_eq(r([[{{split .Config.Image ":"}}]], d), "[busybox latest]")
    assert_eq(r([[{{index (split .Config.Image ":") 1}}]], d), "latest")
    assert_eq(r([[{{join (split "a-b-c" "-") "+"}}]], d), "a+b+c")
    assert_eq(r([[{{split "abc" ""}}]], d), "[a b c]")
    assert_eq(r([[{{join .Missing ","}}]], template.map {}), "")
    fails([[{{join .Name ","}}]], d, "expected []string; got string")
  end)

  it("lower, upper, title, truncate and pad, Docker's", function()
    local d = container()
    assert_eq(r("{{lower \"MiXeD\"}} {{upper .Name}} {{title \"hello wide world\"}}", d), "mixed /WEB Hello Wide World")
    assert_eq(r("{{truncate .Id 4}}|{{truncate \"ab\" 5}}|{{truncate \"héllo\" 2}}", d), "4fa6|ab|hé")
    assert_eq(r("[{{pad .Name 2 3}}]", d), "[  /web   ]")
    fails("{{upper .Args}}", d, "wrong type for value; expected string")
    fails("{{truncate .Name}}", d, "wrong number of args for truncate: want 2 got 1")
  end)

  it("may be given by the caller", function()
    local t = template.parse("{{shout .}}", { funcs = { shout = function(n, s) return s:upper() .. "!" end } })
    assert_eq(t:execute("hi"), "HI!")
    fails("{{shout .}}", {}, [[template: :1:2: function "shout" not defined]])
  end)
end)

describe("Docker's documented examples", function()
  -- docs.docker.com, "Format command and log output".
  local d = container()
  it("join", function() assert_eq(r([[{{join .Args " , "}}]], d), "-c , ls -l") end)
  it("json", function()
    assert_eq(r([[{{json .Config}}]], d),
      '{"Cmd":["sh"],"Env":["PATH=/bin","HOME=/root"],"Image":"busybox:latest","Labels":{"com.example.vendor":"ACME","version":"1.0"},"Tty":false}')
    assert_eq(r([[{{json .Mounts}}]], d), "[]")
  end)
  it("lower", function() assert_eq(r([[{{lower .Name}}]], { Name = "/WEB" }), "/web") end)
  it("split", function() assert_eq(r([[{{split .Image ":"}}]], { Image = "busybox:latest" }), "[busybox latest]") end)
  it("title", function() assert_eq(r([[{{title .Name}}]], { Name = "web" }), "Web") end)
  it("upper", function() assert_eq(r([[{{upper .Name}}]], d), "/WEB") end)
  it("println", function()
    assert_eq(r([[{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}]], d), "10.0.0.5\n172.17.0.2\n")
    assert_eq(r([[{{println .Name}}]], d), "/web\n")
  end)
  it("range over .Config.Env", function()
    assert_eq(r([[{{range $elem := .Config.Env}}{{$elem}} {{end}}]], d), "PATH=/bin HOME=/root ")
  end)
  it(".State.Status", function() assert_eq(r("{{.State.Status}}", d), "running") end)
  it("table (through format.rows)", function()
    local format = require "mdlua.format"
    local out = { parts = {} }
    function out:write(s) self.parts[#self.parts + 1] = s end
    format.rows("table {{.ID}}\\t{{.Repository}}\\t{{.Tag}}\\t{{.Size}}",
      { template.struct { ID = "8a7be7aaadcc", Repository = "busybox", Tag = "latest", Size = "1.98MB" } },
      { out = out, headers = { ID = "IMAGE ID", Repository = "REPOSITORY", Tag = "TAG", Size = "SIZE" } })
    assert_eq(table.concat(out.parts), "IMAGE ID       REPOSITORY   TAG       SIZE\n8a7be7aaadcc   busybox      latest    1.98MB\n")
  end)
end)

describe("parse errors", function()
  it("give the line and the byte column as Go counts them", function()
    fails("{{.Names", {}, "template: :1:0: unclosed action")
    fails("ID {{.ID}} {{.Names", {}, "template: :1:11: unclosed action")
    fails("line one\n  {{.X", {}, "template: :2:2: unclosed action")
    fails("{{if .A}}x", {}, "template: :1:10: unexpected EOF")
    fails("{{end}}", {}, "template: :1:2: unexpected {{end}}")
    fails("{{else}}", {}, "unexpected {{else}}")
    fails("{{if .A}}{{else}}{{else}}{{end}}", {}, "expected end; found {{else}}")
    fails("{{nope .X}}", {}, [[template: :1:2: function "nope" not defined]])
    fails([[{{"abc}}]], {}, "template: :1:2: unterminated quoted string")
    fails("{{\"a\nb\"}}", {}, "unterminated quoted string")
    fails("{{`abc}}", {}, "template: :1:2: unterminated raw quoted string")
    fails("{{/* x }}", {}, "template: :1:0: unclosed comment")
    fails("{{/* x */ .A}}", {}, "comment ends before closing delimiter")
    fails("{{#}}", {}, "template: :1:2: unrecognized character in action: U+0023 '#'")
    fails("{{}}", {}, "missing value for command")
    fails("{{(.A}}", {}, "unclosed left paren")
    fails("{{.A)}}", {}, [[template: :1:4: unexpected ")"]])
    fails("{{nil}}", {}, "nil is not a command")
    fails("{{if}}{{end}}", {}, "missing value for if")
    fails("{{range $i, $e, $f := .}}{{end}}", {}, "too many declarations")
    fails("{{$a, $b := .}}", {}, "too many declarations in command")
    fails([[{{template "x"}}]], {}, "{{template}} is not supported")
    fails("{{1x}}", {}, [[bad number syntax: "1x"]])
    fails("{{.A|}}", {}, "missing command after |")
    fails("{{'ab'}}", {}, "malformed character constant")
    fails([[{{"\q"}}]], {}, "invalid syntax in quoted string")
  end)

  it("come before any output", function()
    local ok = pcall(template.parse, "lots of text {{.A}} then {{.B")
    assert_eq(ok, false)
  end)
end)

describe("hostile input", function()
  it("refuses nesting deeper than 200 levels, quickly", function()
    fails("{{" .. ("("):rep(1000) .. "1" .. (")"):rep(1000) .. "}}", {}, "nesting too deep")
    fails(("{{if 1}}"):rep(500) .. ("{{end}}"):rep(500), {}, "nesting too deep")
    assert_eq(r(("{{if 1}}"):rep(150) .. "x" .. ("{{end}}"):rep(150), {}), "x")
    assert_eq(r("{{" .. ("("):rep(150) .. "1" .. (")"):rep(150) .. "}}", {}), "1")
  end)

  it("renders a 100 KB template", function()
    local src = ("{{.A}}-"):rep(100 * 1024 // 7)
    local started = os.clock()
    local out = r(src, { A = "x" })
    assert_eq(#out, 2 * (100 * 1024 // 7))
    assert_true(os.clock() - started < 2, "under 2 s")
    assert_eq(#r(("x"):rep(100 * 1024), {}), 100 * 1024)
  end)

  it("reports an unterminated string at the end of a long template", function()
    fails(("a"):rep(100000) .. "\n{{\"abc", {}, "template: :2:2: unterminated quoted string")
    fails(("{{.A}}"):rep(1000) .. "{{`abc", {}, "unterminated raw quoted string")
  end)

  it("survives odd delimiters and bytes", function()
    assert_eq(r("}} {{`{{`}} }}", {}), "}} {{ }}")
    fails("{{{{}}", {}, "unrecognized character in action: U+007B '{'")
    fails("{{\255}}", {}, "unrecognized character in action")
    fails("{{", {}, "unclosed action")
    fails("{{- ", {}, "unclosed action")
    fails("{{-", {}, "bad number syntax")
    assert_eq(r("a{b}c", {}), "a{b}c")
  end)

  it("ranges over a long list", function()
    local l = json.array()
    for i = 1, 20000 do l[i] = i end
    assert_eq(#r("{{range .}}{{.}},{{end}}", l), #table.concat(l, ",") + 1)
  end)

  it("ranges over a huge integer lazily, stopped by the output limit", function()
    assert_error("output larger than 1000 bytes", function()
      template.parse("{{range 1000000000000}}{{.}}{{end}}"):execute({}, { limit = 1000 })
    end)
    assert_eq(r("{{range 1000000000000}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}", {}), "012")
  end)

  it("refuses huge printf widths and pads", function()
    fails([[{{printf "%*d" 1000000000 1}}]], {}, "width or precision over 1000000")
    fails([[{{printf "%.2000000f" 1.0}}]], {}, "width or precision over 1000000")
    fails([[{{pad "x" 1000000000 0}}]], {}, "pad: over 1000000 spaces")
  end)

  it("prints data nested very deeply, cut at 100 levels", function()
    local deep = json.array()
    local t = deep
    for _ = 1, 500 do local sub = json.array(); t[1] = sub; t = sub end
    assert_true(r("{{.}}", deep):find("[[[...]]]", 1, true), "cut")
  end)

  it("refuses JSON of data nested too deeply", function()
    local deep = {}
    local t = deep
    for _ = 1, 150 do t.a = {}; t = t.a end
    fails("{{json .}}", deep, "nested too deeply")
  end)
end)
