-- `mdlua completion bash|zsh|fish`: a shell completion script. The script is small: at each
-- Tab it runs `mdlua completion __complete -- WORDS...`, and this file decides what fits
-- from the commands' own tables (commands.lua: their names, each script's `flags`, `usage`
-- and `subcommands`), so built-in and MDLUA_PATH commands complete alike, as they are now.
-- Container and image names are read from the state root without locks and without the
-- repairs `ps` makes: a Tab never changes anything.
local md = require "mdlua"
local errors = require "mdlua.errors"
local commands = require "mdlua.commands"

-- What a usage word asks for: "CONTAINER", "IMAGE", "NAME|ID" (either), paths, one of
-- fixed words ("bash|zsh|fish"), or anything (nil).
local function kind_of(word, cmd)
  word = word:gsub("[%[%]]", "")
  if word:find("PATH") or word:find("FILE") or word == "DIR" then return "files" end
  if word:find("CONTAINER") then return "containers" end
  if word:find("IMAGE") then return "images" end
  if word:find("NAME|ID", 1, true) then return "any" end
  if word == "COMMAND" and cmd.name == "help" then return "commands" end
  if word:match("^[%l%d_-]+|[%l%d_|-]+$") then return "words", word end
end

-- A command's positional arguments, from its usage line ("mdlua logs [OPTIONS] CONTAINER"):
-- a list of { kind, words }, and whether the last one repeats ("[CONTAINER...]").
local function positions(cmd)
  local usage = (cmd.usage or ""):gsub("^mdlua%s+", "")
  usage = usage:gsub("%s+|%s+.*$", "")   -- of "A B | C D", the first form
  local list, repeats = {}, false
  local skip = select(2, cmd.name:gsub("%S+", ""))         -- "image ls": two words
  for word in usage:gmatch("%S+") do
    if skip > 0 then
      skip = skip - 1
    elseif not word:match("^%[?OPTIONS%]?$") and not word:match("^%[?%-") then
      if word:find("...", 1, true) then repeats = true; word = word:gsub("%.%.%.", "") end
      local kind, words = kind_of(word, cmd)
      list[#list + 1] = { kind = kind, words = words }
    end
  end
  return list, repeats and #list > 0
end

-- The flags of a command, with --help as every command has it.
local function flag_spec(cmd)
  local spec, short_h = { table.unpack(cmd.flags or {}) }, true
  for _, f in ipairs(spec) do if f.short == "h" then short_h = false end end
  spec[#spec + 1] = { name = "help", short = short_h and "h" or nil, type = "bool", help = "Print this help" }
  return spec
end

local function takes_value(f) return (f.type or "string") ~= "bool" end

-- A flag word's spec, and whether its value is in the word: "--name", "--name=x", "-n",
-- "-it" (the letters are flags; one that takes a value takes the rest: "-eA=1").
local function find_flag(spec, word)
  local long = word:match("^%-%-([^=]+)")
  if long then
    for _, f in ipairs(spec) do
      if f.name == long then return f, word:find("=", 1, true) ~= nil end
    end
    return nil
  end
  for k = 2, #word do
    local letter = word:sub(k, k)
    for _, f in ipairs(spec) do
      if f.short == letter and takes_value(f) then return f, k < #word end
    end
  end
  return nil
end

local function container_names()
  local dir = md.config.root .. "/containers"
  local out = {}
  for _, id in ipairs(md.sys.listdir(dir) or {}) do
    if #id == 64 and id:match("^%x+$") then
      local f = io.open(dir .. "/" .. id .. "/container.json", "rb")
      local text = f and f:read("a")
      if f then f:close() end
      local name = text and text:match('"name"%s*:%s*"([^"\\]+)"')
      out[#out + 1] = name or id:sub(1, 12)
    end
  end
  return out
end

local function image_names()
  local out = {}
  local ok, images = pcall(function() return md.image.list() end)
  for _, img in ipairs(ok and images or {}) do
    for _, n in ipairs(img.names or {}) do
      local repo, tag = md.image.familiar(n)
      out[#out + 1] = repo .. ":" .. tag
      if tag == "latest" then out[#out + 1] = repo end
    end
  end
  return out
end

-- Candidates for the last word of `words` (the words after `mdlua`), each a { word, help };
-- or the string "files"/"dirs" when the shell should complete paths.
local function complete(words)
  local cur = words[#words] or ""
  local out = {}
  local function add(word, help)
    if word:sub(1, #cur) == cur then out[#out + 1] = { word, help } end
  end
  local function add_flags(spec)
    for _, f in ipairs(spec) do
      if f.name then add("--" .. f.name, f.help) end
      if f.short then add("-" .. f.short, f.help) end
    end
  end
  local function add_commands(list)
    for _, name in ipairs(list) do
      local ok, cmd = pcall(commands.find, name)
      add(name, ok and cmd and cmd.summary or nil)
    end
  end

  -- Global options, up to the command.
  local cli = require "mdlua.cli"
  local i, cmd = 1, nil
  while i < #words do
    local w = words[i]
    local f, inline = find_flag(cli.global_flags, w)
    if w:sub(1, 1) ~= "-" then
      local ok, found = pcall(commands.find, w)
      if not ok or not found then return out end
      cmd, i = found, i + 1
      break
    end
    if f and takes_value(f) and not inline then
      if i + 1 == #words then
        if f.name == "root" or f.name == "runroot" then return "dirs" end
        if f.name == "log-level" then add("debug"); add("info"); add("warn"); add("error") end
        return out
      end
      if f.name == "root" or f.name == "runroot" then md.config[f.name] = words[i + 1] end
      i = i + 2
    else
      if f and inline and f.name == "root" then md.config.root = w:match("=(.*)") end
      i = i + 1
    end
  end
  if not cmd then
    if cur:sub(1, 1) == "-" then add_flags(cli.global_flags) else add_commands(commands.names()) end
    return out
  end

  -- A group (image, container, ...): its subcommand.
  while cmd.subcommands do
    while i < #words and words[i]:sub(1, 1) == "-" do i = i + 1 end
    if i == #words then
      if cur:sub(1, 1) == "-" then
        add_flags(flag_spec(cmd))
      else
        local names = {}
        for n in pairs(cmd.subcommands) do names[#names + 1] = n end
        table.sort(names)
        for _, n in ipairs(names) do
          local ok, sub = pcall(commands.subcommand, cmd, n)
          add(n, ok and sub and sub.summary or nil)
        end
      end
      return out
    end
    local ok, sub = pcall(commands.subcommand, cmd, words[i])
    if not ok or not sub then return out end
    cmd, i = sub, i + 1
  end

  -- The command's own words: flags (and their values) and positional arguments.
  local spec = flag_spec(cmd)
  local n, rest = 0, false   -- positionals so far; past `--`, or past the first of a run
  while i < #words do
    local w = words[i]
    if rest or w:sub(1, 1) ~= "-" or w == "-" then
      n = n + 1
      if cmd.interspersed == false then rest = true end
    elseif w == "--" then
      rest = true
    else
      local f, inline = find_flag(spec, w)
      if f and takes_value(f) and not inline then
        if i + 1 == #words then   -- the word being completed is this flag's value
          local meta = f.metavar or ""
          if meta:find("PATH") or meta:find("FILE") or meta:find("DIR") then return "files" end
          return out
        end
        i = i + 1
      end
    end
    i = i + 1
  end
  if cur:sub(1, 1) == "-" and not rest then
    add_flags(spec)
    return out
  end
  if rest and cmd.interspersed == false and n >= 1 then return "files" end   -- the container's command
  local list, repeats = positions(cmd)
  local pos = list[n + 1] or (repeats and list[#list]) or nil
  local kind = pos and pos.kind
  if kind == "containers" or kind == "any" then for _, name in ipairs(container_names()) do add(name) end end
  if kind == "images" or kind == "any" then for _, name in ipairs(image_names()) do add(name) end end
  if kind == "commands" then add_commands(commands.names()) end
  if kind == "words" then for w in pos.words:gmatch("[^|]+") do add(w) end end
  if kind == "files" then return "files" end
  return out
end

local scripts = {}

-- Bash: the words up to the cursor, split at blanks (COMP_WORDS would split
-- busybox:latest at the colon), go to mdlua; its answer becomes COMPREPLY.
scripts.bash = [=[
# bash completion for mdlua (generated by `mdlua completion bash`)
_mdlua() {
    local line=${COMP_LINE:0:COMP_POINT}
    local -a words
    read -r -a words <<< "$line"
    if [[ ${#words[@]} -eq 0 || $line =~ [[:space:]]$ ]]; then words+=(""); fi
    local cur=${words[${#words[@]}-1]}
    local IFS=$'\n'
    local -a found
    found=($("${words[0]}" completion __complete bash -- "${words[@]:1}" 2>/dev/null))
    COMPREPLY=()
    case ${found[0]-} in
        __files__) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
        __dirs__) COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null ;;
        *) COMPREPLY=("${found[@]}") ;;
    esac
    # bash replaces only the part of the word after its last COMP_WORDBREAKS character.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local prefix=${cur%"${cur##*:}"}
        COMPREPLY=("${COMPREPLY[@]#"$prefix"}")
    fi
    return 0
}
complete -F _mdlua mdlua
]=]

scripts.zsh = [=[
#compdef mdlua
# zsh completion for mdlua (generated by `mdlua completion zsh`)
_mdlua() {
    local -a found
    found=("${(@f)$("${words[1]}" completion __complete zsh -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    case ${found[1]-} in
        __files__) _files ;;
        __dirs__) _files -/ ;;
        *) (( ${#found} )) && [[ -n ${found[1]} ]] && _describe -t mdlua 'mdlua' found ;;
    esac
}
if [[ ${funcstack[1]-} == _mdlua ]]; then
    _mdlua "$@"
else
    compdef _mdlua mdlua
fi
]=]

scripts.fish = [=[
# fish completion for mdlua (generated by `mdlua completion fish`)
function __mdlua_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l found ($words[1] completion __complete fish -- $words[2..-1] 2>/dev/null)
    switch "$found[1]"
        case __files__ __dirs__
            __fish_complete_path (commandline -ct)
        case '*'
            printf '%s\n' $found
    end
end
complete -c mdlua -f -a '(__mdlua_complete)'
]=]

return {
  summary = "Print a shell completion script",
  usage = "mdlua completion bash|zsh|fish",
  description = "Bash: source <(mdlua completion bash), or `make install` puts it where bash-completion\n"
    .. "finds it. Zsh: source <(mdlua completion zsh) after compinit. Fish: mdlua completion fish | source.",
  -- `mdlua completion __complete FORMAT -- WORDS...` is the scripts' call back: the
  -- candidates for the last word, one a line (zsh: "word:help", fish: "word<Tab>help").
  run = function(o, args)
    if args[1] == "__complete" then
      local format = args[2]
      local found = complete({ table.unpack(args, 3) })
      if type(found) == "string" then print("__" .. found .. "__"); return 0 end
      for _, c in ipairs(found) do
        local word, help = c[1], c[2] and c[2]:gsub("%s+", " ") or nil
        if format == "zsh" then
          print(word:gsub(":", "\\:") .. (help and ":" .. help or ""))
        elseif format == "fish" then
          print(word .. (help and "\t" .. help or ""))
        else
          print(word)
        end
      end
      return 0
    end
    local script = #args == 1 and scripts[args[1]]
    if not script then errors.fail("completion: expected one of bash, zsh, fish") end
    io.write(script)
    return 0
  end,
}
