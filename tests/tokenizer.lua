-- tokenizer.lua — mto.tokenizer / mto.train_tokenizer from Lua (TAP, run by `mto run`).
-- Trains a small vocabulary from WordNet glosses (or the project's headers),
-- then checks ids against Debian's spm_encode when it is available.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, skip = T.ok, T.skip
local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

-- corpus
local base = os.tmpname()
local lines = {}
local f = io.open("/usr/share/wordnet/data.noun")
if f then
  for l in f:lines() do
    local g = l:match("| (.-)%s*$")
    if g and l:sub(1, 1) ~= " " then lines[#lines + 1] = g end
    if #lines >= 3000 then break end
  end
  f:close()
else
  local src = os.getenv("MTO_SRCDIR") or "."
  for _, p in ipairs{"core/mto/plugin.h", "core/mto/host.h", "core/mto/tokenizer.h", "lua/l_tokenizer.c"} do
    for l in io.lines(src .. "/" .. p) do if #l > 0 then lines[#lines + 1] = l end end
  end
end
local input = base .. ".txt"
local out = assert(io.open(input, "w"))
out:write(table.concat(lines, "\n"), "\n")
out:close()
ok(#lines > 200, "corpus of " .. #lines .. " lines")

-- training
local path = mto.train_tokenizer{input = input, model_prefix = base, vocab_size = 600,
                                 model_type = "unigram", seed = 7, num_threads = 2}
ok(path == base .. ".model" and io.open(path) ~= nil, "train_tokenizer returns the .model path")
local e1, m1 = pcall(mto.train_tokenizer, {input = input, model_prefix = base .. "x", vocab_size = 600, colour = "red"})
ok(not e1 and m1:match("unknown option 'colour'"), "train_tokenizer rejects unknown options")
local e2, m2 = pcall(mto.train_tokenizer, {input = base .. ".none", model_prefix = base .. "x", vocab_size = 600})
ok(not e2 and m2:find(base .. ".none", 1, true), "train_tokenizer: missing input is named")

-- the tokenizer object
local tok = mto.tokenizer(path)
ok(tok.vocab_size == 600, "tok.vocab_size = 600 (500 pieces + 100 sentinels)")
ok(tok.pad_id == 0 and tok.eos_id == 1 and tok.unk_id == 2, "pad 0, eos 1, unk 2")
ok(tok:piece_to_id("<extra_id_0>") == 599 and tok:sentinel(99) == 500, "sentinels on top")
ok(tok:piece_to_id("</s>") == 1 and tok:piece_to_id("surely not a piece") == nil, "piece_to_id")
ok(tostring(tok):match("^mto.tokenizer%("), "tostring")

local text = "a small dog <extra_id_0> in the <extra_id_1> park"
local ids = tok:encode(text)
ok(#ids > 4 and ids[#ids] ~= 1, "encode gives ids and no eos")
local has0, has1 = false, false
for _, id in ipairs(ids) do has0 = has0 or id == 599; has1 = has1 or id == 598 end
ok(has0 and has1, "sentinel strings become their ids")
ok(tok:decode(ids) == text, "decode(encode(text)) == text")
ok(same(tok:encode(""), {}), "empty text -> {}")
ok(tok:decode({}) == "" and tok:decode({0, 1}) == "", "decode of {} and {pad, eos} is empty")
local e3, m3 = pcall(tok.decode, tok, {5, 600})
ok(not e3 and m3:match("outside"), "decode of an id beyond the vocabulary raises")
local e4, m4 = pcall(tok.decode, tok, {5, "x"})
ok(not e4, "decode of a non-integer raises")

-- against spm_encode
local enc = os.getenv("SPM_ENCODE")
if enc and enc ~= "" and io.open(enc) then
  local test = base .. ".test"
  local t = assert(io.open(test, "w"))
  local sample = {}
  for i = #lines, #lines - 99, -1 do sample[#sample + 1] = lines[i] end
  t:write(table.concat(sample, "\n"), "\n")
  t:close()
  local p = assert(io.popen(string.format("'%s' --model='%s' --output_format=id < '%s'", enc, path, test)))
  local good, total = 0, 0
  for l in p:lines() do
    total = total + 1
    local want = {}
    for x in l:gmatch("%d+") do want[#want + 1] = tonumber(x) end
    if same(tok:encode(sample[total]), want) then good = good + 1 end
  end
  p:close()
  ok(total == 100 and good == total, string.format("encode == spm_encode on %d/%d lines", good, total))
  os.remove(test)
else
  skip("SPM_ENCODE not set or not found (install the sentencepiece package)")
end

-- errors
local e5, m5 = pcall(mto.tokenizer, base .. ".missing.model")
ok(not e5 and m5:find(base .. ".missing.model", 1, true), "missing model file: error names the file")
local bad = base .. ".bad.model"
local b = assert(io.open(bad, "w")); b:write("garbage"); b:close()
local e6, m6 = pcall(mto.tokenizer, bad)
ok(not e6 and m6:find(bad, 1, true), "corrupt model file: error names the file")

tok:close()
ok(not pcall(tok.encode, tok, "x"), "a closed tokenizer refuses to work")

for _, suffix in ipairs{"", ".txt", ".model", ".vocab", ".bad.model"} do os.remove(base .. suffix) end
T.done()
