-- match_rules.lua — the matcher plugins (TAP): the rules matcher's built-in table
-- agrees with the editable plugins/matchers/rules.tsv, a user table and overrides
-- replace it, bad tables are named by file:line; the scoring matcher's threshold.
local mto = require "mto"
local L = dofile(os.getenv("MTO_SRCDIR") .. "/tests/match_lib.lua")
local T = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua")
local ok = T.ok
local tsv = os.getenv("MTO_SRCDIR") .. "/plugins/matchers/rules.tsv"

local builtin, fromfile = mto.matcher("rules"), mto.matcher("rules", {table = tsv})
ok(tostring(builtin) == "mto.matcher(rules)" and builtin.name == "rules", "mto.matcher(\"rules\")")
local n, agree = 0, true
for line in io.lines(tsv) do
  local rel, fam = line:match("^([^#%s]%S*)%s+(%S+)%s*$")
  if rel then
    n = n + 1
    local a, whya = builtin:decide{relation = rel}
    local b, whyb = fromfile:decide{relation = rel}
    if a ~= fam or b ~= fam then agree = false; T.diag(rel .. ": " .. tostring(a) .. " / " .. tostring(b)) end
  end
end
ok(n >= 30 and agree, n .. " relations: built-in table == rules.tsv")
local fam, why = fromfile:decide{relation = "AtLocation"}
ok(fam == "filling" and why:find("rules.tsv:%d+"), "why names the table line: " .. why)
fam, why = builtin:decide{relation = "at location"}
ok(fam == "filling" and why:find("built-in table", 1, true), "relation names compare loosely: " .. why)
fam, why = builtin:decide{relation = "NoSuchRelation"}
ok(fam == nil and why:find("no opinion", 1, true), "unknown relation: no opinion")
fam = mto.matcher("rules", {default = "mapping"}):decide{relation = "NoSuchRelation"}
ok(fam == "mapping", "option default")
fam, why = mto.matcher("rules", {rules = {AtLocation = "mapping", Foo = "filling"}}):decide{relation = "AtLocation"}
ok(fam == "mapping" and why:find("option rules", 1, true), "override from Lua")

local tmp = os.tmpname()
local fh = io.open(tmp, "w")
fh:write("# mine\nxIntent\tfilling\n\nxNeed filling\n")
fh:close()
local mine = mto.matcher("rules", {table = tmp})
ok(mine:decide{relation = "xIntent"} == "filling" and mine:decide{relation = "xWant"} == nil, "a user table replaces the built-in one")
fh = io.open(tmp, "w")
fh:write("xIntent filling\nxNeed maybe\n")
fh:close()
ok(T.raises(tmp .. ":2: family 'maybe'", mto.matcher, "rules", {table = tmp}), "bad family named with file:line")
fh = io.open(tmp, "w")
fh:write("xIntent\n")
fh:close()
ok(T.raises(tmp .. ":1: expected 'relation<TAB>family'", mto.matcher, "rules", {table = tmp}), "missing family named")
os.remove(tmp)
ok(T.raises("cannot open table /nonexistent/rules.tsv", mto.matcher, "rules", {table = "/nonexistent/rules.tsv"}), "missing file named")
ok(T.raises("is not REL=family", mto.matcher, "rules", {rules = "xIntent"}), "bad override string named")
ok(T.raises("option default 'both'", mto.matcher, "rules", {default = "both"}), "bad default named")
ok(T.raises("no matcher plugin named 'oracle' (available: rules, scoring)", mto.matcher, "oracle"), "unknown matcher named")

local sc = mto.matcher("scoring")
ok(sc:decide{mi = 0.3} == "filling" and sc:decide{mi = 0.29} == "mapping", "scoring: default threshold 0.3")
ok(mto.matcher("scoring", {threshold = 0.5}):decide{mi = 0.4} == "mapping", "scoring: threshold option")
fam, why = sc:decide{mi = "nan"}
ok(fam == nil and why:find("no maskability", 1, true), "scoring: no MI, no opinion")
local names = {}
for _, p in ipairs(mto.plugins and mto.plugins() or {}) do if p.kind == "matcher" then names[#names + 1] = p.name end end
table.sort(names)
ok(table.concat(names, ",") == "rules,scoring", "mto.plugins() lists both matchers: " .. table.concat(names, ","))
T.done()
