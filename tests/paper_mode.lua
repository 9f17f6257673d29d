-- tests/paper_mode.lua — paper mode outside the metrics (TAP): the paper code's
-- head selection (mto.fewshot order = "paper"), the sweep's eval.metrics, the
-- "paper" phrase set and the gain tables.
local mto = require "mto"
local fs = require "mto.fewshot"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, is = T.ok, T.is
local function tails(recs)
  local t = {}
  for i, r in ipairs(recs) do t[i] = r.tail end
  return table.concat(t, " ")
end

-- ---- head selection as attempt/data/tasks.py (Atomic.preproc_df + subsample) ----
-- The whole file: head A has 3 rows and 2 relations (px 2, freq 3), C px 2 freq 2,
-- B px 1 freq 3, E px 1 freq 2, D px 1 freq 1.
local file = {}
for _, row in ipairs{{"xIntent", "A", "t1"}, {"xIntent", "A", "t2"}, {"xNeed", "A", "n1"},
                     {"xIntent", "B", "t3"}, {"xIntent", "B", "t4"}, {"xIntent", "B", "t5"},
                     {"xIntent", "C", "t6"}, {"xNeed", "C", "n2"}, {"xIntent", "D", "t7"},
                     {"xIntent", "E", "t8"}, {"xIntent", "E", "t9"}} do
  file[#file + 1] = {relation = row[1], head = row[2], tail = row[3]}
end
local xintent = {}
for _, r in ipairs(file) do if r.relation == "xIntent" then xintent[#xintent + 1] = r end end
-- sorted by (px, freq, head, relation) descending, ties in file order:
--   A/xNeed n1, A/xIntent t1 t2, C/xNeed n2, C/xIntent t6, B t3 t4 t5, E t8 t9, D t7
-- 2 shots, 1 tail: A t1, C t6, then B's first row is kept and the loop stops
-- (len(counter) = 3 > 2 is checked after appending): N + 1 heads
is(tails(fs.sample(xintent, {shots = 2, tails = 1, seed = 1, order = "paper", counts = file})), "t1 t6 t3",
   "paper order: by relations, then rows of the head; 2 shots keep 3 heads (the paper's loop)")
is(tails(fs.sample(xintent, {shots = 2, tails = 2, seed = 1, order = "paper", counts = file})), "t1 t2 t6 t3",
   "paper order: up to `tails` rows per train head; the extra head keeps one")
is(tails(fs.sample(xintent, {shots = 2, tails = 1, seed = 7, order = "paper", counts = file})), "t1 t6 t3",
   "paper order: the seed does not change the heads")
is(tails(fs.sample(file, {shots = 5, tails = 1, seed = 1, order = "paper"})), "t1 t6 t3 t8 t7 n1 n2",
   "paper order: every relation on its own, counts from the records given")
-- without the whole file's counts, xIntent alone: B (freq 3), E, A (freq 2; head descending), D, C (freq 1)
is(tails(fs.sample(xintent, {shots = 2, tails = 1, seed = 1, order = "paper"})), "t3 t8 t1",
   "paper order: counts matter (a relation's own rows order differently)")
local g = fs.test(xintent, {max_heads = 1, order = "paper", counts = file})
is(#g .. " " .. tails(g[1].records) .. " | " .. table.concat(g[2].refs, " "), "2 t1 t2 | t6",
   "paper test: up to 3 references per head, the extra head with one")
g = fs.test(xintent, {order = "paper", counts = file})
local heads = {}
for i, x in ipairs(g) do heads[i] = x.head .. "=" .. table.concat(x.refs, ",") end
is(table.concat(heads, " "), "A=t1,t2 C=t6 B=t3,t4,t5 E=t8,t9 D=t7", "paper test: every head when max_heads is nil")
g = fs.test(xintent, {order = "paper", counts = file, refs = 2})
is(table.concat(g[3].refs, ","), "t3,t4", "paper test: refs = 2")
local a = tails(fs.sample(xintent, {shots = 3, tails = 1, seed = 3, order = "paper", counts = file}))
local b = tails(fs.sample(xintent, {shots = 3, tails = 1, seed = 3, order = "paper", counts = file}))
is(a, b, "paper order: deterministic")
ok(not pcall(fs.sample, xintent, {shots = 2, order = "random"}), "unknown order is refused")

-- ---- sweep eval.metrics ----
local function sweep_err(eval)
  local good, err = pcall(mto.sweep, {tasks = {t = {}}, models = {m = {}}, templates = {"mapping"}, eval = eval})
  return good, tostring(err)
end
local good, err = sweep_err{metrics = {"rouge_l", "rogue"}}
ok(not good and err:find("unknown metric 'rogue'") and err:find("rouge_l_paper"), "sweep: unknown metric named, known listed: " .. err)
local sw = mto.sweep{tasks = {t = {}}, models = {m = {}}, templates = {"mapping"},
                     eval = {metrics = {"rouge_l_paper", "exact_match_paper", "rouge_l"}}, fewshot = {order = "paper", tails = 1}}
local cols = table.concat(sw.columns, ",")
ok(cols:find(",rouge_l,") and cols:find(",rouge_l_paper") and cols:find(",exact_match_paper") and cols:find(",sampling,"),
   "sweep: paper metric and sampling columns")
ok(not cols:find("eval_metrics"), "sweep: eval.metrics is not an eval_ column")
ok(sw:points()[1].key:find("sampling=paper", 1, true), "sweep: paper sampling is part of the key")
local r2 = mto.sweep{tasks = {t = {}}, models = {m = {}}, templates = {"mapping"}, fewshot = {order = "paper", refs = 2}}
ok(r2:points()[1].key:find("sampling=paper/refs=2;", 1, true), "sweep: refs other than 3 is in the key")
local dflt = mto.sweep{tasks = {t = {}}, models = {m = {}}, templates = {"mapping"}}
ok(not table.concat(dflt.columns, ","):find("paper") and not table.concat(dflt.columns, ","):find("sampling"),
   "sweep: default columns unchanged")

-- ---- the "paper" phrase set from Lua (golden strings quoted in tests/test_templates.c) ----
local rec = {head = "PersonX applies for jobs", relation = "xNeed", tail = "a resume"}
local input, target = mto.template("masked_prompting", {phrases = "paper"}):render(rec)
is(input .. " -> " .. target, "But before PersonX applies for jobs, PersonX needed <extra_id_0> -> <extra_id_0> a resume",
   "mto.template(name, {phrases = \"paper\"})")
input = mto.template("prompting"):render(rec)
is(input, "PersonX applies for jobs. Before that, PersonX needed", "the default set is unchanged")
input = mto.template("post_pt", {phrases = "paper"}):render{head = "h", relation = "xIntent", tail = "t"}
is(input, "h they intend", "prompt tuning keeps the phrase in the paper set")
local swp = mto.sweep{tasks = {t = {}}, models = {m = {}}, templates = {"prompting"}, phrases = "paper"}
ok(table.concat(swp.columns, ","):find(",phrases,") and swp:points()[1].key:find("phrases=paper", 1, true),
   "sweep phrases = \"paper\": a column and part of the key")
swp.cache = {}
is(swp:_template("prompting"):render(rec), "But before PersonX applies for jobs, PersonX needed",
   "sweep phrases = \"paper\" reaches the templates")

-- ---- gain tables: golden layout ----
local rows = {}
local function add(model, task, template, seed, v)
  rows[#rows + 1] = {model = model, task = task, template = template, seed = seed, shots = 30, method = "finetune",
                     status = "ok", rouge_l_paper = v}
end
add("t5", "xIntent", "mapping", 1, 0.4); add("t5", "xIntent", "mapping", 2, 0.6)
add("t5", "xIntent", "masked_prompting", 1, 0.5); add("t5", "xIntent", "masked_prompting", 2, 0.7)
add("t5", "xIntent", "prompting", 1, 0.3)
add("t5", "xNeed", "mapping", 1, 0.2); add("t5", "xNeed", "mapping", 2, 0.2)
add("t5", "xNeed", "masked_prompting", 1, 0.3); add("t5", "xNeed", "masked_prompting", 2, 0.1)
add("v1_1", "xIntent", "masked_prompting", 1, 0.55); add("v1_1", "xIntent", "mapping", 1, 0.5)
rows[#rows + 1] = {model = "t5", task = "xIntent", template = "prompting", seed = 2, method = "finetune", status = "failed"}
-- by hand: t5/xIntent masked_prompting 100 (1.2 - 1.0) / 1.0 = +20%; bootstrap over 2 seeds
-- resamples (1,1) 100 (1.0 - .8)/.8 = +25%, (2,2) 100 (1.4 - 1.2)/1.2 = +16.7%, mixed +20%,
-- each pure pair ~1/4 of 2000 draws, so the 2.5% and 97.5% points are +16.7% and +25%.
-- prompting has one seed paired with mapping: 100 (.3 - .4)/.4 = -25%, no interval.
-- xNeed masked_prompting: (.3 + .1 - .4)/.4 = 0; (1,1) +50%, (2,2) -50%.
local want = [[
### model = t5

| template | xIntent | xNeed |
|---|---|---|
| mapping | 0.500 (base) | 0.200 (base) |
| masked_prompting | 0.600 (+20.0% [+16.7%, +25.0%]) | 0.200 (+0.0% [-50.0%, +50.0%]) |
| prompting | 0.300 (-25.0%) | – |

### model = v1_1

| template | xIntent |
|---|---|
| mapping | 0.500 (base) |
| masked_prompting | 0.550 (+10.0%) |

rouge_l_paper: mean over runs (gain over mapping in %, paired by replicate, seed, bootstrap 95% CI); 1 failed runs left out.
]]
local spec = {results = rows, rows = "template", cols = "task", value = "rouge_l_paper", by = {"model"},
              where = {method = "finetune"}, gain_over = "mapping"}
local md, data = mto.table(spec)
is(md, want, "gain table: markdown layout (templates x relations per model, baseline first)")
ok(data[1].cells[2][1].pairs == 2 and math.abs(data[1].cells[2][1].gain - 20) < 1e-9, "gain table: data cells")
spec.format = "csv"
local csvt = mto.table(spec)
ok(csvt:find("table,template,col,mean,n,baseline,gain_pct,gain_lo,gain_hi,pairs\n", 1, true) and
   csvt:find("model = t5,masked_prompting,xIntent,0.600000,2,mapping,20.0000,16.6667,25.0000,2\n", 1, true) and
   csvt:find("model = t5,mapping,xIntent,0.500000,2,mapping,,,,\n", 1, true),
   "gain table: csv, one line per cell")
spec.format = "latex"
local tex = mto.table(spec)
ok(tex:find("masked\\_prompting & 0.600 (+20.0\\% [+16.7\\%, +25.0\\%]) & 0.200 (+0.0\\% [-50.0\\%, +50.0\\%]) \\\\", 1, true)
   and tex:find("\\begin{tabular}{lrr}", 1, true), "gain table: latex")
spec.format, spec.gain_over, spec.baseline = nil, nil, "mapping"
is((require("mto.table").gain(spec)), want, "require('mto.table').gain{baseline = ...} is the same table")
spec.where = nil
rows[#rows + 1] = {model = "t5", task = "xIntent", template = "mapping", seed = 1, method = "prompt_tune", status = "ok",
                   rouge_l_paper = 0.1}
local good2, err2 = pcall(mto.table, spec)
ok(not good2 and tostring(err2):find("where"), "gain table: two runs of one unit is a clear error: " .. tostring(err2))
local zero = {{model = "m", task = "r", template = "mapping", seed = 1, status = "ok", v = 0},
              {model = "m", task = "r", template = "prompting", seed = 1, status = "ok", v = 0.25}}
local zt = mto.table{results = zero, rows = "template", cols = "task", value = "v", gain_over = "mapping"}
ok(zt:find("| prompting | 0.250 (n/a) |", 1, true) and zt:find("n/a: the baseline's mean is 0", 1, true),
   "gain table: a zero baseline gives n/a, explained")
T.done()
