-- deshuffle.lua — drive the example plugin from Lua (the out-of-tree test runs it).
local mto = require "mto"
local obj = mto.objective("deshuffle", {window = 4})
local ids = {10, 11, 12, 13, 14, 15, 16, 17}
local input, target = obj:apply(ids, {seed = 1})
print("input ", table.concat(input, " "))
print("target", table.concat(target, " "))
assert(#input == #ids and #target == #ids + 1 and target[#target] == 1, "lengths")
for w = 0, 1 do -- each window of 4 keeps its own tokens
  local seen = {}
  for i = 1, 4 do seen[input[w * 4 + i]] = true end
  for i = 1, 4 do assert(seen[ids[w * 4 + i]], "window " .. w .. " is a permutation") end
end
