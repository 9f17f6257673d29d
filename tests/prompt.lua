-- prompt.lua — prompt tuning from Lua (TAP): m:prompt options and errors, p:train
-- leaving the model's checkpoint byte-identical while the prompt's loss falls,
-- the prompt-only file round trip (same embeddings, predictions and scores),
-- records rendered through a template, mto.prompt_tune's phrase init, and a tiny
-- sweep with methods finetune + prompt_tune on the shared ATOMIC sample.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, is = T.ok, T.is
local slurp = require("mto.fs").read_file
local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if #a ~= #b then return false end
  for i = 1, #a do if not same(a[i], b[i]) then return false end end
  return true
end

local cfg = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 2, num_decoder_layers = 2,
             vocab_size = 64, feed_forward_proj = "gated-gelu", tie_word_embeddings = false,
             relative_attention_num_buckets = 8, relative_attention_max_distance = 32, dropout_rate = 0.0}
local m = mto.new(cfg, 3)
-- a toy task: the target is a function of the source's first token
local ex = {}
for i = 1, 16 do
  local a = 3 + (i * 5) % 40
  ex[i] = {src = {a, 3 + (i * 3) % 40, 3 + (i * 11) % 40, 1}, tgt = {50 + a % 4, 60}}
end
local tmp = os.tmpname()

-- ---- options and errors -------------------------------------------------------
local p = m:prompt{k = 6, init = "uniform", seed = 1}
ok(p.k == 6 and p.d_model == 32 and p.placement == "pre" and p.init == "uniform" and not p.masked,
   "m:prompt: k, d_model, placement, init (" .. tostring(p) .. ")")
local e1 = select(2, pcall(m.prompt, m, {init = "bogus"}))
ok(tostring(e1):find("unknown init 'bogus' (vocab, uniform, phrase)", 1, true), "bad init named: " .. tostring(e1))
local e2 = select(2, pcall(m.prompt, m, {placement = "middle"}))
ok(tostring(e2):find("unknown placement 'middle' (pre, post)", 1, true), "bad placement named")
local e3 = select(2, pcall(m.prompt, m, {kk = 3}))
ok(tostring(e3):find("unknown option 'kk'", 1, true), "unknown option named")
local e4 = select(2, pcall(m.prompt, m, {k = 0}))
ok(tostring(e4):find("k 0", 1, true), "k = 0 refused")
local e5 = select(2, pcall(m.prompt, m, {init = "phrase"}))
ok(tostring(e5):find("phrase", 1, true), "init = phrase without a phrase refused")
local pm = m:prompt{k = 2, placement = "post", masked = true, mask_id = 63, init = "phrase", phrase_ids = {7, 8, 9}}
ok(pm.masked and pm.mask_id == 63 and pm.placement == "post" and pm.init == "phrase", "masked post prompt, phrase init")
local emb = pm:embedding()
ok(#emb == 2 and #emb[1] == 32 and not same(emb[1], emb[2]), "phrase init: k rows from the phrase's tokens")

-- ---- training leaves the model alone ----------------------------------------------
m:save(tmp .. ".before.safetensors")
local l_model = m:loss(ex[1].src, ex[1].tgt)
local l0 = p:eval_loss(ex)
local steps = 0
local res = p:train(ex, {max_steps = 40, batch_size = 4, progress = function() steps = steps + 1 end})
is(res.steps, 40, "p:train: 40 steps (Adafactor lr 0.3 by default)")
is(steps, 40, "p:train: progress called every step")
is(res.trained_params, 6 * 32, "p:train: only k x d_model numbers train")
local stop = p:train(ex, {max_steps = 40, batch_size = 4, progress = function(step) return step == 3 end})
ok(stop.cancelled and stop.steps == 3, "p:train: progress returning true stops training (" .. stop.steps .. " steps)")
local perr_ok, perr = pcall(p.train, p, ex, {max_steps = 5, progress = function() error("prompt boom") end})
ok(not perr_ok and tostring(perr):find("prompt boom", 1, true), "p:train: an error in progress propagates: " .. tostring(perr))
local l1 = p:eval_loss(ex)
ok(l1 < 0.9 * l0, string.format("p:train lowers the prompted loss (%.4f -> %.4f)", l0, l1))
m:save(tmp .. ".after.safetensors")
ok(slurp(tmp .. ".before.safetensors") == slurp(tmp .. ".after.safetensors"),
   "the model's checkpoint is byte-identical after prompt tuning")
is(m:loss(ex[1].src, ex[1].tgt), l_model, "the bare model's loss is unchanged")

-- ---- prompt-only file ---------------------------------------------------------------
p:save(tmp .. ".prompt.safetensors")
local size = #slurp(tmp .. ".prompt.safetensors")
ok(size < 6 * 32 * 4 + 1024, "prompt file holds only the prompt (" .. size .. " bytes)")
local q = m:load_prompt(tmp .. ".prompt.safetensors")
ok(q.k == 6 and q.placement == "pre" and q.init == "uniform" and same(q:embedding(), p:embedding()),
   "m:load_prompt: same k, placement, init and embeddings")
local srcs = {}
for i, e in ipairs(ex) do srcs[i] = e.src end
local pp, pq = p:predict(srcs, {max_len = 4}), q:predict(srcs, {max_len = 4})
ok(same(pp, pq), "loaded prompt predicts the same ids")
ok(same(p:score(ex), q:score(ex)) and q:eval_loss(ex) == l1, "loaded prompt scores the same")
ok(same(p:generate(srcs[2], {max_len = 4}), pp[2]), "p:generate == p:predict for one source")
local bare = m:predict(srcs, {max_len = 4})
ok(not same(bare, pp) or m:eval_loss(ex) ~= l1, "the prompt changes what the model does")
local e6 = select(2, pcall(m.load_prompt, m, tmp .. ".before.safetensors"))
ok(tostring(e6):find("not a soft prompt", 1, true), "a model file is not a prompt: " .. tostring(e6))
local m2 = mto.new((function() local c = {} for k, v in pairs(cfg) do c[k] = v end c.d_model = 16 c.d_kv = 4 return c end)(), 1)
local e7 = select(2, pcall(m2.load_prompt, m2, tmp .. ".prompt.safetensors"))
ok(tostring(e7):find("d_model", 1, true), "a prompt for another d_model is refused")
os.remove(tmp .. ".before.safetensors"); os.remove(tmp .. ".after.safetensors"); os.remove(tmp .. ".prompt.safetensors")

-- ---- with a tokenizer, a template and the shared sample -------------------------------
local tiny = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/sweep_tiny.lua")
if not tiny.data then os.remove(tmp) end
tiny.need_data(T)
local tokpath = tiny.tokenizer(tmp)
local tok = mto.tokenizer(tokpath)
local spec = tiny.spec(tokpath)
local mt = mto.new(spec.models.tiny.config, 1)
mt.tokenizer = tok
local recs = mto.read("atomic", tiny.data .. "/train.tsv")
local few = {}
for i = 1, 8 do few[i] = recs[i] end
local tpl = mto.template("masked_post_pt")
local pr = mt:prompt{k = 4, template = tpl}
ok(pr.placement == "post" and pr.masked and pr.mask_id == tok:sentinel(0) and pr.template == "masked_post_pt",
   "placement and mask slot from the template (masked_post_pt)")
local r = pr:train(few, {max_steps = 3, batch_size = 4})
ok(r.steps == 3 and r.first_loss > 0, "p:train on records rendered by the template")
ok(#pr:predict({"PersonX eats <extra_id_0>"}, {max_len = 5}) == 1, "p:predict on text")
pr:save(tmp .. ".pr.safetensors")
local pr2 = mt:load_prompt(tmp .. ".pr.safetensors")
os.remove(tmp .. ".pr.safetensors")
ok(pr2.masked and pr2.mask_id == pr.mask_id and same(pr2:score(few), pr:score(few)),
   "loaded prompt: mask slot kept, records rendered by the template named in the file")
local ctx = {model = mt, tokenizer = tok, template = mto.template("post_pt"), records = few, point = {seed = 2},
             train = {{src = tok:encode("PersonX eats") , tgt = tok:encode("food")}},
             opts = {optimizer = "adamw", lr = 1e-3, max_steps = 2, batch_size = 1}, prompt = {init = "phrase", k = 5},
             explicit = {max_steps = true, batch_size = true}}
local res2 = mto.prompt_tune(ctx)
ok(res2.prompt and res2.prompt.init == "phrase" and res2.prompt.k == 5 and res2.prompt.placement == "post",
   "mto.prompt_tune: phrase init from the records' relation, post from post_pt")
is(res2.steps, 2, "mto.prompt_tune: trains with ctx.opts")
ok(res2.overrides.optimizer == "adafactor" and res2.overrides.lr == 0.3 and res2.overrides.max_steps == nil,
   "mto.prompt_tune: the sweep's default optimizer and lr become Adafactor 0.3 (reported in overrides)")
ctx.explicit = {optimizer = true, lr = true}
local res3 = mto.prompt_tune(ctx)
ok(res3.overrides.optimizer == nil and res3.overrides.lr == nil,
   "mto.prompt_tune: an explicit adamw 1e-3 is kept, though it equals the sweep's default")

-- the sweep: finetune and prompt_tune side by side
spec.templates = {"pre_pt", "masked_post_pt"}
spec.shots = {4}
spec.seeds = {1}
spec.methods = {"finetune", "prompt_tune"}
spec.train.epochs = 4
local dir = tmp .. ".d"
local PT = require "mto.prompt"
PT.defaults.train = {optimizer = "adafactor", lr = 0.3} -- every prompt_tune point, whatever train.lr says
local sum = mto.sweep(spec):run{results = dir, quiet = true}
PT.defaults.train = nil
is(sum.ran, 4, "sweep: 2 templates x 2 methods = 4 points")
local okrows, pt_rows = true, 0
for _, row in ipairs(sum.rows) do
  local v = tonumber(row.rouge_l)
  okrows = okrows and row.status == "ok" and v and v >= 0 and v <= 1 and tonumber(row.steps) > 0
  if row.status ~= "ok" then T.diag(row.key .. ": " .. tostring(row.error)) end
  if row.method == "prompt_tune" then pt_rows = pt_rows + 1 end
end
ok(okrows, "sweep: every point ok with rouge_l in [0, 1]")
is(pt_rows, 2, "sweep: two prompt_tune rows")
local cols_ok = true
for _, row in ipairs(sum.rows) do
  local want_opt, want_lr = "adamw", "0.003"
  if row.method == "prompt_tune" then want_opt, want_lr = "adafactor", "0.3" end
  cols_ok = cols_ok and row.optimizer == want_opt and row.lr == want_lr and row.key:find("lr=0.003", 1, true) ~= nil
end
ok(cols_ok, "sweep: prompt rows record the optimizer and lr that ran (adafactor 0.3), keys unchanged")
local tab = mto.table{results = dir, rows = "template", cols = "method", value = "rouge_l"}
T.diag(tab)
ok(tab:find("prompt_tune", 1, true) and tab:find("finetune", 1, true), "table: methods as columns")
is(mto.sweep(spec):run{results = dir, quiet = true}.ran, 0, "sweep resume: nothing rerun")
if not os.getenv("KEEP") then
  os.execute("rm -rf '" .. dir .. "' '" .. tmp .. "' '" .. tmp .. ".txt' '" .. tmp .. ".model' '" .. tmp .. ".vocab'")
end
T.done()
