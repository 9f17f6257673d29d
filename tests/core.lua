-- core.lua — the Lua module's basics, run by `mto run` (TAP output).
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok

ok(type(mto.version) == "string" and mto.version:match("^%d+%.%d+"), "mto.version is a version string")
ok(math.type(mto.abi_version) == "integer" and mto.abi_version >= 1, "mto.abi_version")
local list, problems = mto.plugins()
ok(type(list) == "table", "mto.plugins() returns a list")
ok(type(problems) == "table", "and a list of problems")
for _, p in ipairs(list) do
  ok(type(p.name) == "string" and type(p.kind) == "string" and type(p.file) == "string",
     "plugin " .. tostring(p.name) .. " has name, kind and file")
end
local okk, msg = pcall(mto.load_plugin, "/nonexistent/plugin.so")
ok(not okk and msg:match("/nonexistent/plugin.so"), "load_plugin failure raises a message naming the file")
ok(type(mto.plugin_path()) == "string" and #mto.plugin_path() > 0, "plugin_path() lists searched directories")
T.done()
