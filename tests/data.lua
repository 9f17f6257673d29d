-- data.lua — mto.objective() and mto.template() from Lua (TAP, run by `mto run`).
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
local function join(t) return table.concat(t, " ") end
local function fails(pattern, f, ...)
  local good, msg = pcall(f, ...)
  return not good and tostring(msg):find(pattern, 1, true) ~= nil, msg
end

local ids = {}
for i = 1, 40 do ids[i] = 100 + i end
local S0 = 32099

-- span corruption: same seed -> same draw; sentinels in order; reconstruction
local sc = mto.objective("span_corruption")
ok(tostring(sc) == "mto.objective(span_corruption)" and sc.name == "span_corruption", "objective object")
local a1, t1 = sc:apply(ids, {seed = 5})
local a2, t2 = sc:apply(ids, {seed = 5})
ok(join(a1) == join(a2) and join(t1) == join(t2), "same seed, same output")
ok(t1[#t1] == 1, "target ends with eos")
local function rebuild(input, target)
  local spans, cur = {}, nil
  for _, id in ipairs(target) do
    if id > S0 - 100 and id <= S0 then cur = {}; spans[id] = cur
    elseif id ~= 1 then cur[#cur + 1] = id end
  end
  local out, want = {}, S0
  for _, id in ipairs(input) do
    if id > S0 - 100 and id <= S0 then
      if id ~= want or not spans[id] then return nil end
      want = want - 1
      for _, x in ipairs(spans[id]) do out[#out + 1] = x end
    else out[#out + 1] = id end
  end
  return out
end
local all = true
for s = 1, 50 do
  local i, t = sc:apply(ids, {seed = s})
  local r = rebuild(i, t)
  all = all and r ~= nil and join(r) == join(ids)
end
ok(all, "50 draws reconstruct with sentinels in order")
-- without seed the object's own generator advances
local b1 = sc:apply(ids)
local b2 = sc:apply(ids)
ok(join(b1) ~= join(b2), "draws without seed continue the objective's generator")
-- custom sentinels and eos
local i3, t3 = sc:apply({5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, {seed = 2, sentinel0 = 999, eos = 2})
ok(t3[1] == 999 and t3[#t3] == 2, "sentinel0 and eos from the call")

-- salient span: 1-based inclusive span
local ss = mto.objective("salient_span")
local i4, t4 = ss:apply({11, 12, 13, 14, 15}, {span = {4, 5}})
ok(join(i4) == "11 12 13 " .. S0 and join(t4) == S0 .. " 14 15 1", "salient_span masks span {4, 5}")
ok(fails("not inside", ss.apply, ss, {1, 2}, {span = {2, 3}}), "span past the end -> error")

-- mapping needs a target
local mp = mto.objective("mapping")
local i5, t5 = mp:apply({3, 4}, {target = {7, 8}})
ok(join(i5) == "3 4" and join(t5) == "7 8 1", "mapping: target + eos")
ok(fails("no supervised target", mp.apply, mp, {3, 4}), "mapping without target -> error")

-- options and errors
local dense = mto.objective("span_corruption", {density = 0.5, mean_span = 2, roll = false})
local i6, t6 = dense:apply(ids, {seed = 1})
-- 40 tokens, density 0.5: 20 noise tokens in round(20/2) = 10 spans; roll = false ends in noise
ok(#t6 == 10 + 20 + 1 and #i6 == 20 + 10 and i6[#i6] == S0 - 9, "options density, mean_span, roll honoured")
ok(fails("density", mto.objective, "span_corruption", {density = 2}), "bad density -> error")
ok(fails("no objective plugin named 'nope'", mto.objective, "nope"), "unknown objective -> error")
ok(fails("not an integer token id", sc.apply, sc, {1, "x"}), "non-integer id -> error")

-- templates
local rec = {head = "PersonX applies for jobs", relation = "xIntent", tail = "to afford food and rent"}
local mp2 = mto.template("masked_prompting")
local inp, tgt = mp2:render(rec)
ok(inp == "PersonX applies for jobs because PersonX intended <extra_id_0>" and
   tgt == "<extra_id_0> to afford food and rent", "masked_prompting renders the paper's example")
ok(mp2.masked == true and mp2.soft_pre == false and mp2.flags == mto.TEMPLATE_MASKED, "flags")
local pre = mto.template("masked_pre_pt")
ok(pre.masked and pre.soft_pre and not pre.soft_post, "masked_pre_pt flags")
local tp = mto.template("mapping", {task_prefix = true})
ok(select(1, tp:render(rec)) == "xIntent: PersonX applies for jobs", "task_prefix = true")
local ph = mto.template("prompting", {["phrase.xIntent"] = "so that", phrases = {LovesTo = "{head} loves to"}})
ok(ph:render(rec) == "PersonX applies for jobs so that", "phrase.xIntent override")
ok(ph:render{head = "Ann", relation = "LovesTo", tail = "sing"} == "Ann loves to", "phrases table adds a relation")
local ph2 = mto.template("prompting", {["phrase.BrandNew"] = "{head} newly"})
ok(ph2:render{head = "Ann", relation = "BrandNew", tail = "x"} == "Ann newly", "phrase.REL for a relation not in the table")
ok(fails("unknown relation 'Zzz'", mp2.render, mp2, {head = "h", relation = "Zzz", tail = "t"}), "unknown relation -> error")
ok(fails("no field 'tail'", mp2.render, mp2, {head = "h", relation = "xIntent"}), "missing field -> error")
ok(fails("no mask slot", mto.template, "prompting", {masked = true}), "masked objective on an unmasked template -> error")
local qa = mto.template("masked_choice_prompting")
local qi, qt = qa:render{question = "Q?", choice1 = "a", choice2 = "b", nchoices = 2, answer = "choice2"}
ok(qi == "Q? choice1: a choice2: b The answer is <extra_id_0>" and qt == "<extra_id_0> choice2: b", "QA render (mcqa reader's fields)")

T.done()
