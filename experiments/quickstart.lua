-- quickstart.lua — the main job. For now: show the engine's version and the
-- plugins it found. (The embedded default experiment replaces this.)
local mto = require "mto"
print(("mto %s, plugin ABI %d"):format(mto.version, mto.abi_version))
local list, problems = mto.plugins()
print(("%d plugins loaded from %s"):format(#list, mto.plugin_path()))
for _, p in ipairs(list) do
  print(("  %-24s %-10s %s"):format(p.name, p.kind, p.summary))
end
for _, msg in ipairs(problems) do print("  refused: " .. msg) end
