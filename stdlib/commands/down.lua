-- `mdlua down`: `mdlua stack down` (stdlib/mdlua/stack/cli.lua).
return require("mdlua.stack.cli").down
