-- readers.lua — mto.read from Lua: records, counts, option tables, and errors
-- that name file:line. Prints TAP.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, is = T.ok, T.is
local function write(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- ATOMIC: the shared sample, and an inline original-layout file
local shared = os.getenv("MTO_SHARED_DATA")
local sample = shared and (shared .. "/atomic2020-sample/validation.tsv")
if sample and io.open(sample) then
  local recs, counts = mto.read("atomic", sample)
  ok(#recs > 0, "atomic: validation.tsv gives " .. #recs .. " records")
  is(recs[1].relation, "xIntent", "atomic: relation from the prefix column")
  is(math.type(recs[1].line), "integer", "atomic: line is an integer")
  is(recs[1].line, 2, "atomic: first record on line 2")
  ok(type(counts) == "table", "atomic: counts table")
else
  for _ = 1, 5 do T.skip("no shared ATOMIC sample") end
end

local p = write("PersonX eats\txWant\tto sleep\nPersonX eats\txNeed\tnone\nPersonX runs\tAtLocation\tpark\n")
local recs, counts = mto.read("atomic", p, {relations = {"xWant", "xNeed"}})
is(#recs, 1, "atomic: relations given as a Lua array")
is(counts.none_tails, 1, "atomic: counts.none_tails")
recs = mto.read("atomic", p, {max_rows = 1})
is(#recs, 1, "atomic: numeric option")

local bad = write("a\tb\tc\nonly two\tcolumns\n")
local okk, msg = pcall(mto.read, "atomic", bad)
ok(not okk and msg:find(bad .. ":2: expected 3 tab%-separated columns, found 2", 1, false),
   "atomic: malformed row raises file:line error")
okk, msg = pcall(mto.read, "atomic", p, {relations = "nonsense"})
ok(not okk and msg:find("nonsense", 1, true), "atomic: unknown relation raises")
okk, msg = pcall(mto.read, "no_such_reader", p)
ok(not okk and msg:find("no_such_reader", 1, true), "unknown reader raises")
okk, msg = pcall(mto.read, "atomic", p .. ".missing")
ok(not okk and msg:find(p .. ".missing", 1, true), "missing file raises naming it")

-- CSV with a map table
local c = write('input_text,prefix,target_text\n"a, quoted\nhead",xIntent,tail one\n')
recs = mto.read("csv", c, {map = {head = "input_text", relation = "prefix", tail = 3}})
is(recs[1].head, "a, quoted\nhead", "csv: map table, quoted field with newline")
is(recs[1].tail, "tail one", "csv: map by column index")
is(recs[1].target_text, nil, "csv: unmapped column absent")

-- text and mcqa
local t = write("one\n\ntwo\n")
recs = mto.read("text", t)
is(#recs, 2, "text: two passages")
is(recs[2].line, 3, "text: line numbers")
local q = write('{"id":"1","question":{"stem":"Where?","choices":[{"label":"A","text":"here"},{"label":"B","text":"there"}]},"answerKey":"B"}\n')
recs = mto.read("mcqa", q)
is(recs[1].answer, "choice2", "mcqa: answer field")
is(recs[1].nchoices, 2, "mcqa: nchoices is an integer")
is(recs[1][recs[1].answer], "there", "mcqa: record[answer] is the answer text")

-- WordNet, when installed
if io.open("/usr/share/wordnet/data.noun") then
  recs = mto.read("wordnet", "", {pos = "n", relations = "hypernym", max_synsets = 50, seed = 1})
  ok(#recs >= 50, "wordnet: 50 sampled synsets give " .. #recs .. " hypernym triples")
  local again = mto.read("wordnet", "", {pos = "n", relations = "hypernym", max_synsets = 50, seed = 1})
  is(again[1].head .. again[#again].tail, recs[1].head .. recs[#recs].tail, "wordnet: seeded sample repeats")
  local qs = mto.read("wordnet_mcqa", "/usr/share/wordnet", {pos = "n", max_synsets = 3, seed = 2})
  is(#qs, 3, "wordnet_mcqa: 3 questions")
  is(qs[1].nchoices, 5, "wordnet_mcqa: 5 choices")
  is(qs[1][qs[1].answer], qs[1].answer_text, "wordnet_mcqa: answer names the right choice")
  okk, msg = pcall(mto.read, "wordnet", "", {relations = "hypernim"})
  ok(not okk and msg:find("hypernim", 1, true), "wordnet: unknown relation raises")
else
  for _ = 1, 6 do T.skip("wordnet-base not installed") end
end

for _, f in ipairs({p, bad, c, t, q}) do os.remove(f) end
T.done()
