-- sweep.lua — the experiment layer end to end (TAP): preview, run, results CSV and
-- predictions, tables (markdown/CSV/LaTeX), plot, resume (nothing retrained, same
-- table), a NaN point recorded as failed, and the pure-Lua helpers on their own.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, is = T.ok, T.is
local slurp = require("mto.fs").read_file

-- ---- helpers that need no data -------------------------------------------------
local R = require "mto.results"
local recs = R.parse('a,b,c\n1,"x, ""y""",\n2,"multi\nline",z\n')
ok(#recs == 3 and recs[2][2] == 'x, "y"' and recs[2][3] == "" and recs[3][2] == "multi\nline", "results: CSV parser (quotes, empty, newline)")
is(R.csv_line({"a,b", 'q"', " s", 3, nil}, 5), '"a,b","q"""," s",3,', "results: CSV quoting, trailing empty field")
local _, complete = R.parse("a,b\n1,2")
ok(not complete, "results: a partial last line is detected")
local fs = require "mto.fewshot"
local toy = {}
for h = 1, 10 do for t = 1, 4 do toy[#toy + 1] = {relation = "r" .. (h % 2), head = "h" .. h, tail = "t" .. t} end end
local s1, s2 = fs.sample(toy, {shots = 3, tails = 2, seed = 7}), fs.sample(toy, {shots = 3, tails = 2, seed = 7})
is(#s1, 12, "fewshot: 3 heads x 2 tails per relation x 2 relations")
local same = #s1 == #s2
for i = 1, #s1 do same = same and s1[i] == s2[i] end
ok(same, "fewshot: same seed -> same draw")
local s3 = fs.sample(toy, {shots = 3, tails = 2, seed = 8})
local diff = false
for i = 1, #s1 do diff = diff or s1[i] ~= s3[i] end
ok(diff, "fewshot: another seed -> another draw")
local heads = {}
for _, r in ipairs(s1) do heads[r.head] = (heads[r.head] or 0) + 1 end
local cnt, max = 0, 0
for _, c in pairs(heads) do cnt = cnt + 1; max = math.max(max, c) end
ok(cnt == 6 and max == 2, "fewshot: 6 distinct heads, at most 2 tails each")
is(#fs.sample(toy, {shots = "full"}), 40, "fewshot: full = every record")
local groups = fs.test(toy)
ok(#groups == 10 and #groups[1].refs == 4, "fewshot: test groups hold every tail as a reference")
is(#fs.test(toy, {max_heads = 2}), 4, "fewshot: max_heads per relation")
local mc = {}
for q = 1, 8 do mc[#mc + 1] = {question = "q" .. q, choices = {"a", "b"}, answer = "a"} end
is(#fs.sample(mc, {shots = 5, tails = 3, seed = 1}), 5, "fewshot: multiple-choice records group by question (5 of 8)")
local rows = {}
for _, tp in ipairs{"A", "B"} do for _, s in ipairs{"4", "8"} do for seed = 1, 2 do
  rows[#rows + 1] = {template = tp, shots = s, seed = tostring(seed), status = "ok",
                     score = tostring((tp == "A" and 0.5 or 0.3) + (s == "8" and 0.1 or 0) + seed * 0.01)}
end end end
rows[#rows + 1] = {template = "A", shots = "4", seed = "3", status = "failed", score = ""}
local md, data = mto.table{results = rows, rows = "template", cols = "shots", value = "score", digits = 3}
ok(md:find("| A | 0.515 ± 0.007 | **0.615 ± 0.007** |", 1, true), "table: mean ± sample std, best in row bold")
ok(md:find("1 failed runs left out", 1, true), "table: failed runs noted")
ok(data[1].cells[2][1].n == 2, "table: two seeds per cell")
local tex = mto.table{results = rows, rows = "template", cols = "shots", value = "score", format = "latex"}
ok(tex:find("\\textbf{0.615 $\\pm$ 0.007}", 1, true) and tex:find("\\begin{tabular}{lrr}", 1, true), "table: LaTeX")
local csv = mto.table{results = rows, rows = "template", cols = "shots", value = "score", format = "csv"}
ok(csv:find(",A,8,0.615000,0.007071,2,1", 1, true), "table: CSV (long form)")

-- ---- the tiny sweep ------------------------------------------------------------
local tiny = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/sweep_tiny.lua")
tiny.need_data(T)
local tmp = os.tmpname()
local dir = tmp .. ".d"
local t0 = mto._clock()
local tokpath = tiny.tokenizer(tmp)
local sw = tiny.sweep(tokpath)
local pts = sw:points()
is(#pts, 8, "preview: 2 templates x 2 shots x 2 seeds = 8 points")
local keys, uniq = {}, true
for _, p in ipairs(pts) do uniq = uniq and not keys[p.key]; keys[p.key] = true end
ok(uniq, "preview: keys are unique")
is(sw:points()[5].key, pts[5].key, "preview: keys are stable")
ok(pts[1].key:find("template=mapping", 1, true) and pts[1].key:find("lr=0.003", 1, true), "key names the configuration: " .. pts[1].key)

local t1 = mto._clock()
local sum = sw:run{results = dir, quiet = true}
local run_time = mto._clock() - t1
T.diag(string.format("first run: %.2f s for %d points", run_time, sum.ran))
is(sum.ran, 8, "run: 8 points trained")
is(#sum.rows, 8, "run: 8 result rows")
local all_ok, metrics_ok, preds_ok = true, true, true
for _, r in ipairs(sum.rows) do
  all_ok = all_ok and r.status == "ok"
  local v = tonumber(r.rouge_l)
  metrics_ok = metrics_ok and v and v >= 0 and v <= 1 and tonumber(r.steps) > 0 and tonumber(r.wall) > 0
  local p = slurp(dir .. "/" .. r.predictions)
  local nl = p and select(2, p:gsub("\n", "")) or 0
  preds_ok = preds_ok and nl == tonumber(r.n_test) + 1
end
ok(all_ok, "run: every point ok")
ok(metrics_ok, "run: rouge_l in [0, 1], steps and wall time recorded")
ok(preds_ok, "run: a predictions TSV per run, one line per test head")
local r1 = sum.rows[1]
ok(r1.lr == "0.003" and r1.batch_size == "4" and r1.optimizer == "adamw" and r1.eval_max_len == "12",
   "run: configuration columns in the CSV")
is(tonumber(r1.n_test), 24, "run: 24 test heads")
ok(tonumber(r1.n_train) <= 12 and tonumber(r1.n_train) >= 4, "run: 4 shots -> at most 12 training examples (" .. r1.n_train .. ")")

local tab = mto.table{results = dir, rows = "template", cols = "shots", value = "rouge_l"}
T.diag(tab)
ok(tab:find("| mapping |", 1, true) and tab:find("| masked_mapping |", 1, true) and tab:find("| template | 4 | 8 |", 1, true),
   "table: templates x shots")
local csv_before = slurp(dir .. "/results.csv")

local png, note = mto.plot{results = dir, value = "rouge_l", out = dir .. "/rouge_l.png", quiet = true}
if png then ok(slurp(png) and slurp(png):sub(2, 4) == "PNG", "plot: PNG written by gnuplot")
else ok(note and note:find("gnuplot"), "plot: clear note without gnuplot: " .. tostring(note)) end

-- resume
local t2 = mto._clock()
local again = tiny.sweep(tokpath):run{results = dir, quiet = true}
T.diag(string.format("rerun: %.3f s", mto._clock() - t2))
ok(again.ran == 0 and again.skipped == 8, "resume: nothing retrained (ran " .. again.ran .. ")")
is(slurp(dir .. "/results.csv"), csv_before, "resume: results file unchanged")
is(mto.table{results = dir, rows = "template", cols = "shots", value = "rouge_l"}, tab, "resume: same table")

-- a point whose loss blows up is recorded as failed, and the sweep goes on
local spec = tiny.spec(tokpath)
spec.templates = {"mapping"}
spec.shots = {4}
spec.axes = {lr = {1e30}}
spec.train.clip = 0
local bad = mto.sweep(spec):run{results = dir .. "/nan", quiet = true}
local br = bad.rows[1]
ok(bad.ran == 2 and bad.failed == 2, "NaN: both points ran and failed (failed " .. bad.failed .. ")")
ok(br and br.status == "failed" and br.error:find("step %d+") and br.error:lower():find("nan"),
   "NaN: reason names the step: " .. tostring(br and br.error))
is(mto.sweep(spec):run{results = dir .. "/nan", quiet = true}.ran, 0, "NaN: a failed point is finished (not retried)")

-- errors that are the user's, not the run's
local e1, m1 = pcall(mto.sweep, {tasks = {}, models = {}, templates = {}})
ok(not e1 and m1:find("tasks"), "bad spec: clear error (" .. tostring(m1) .. ")")
local e2, m2 = pcall(mto.sweep, {tasks = {a = {}}, models = {b = {}}, templates = {"mapping"}, methods = {"nope"}})
ok(not e2 and m2:find("unknown method 'nope'", 1, true), "bad spec: unknown method named")
local e3, m3 = pcall(mto.sweep, {tasks = {a = {}}, models = {b = {}}, templates = {"mapping"}, shots = {-1}})
ok(not e3 and m3:find("shots"), "bad spec: shots = -1 rejected (0 is zero-shot, tests/mc.lua)")

local total = mto._clock() - t0
T.diag(string.format("total %.2f s", total))
if (os.getenv("LD_PRELOAD") or ""):find("vgpreload", 1, true) then
  T.skip(string.format("timing under valgrind (%.1f s)", total))
else
  ok(total < 60, string.format("end to end in %.1f s (< 60 s)", total))
end
if not os.getenv("KEEP") then os.execute("rm -rf '" .. dir .. "' '" .. tmp .. "' '" .. tmp .. ".txt' '" .. tmp .. ".model' '" .. tmp .. ".vocab'") end
T.done()
