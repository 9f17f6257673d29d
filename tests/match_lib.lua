-- match_lib.lua — shared by the matching tests (loaded with dofile): a word-level
-- tokenizer (no SentencePiece needed), a tiny world of facts, tiny models
-- (the TAP helpers are tests/tap.lua's).
local mto = require "mto"
local L = {}

L.V, L.NSENT = 96, 8

-- Word tokenizer with the T5 conventions: pad 0, eos 1, unk 2, sentinels at the top
-- (<extra_id_n> = V - 1 - n), words numbered in order of first sight.
local Tok = {}
Tok.__index = Tok
function L.tokenizer()
  return setmetatable({ids = {}, words = {}, next = 3, vocab_size = L.V}, Tok)
end
function Tok:sentinel(n) return L.V - 1 - n end
function Tok:encode(text)
  local out = {}
  for w in text:gmatch("%S+") do
    local s = w:match("^<extra_id_(%d+)>$")
    if s then out[#out + 1] = self:sentinel(tonumber(s))
    else
      local id = self.ids[w]
      if not id then
        assert(self.next < L.V - L.NSENT, "word tokenizer: vocabulary full")
        id = self.next
        self.ids[w], self.words[id], self.next = id, w, id + 1
      end
      out[#out + 1] = id
    end
  end
  return out
end
function Tok:decode(ids)
  local w = {}
  for _, id in ipairs(ids) do
    if id >= L.V - L.NSENT then w[#w + 1] = "<extra_id_" .. (L.V - 1 - id) .. ">"
    elseif id > 2 then w[#w + 1] = self.words[id] end
  end
  return table.concat(w, " ")
end

-- 16 facts "eI" --hypernym--> "vJ wK" (tails unique per head).
function L.facts(relation)
  local recs = {}
  for i = 1, 16 do
    recs[i] = {head = "e" .. i, relation = relation or "hypernym",
               tail = "v" .. ((i * 5) % 16 + 1) .. " w" .. ((i * 3) % 7 + 1)}
  end
  return recs
end

L.CONFIG = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 2, num_decoder_layers = 2,
            vocab_size = L.V, feed_forward_proj = "gated-gelu", tie_word_embeddings = false,
            relative_attention_num_buckets = 8, relative_attention_max_distance = 16, dropout_rate = 0.0}

-- A tiny model trained on the facts rendered with one template ("pre-training" in that format).
function L.trained(tok, template, steps, seed)
  local tpl = mto.template(template)
  local ex = {}
  for i, r in ipairs(L.facts()) do
    local input, target = tpl:render(r)
    local s = tok:encode(input)
    s[#s + 1] = 1
    ex[i] = {src = s, tgt = tok:encode(target)}
  end
  local m = mto.new(L.CONFIG, seed or 1)
  local res = m:train(ex, {lr = 3e-3, max_steps = steps or 300, batch_size = 16, seed = seed or 1, dropout = false})
  return m, res
end

return L
