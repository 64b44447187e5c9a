-- `mdlua up`: `mdlua stack up` (stdlib/mdlua/stack/cli.lua).
return require("mdlua.stack.cli").up
