-- adapt.lua — unsupervised adaptation (TAP): task-like data from a corpus and from
-- task records in the mask / lm / mixed formats, continued pre-training that moves
-- the model toward the format, and a self-contained checkpoint directory.
local mto = require "mto"
local L = dofile(os.getenv("MTO_SRCDIR") .. "/tests/match_lib.lua")
local T = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua")
local ok, near = T.ok, T.near

-- ---- data ---------------------------------------------------------------------
local lines = {"the cat sat on the warm mat. A dog ran far away!", "birds can fly over the tall trees",
               "too short", "water is made of hydrogen and oxygen"}
local d = mto.adapt_data{source = {lines = lines}, objective = "mask", seed = 5}
ok(#d == 4, "4 sentences of >= 3 words (one line split in two, one too short): " .. #d)
local good = true
for _, x in ipairs(d) do
  local head, cont = x.input:match("^(.-) <extra_id_0>$"), x.target:match("^<extra_id_0> (.+)$")
  if not head or not cont or x.kind ~= "mask" then good = false end
end
ok(good, "mask: head <extra_id_0> -> <extra_id_0> continuation")
ok(d[1].input:gsub(" <extra_id_0>$", "") .. " " .. d[1].target:gsub("^<extra_id_0> ", "") == "the cat sat on the warm mat.",
   "head + continuation is the sentence: " .. d[1].input .. " | " .. d[1].target)
local d2 = mto.adapt_data{source = {lines = lines}, objective = "mask", seed = 5}
local same = true
for i = 1, #d do same = same and d[i].input == d2[i].input end
ok(same, "same seed, same split")
local lm = mto.adapt_data{source = {lines = lines}, objective = "lm", seed = 5}
ok(lm[1].kind == "lm" and not lm[1].input:find("extra_id") and not lm[1].target:find("extra_id"), "lm: head -> continuation")

local facts = L.facts("hypernym")
local t = mto.adapt_data{source = {task = facts}, objective = "lm"}
ok(#t == 16 and t[1].input == "e1 is a kind of" and t[1].target == facts[1].tail, "task records -> natural sentence split at the tail")
local tr = mto.adapt_data{source = {task = facts}, objective = "mask", split = "random", seed = 2}
ok(#tr == 16 and tr[1].input:find("^e1 ") and tr[1].input:find(" <extra_id_0>$"), "split = random cuts the rendered sentence")

local two = L.facts("hypernym")
for _, r in ipairs(L.facts("part_holonym")) do two[#two + 1] = r end
local mx = mto.adapt_data{source = {task = two}, objective = "mixed", groups = {hypernym = "mask", part_holonym = "lm"}}
local right = true
for _, x in ipairs(mx) do right = right and x.kind == (x.group == "hypernym" and "mask" or "lm") end
ok(#mx == 32 and right, "mixed: each example formatted by its group")
local fake_match = {order = {"w/hypernym"}, tasks = {["w/hypernym"] = {relation = "hypernym", family = "mapping"}}}
local mm = mto.adapt_data{source = {task = two}, objective = "mixed", groups = fake_match, mask_ratio = 1}
ok(mm[1].kind == "lm" and mm[17].kind == "mask", "mixed: groups from a match result; unnamed groups draw with mask_ratio")
local coin = mto.adapt_data{source = {lines = lines}, objective = "mixed", seed = 1, mask_ratio = 0.5}
ok(#coin == 4, "mixed on a corpus (no groups)")
ok(T.raises("objective 'denoise'", mto.adapt_data, {source = {lines = lines}, objective = "denoise"}), "bad objective named")
ok(T.raises("source", mto.adapt_data, {objective = "mask"}), "missing source named")

-- ---- continued pre-training moves the model toward the format --------------------
local tok = L.tokenizer()
local base = mto.new(L.CONFIG, 4)
local function masked_ll(m)
  local r = mto.match{model = m, tokenizer = tok, tasks = {f = facts}, templates = {"prompting", "masked_prompting"},
                      n = 16, candidates = 1, n_sentinels = L.NSENT}
  for _, row in ipairs(r.rows) do if row.template == "masked_prompting" then return row.mean_ll, r.tasks.f end end
end
local before = masked_ll(base)
local res = mto.adapt{model = base, tokenizer = tok, source = {task = facts}, objective = "mask", steps = 150, seed = 1,
                      train = {lr = 3e-3, batch_size = 16, dropout = false}}
local after, dec = masked_ll(res.model)
ok(res.n == 16 and res.counts.mask == 16 and res.train.steps == 150, "150 steps on 16 mask examples")
ok(after > before + 1, string.format("masked tail LL rises: %.3f -> %.3f", before, after))
ok(dec.family == "filling", "after mask adaptation the matcher says filling (MI " .. string.format("%.3f", dec.mi) .. ")")
near(masked_ll(base), before, 0, "the input model is untouched")

-- ---- a checkpoint directory with a real SentencePiece tokenizer -------------------
local dir = os.tmpname()
os.remove(dir)
mto._mkdir(dir)
local corpus = dir .. "/corpus.txt"
local fh = io.open(corpus, "w")
for i = 1, 60 do
  fh:write(string.format("the %s number %d lives near the %s river. It likes %s and %s.\n",
                         ({"cat", "dog", "bird", "fox"})[i % 4 + 1], i, ({"red", "blue", "green"})[i % 3 + 1],
                         ({"fish", "seeds", "apples"})[i % 3 + 1], ({"rain", "sun"})[i % 2 + 1]))
end
fh:close()
local spm = mto.train_tokenizer{input = corpus, model_prefix = dir .. "/sp", vocab_size = 150, model_type = "unigram",
                                seed = 1, num_threads = 1}
local stok = mto.tokenizer(spm)
local cfg = {}
for k, v in pairs(L.CONFIG) do cfg[k] = v end
cfg.vocab_size = stok.vocab_size
local sm = mto.new(cfg, 2)
sm.tokenizer = stok
local out = dir .. "/adapted"
local r2 = mto.adapt{model = sm, source = {corpus = corpus}, objective = "lm", steps = 10, out = out, seed = 3,
                     train = {batch_size = 8}}
local exists = require("mto.fs").exists
ok(exists(out .. "/config.json") and exists(out .. "/model.safetensors") and exists(out .. "/spiece.model")
   and exists(out .. "/adapt.json"), "out has config.json, model.safetensors, spiece.model, adapt.json")
local loaded = assert(mto.load(out))
local src, tgt = stok:encode("the cat number 3 lives"), stok:encode("near the red river.")
src[#src + 1] = 1
tgt[#tgt + 1] = 1
near(loaded:score(src, tgt), r2.model:score(src, tgt), 1e-5, "the saved checkpoint scores like the adapted model")
ok(loaded.tokenizer and loaded.tokenizer.vocab_size == stok.vocab_size, "the saved directory brings its tokenizer")
fh = io.open(out .. "/adapt.json")
local meta = fh:read("a")
fh:close()
ok(meta:find('"objective": "lm"', 1, true) and meta:find('"steps": 10', 1, true) and meta:find("corpus", 1, true),
   "adapt.json records source, objective and steps")
os.execute("rm -rf '" .. dir .. "'")
T.done()
