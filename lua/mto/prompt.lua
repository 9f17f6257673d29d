-- mto.prompt — prompt tuning as a sweep method: mto.prompt_tune(ctx) is what
-- sweep.methods.prompt_tune calls. It trains a soft prompt on ctx.model (frozen,
-- bit-identical afterwards) and returns m:train's result table plus `prompt`
-- (the trained mto.prompt); the sweep then decodes with ctx.model = that prompt.
--
-- Settings: M.defaults < ctx.prompt (a table, when the caller sets one):
--   k (20), init ("vocab" | "phrase" | "uniform"), placement (from the template:
--   post_pt / masked_post_pt -> "post", else "pre"), phrase (for init = "phrase";
--   default: the relation phrase of the records' most common relation, as the
--   "prompting" template words it), phrases = {REL = "..."}, seed (the point's),
--   optimizer ("adafactor"), lr (0.3), and any other m:prompt option.
-- Training options come from ctx.opts; unless the caller chose an optimizer or lr
-- (the sweep says which options its spec set in ctx.explicit: train, axes, full),
-- the prompt-tuning ones replace them; a chosen one (an lr axis, say) is kept;
-- `train = {...}` in the settings always wins (e.g. M.defaults.train = {lr = 0.3,
-- optimizer = "adafactor", epochs = 30} for every prompt_tune point of a sweep).
-- The result's `overrides` lists the options that differ from ctx.opts, so the
-- sweep records what actually ran in that row's columns.
local mto = require "mto"

local M = {}
local PT = mto.train_defaults("prompt") -- p:train's own: Adafactor, lr 0.3 (core/prompt_train.c)
M.defaults = {k = 20, init = "vocab", optimizer = PT.optimizer, lr = PT.lr}

local PROMPT_KEYS = {k = true, init = true, placement = true, phrase = true, phrase_ids = true, seed = true,
                     masked = true, mask_id = true, range = true, vocab_lo = true, vocab_hi = true}

-- The relation most of the records share.
local function main_relation(records)
  local count, best, bestn = {}, nil, 0
  for _, r in ipairs(records or {}) do
    if r.relation then
      count[r.relation] = (count[r.relation] or 0) + 1
      if count[r.relation] > bestn then best, bestn = r.relation, count[r.relation] end
    end
  end
  return best
end

-- The words the "prompting" template puts after a head for this relation.
function M.relation_phrase(rel, phrases)
  if phrases and phrases[rel] then return phrases[rel] end
  local ok, tpl = pcall(mto.template, "prompting", phrases and {phrases = phrases} or nil)
  if not ok then return nil end
  local ok2, input = pcall(tpl.render, tpl, {head = "", relation = rel, tail = ""})
  if not ok2 or not input then return nil end
  input = input:gsub("^%s+", ""):gsub("%s+$", "")
  return input ~= "" and input or nil
end

function M.tune(ctx)
  if type(ctx) ~= "table" or not ctx.model then error("mto.prompt_tune: ctx.model is required", 2) end
  local cfg = {}
  for k, v in pairs(M.defaults) do cfg[k] = v end
  for k, v in pairs(ctx.prompt or {}) do cfg[k] = v end
  local popts = {template = ctx.template, tokenizer = ctx.tokenizer}
  for k, v in pairs(cfg) do if PROMPT_KEYS[k] then popts[k] = v end end
  if popts.seed == nil then popts.seed = ctx.point and ctx.point.seed or (ctx.opts or {}).seed or 0 end
  if popts.init == "phrase" and not popts.phrase and not popts.phrase_ids then
    local rel = main_relation(ctx.records)
    popts.phrase = rel and M.relation_phrase(rel, cfg.phrases)
    if not popts.phrase then
      error("prompt_tune: init = \"phrase\" found no relation phrase" .. (rel and (" for '" .. rel .. "'") or "") ..
            "; give phrase=", 0)
    end
  end
  local p = ctx.model:prompt(popts)
  local opts = {}
  for k, v in pairs(ctx.opts or {}) do opts[k] = v end
  -- the prompt-tuning optimizer and lr unless the caller chose one: ctx.explicit (the sweep)
  -- names the options a spec set, otherwise every option in ctx.opts counts as chosen
  local chosen = ctx.explicit or ctx.opts or {}
  if not chosen.optimizer and not chosen.lr then opts.optimizer, opts.lr = cfg.optimizer, cfg.lr end
  for k, v in pairs(cfg.train or {}) do opts[k] = v end
  local res = p:train(ctx.train, opts)
  res.prompt = p
  res.overrides = {}
  for k, v in pairs(opts) do
    if (ctx.opts or {})[k] ~= v and type(v) ~= "table" and type(v) ~= "function" then res.overrides[k] = v end
  end
  return res
end

return M
