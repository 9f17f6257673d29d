#!/usr/bin/python3
"""make_t5_fixtures.py — reference fixtures for the C T5 engine.

Hugging Face T5 semantics (modeling_t5.py: T5ForConditionalGeneration) written
out in plain PyTorch, so no `transformers` is needed. Builds a tiny random T5
v1.0 (ReLU, tied head scaled by d_model**-0.5) and v1.1 (gated tanh-GELU,
separate lm_head), writes each as an HF directory (config.json +
model.safetensors, F32) and an expected-values safetensors: the batch, the
logits, the loss, every parameter gradient (computed in float64 from the
float32 weights), and the losses of 10 AdamW steps (float32, as the engine).
Also an F16 and a BF16 single-file copy (config in __metadata__) and a copy
without the tied tensors, for the loader tests.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 make_t5_fixtures.py [outdir]
"""
import json
import math
import os
import struct
import sys

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

BASE = dict(d_model=16, d_ff=32, d_kv=4, num_heads=2, num_layers=2, num_decoder_layers=2,
            relative_attention_num_buckets=8, relative_attention_max_distance=16, vocab_size=64,
            dropout_rate=0.1, layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1,
            decoder_start_token_id=0, model_type="t5")
VARIANTS = {
    "t5-v10": dict(BASE, feed_forward_proj="relu", tie_word_embeddings=True),
    "t5-v11": dict(BASE, feed_forward_proj="gated-gelu", tie_word_embeddings=False),
}
# A padded batch: src padded with 0, labels padded with -100 (each ends in eos 1).
SRC = [[5, 9, 12, 7, 33, 1, 0], [8, 3, 1, 0, 0, 0, 0], [22, 23, 24, 25, 26, 27, 1]]
LABELS = [[4, 6, 40, 1, -100], [11, 1, -100, -100, -100], [30, 31, 32, 63, 1]]
ADAM = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, steps=10)


# ---- parameters, HF names and HF init (_init_weights, factor 1.0) -----------------

def param_shapes(c):
    D, F, H, K, V = c["d_model"], c["d_ff"], c["num_heads"], c["d_kv"], c["vocab_size"]
    I = H * K
    gated = c["feed_forward_proj"].startswith("gated")
    out = [("shared.weight", (V, D))]
    for stack, L in (("encoder", c["num_layers"]), ("decoder", c["num_decoder_layers"])):
        for l in range(L):
            subs = [("SelfAttention", 0)] + ([("EncDecAttention", 1)] if stack == "decoder" else [])
            for kind, i in subs:
                p = f"{stack}.block.{l}.layer.{i}.{kind}"
                out += [(p + ".q.weight", (I, D)), (p + ".k.weight", (I, D)), (p + ".v.weight", (I, D)),
                        (p + ".o.weight", (D, I))]
                if kind == "SelfAttention" and l == 0:
                    out.append((p + ".relative_attention_bias.weight",
                                (c["relative_attention_num_buckets"], H)))
                out.append((f"{stack}.block.{l}.layer.{i}.layer_norm.weight", (D,)))
            i = 2 if stack == "decoder" else 1
            p = f"{stack}.block.{l}.layer.{i}"
            wis = ["wi_0", "wi_1"] if gated else ["wi"]
            out += [(f"{p}.DenseReluDense.{w}.weight", (F, D)) for w in wis]
            out += [(p + ".DenseReluDense.wo.weight", (D, F)), (p + ".layer_norm.weight", (D,))]
        out.append((f"{stack}.final_layer_norm.weight", (D,)))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, D)))
    return out


def init_params(c, gen):
    D, F, H, K = c["d_model"], c["d_ff"], c["num_heads"], c["d_kv"]
    ps = {}
    for name, shape in param_shapes(c):
        if "layer_norm" in name:
            t = 1.0 + 0.3 * (torch.rand(shape, generator=gen) * 2 - 1)  # not all ones: test their grads
        else:
            std = 1.0
            if name.endswith(".q.weight"): std = (D * K) ** -0.5
            elif name.endswith((".k.weight", ".v.weight")): std = D ** -0.5
            elif name.endswith(".o.weight"): std = (H * K) ** -0.5
            elif "relative_attention_bias" in name: std = D ** -0.5
            elif ".wi" in name: std = D ** -0.5
            elif name.endswith(".wo.weight"): std = F ** -0.5
            t = torch.randn(shape, generator=gen) * std
        ps[name] = t.float()
    return ps


# ---- the model: HF T5ForConditionalGeneration, eval mode ----------------------------

def rel_bucket(rel, bidirectional, num_buckets, max_distance):
    # HF T5Attention._relative_position_bucket, verbatim semantics
    buckets = 0
    if bidirectional:
        num_buckets //= 2
        buckets += (rel > 0).to(torch.long) * num_buckets
        rel = torch.abs(rel)
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    is_small = rel < max_exact
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, rel, large)


def position_bias(c, emb, qlen, klen, bidirectional):
    ctx = torch.arange(qlen)[:, None]
    mem = torch.arange(klen)[None, :]
    b = rel_bucket(mem - ctx, bidirectional, c["relative_attention_num_buckets"],
                   c["relative_attention_max_distance"])
    return emb[b].permute(2, 0, 1).unsqueeze(0)  # (1, H, q, k)


def rmsnorm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def attention(c, P, pfx, x, kv, bias):
    B, Tq, _ = x.shape
    H, K = c["num_heads"], c["d_kv"]
    q = (x @ P[pfx + ".q.weight"].T).view(B, Tq, H, K).transpose(1, 2)
    k = (kv @ P[pfx + ".k.weight"].T).view(B, -1, H, K).transpose(1, 2)
    v = (kv @ P[pfx + ".v.weight"].T).view(B, -1, H, K).transpose(1, 2)
    scores = q @ k.transpose(-1, -2) + bias  # no 1/sqrt(d_kv)
    w = torch.softmax(scores, dim=-1)
    ctx = (w @ v).transpose(1, 2).reshape(B, Tq, H * K)
    return ctx @ P[pfx + ".o.weight"].T


def ff(c, P, pfx, x):
    d = pfx + ".DenseReluDense."
    if c["feed_forward_proj"] == "relu":
        h = torch.relu(x @ P[d + "wi.weight"].T)
    else:  # gated-gelu: gelu_new (tanh) on wi_0, times wi_1
        h = torch.nn.functional.gelu(x @ P[d + "wi_0.weight"].T, approximate="tanh") * (x @ P[d + "wi_1.weight"].T)
    return h @ P[d + "wo.weight"].T


def mask_bias(mask, dtype):
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def forward(c, P, src, labels):
    eps = c["layer_norm_epsilon"]
    dt = P["shared.weight"].dtype
    B, Ts = src.shape
    Tt = labels.shape[1]
    src_mask = (src != 0)
    dec_in = torch.zeros_like(labels)
    dec_in[:, 1:] = labels[:, :-1]
    dec_in = dec_in.masked_fill(dec_in == -100, 0)
    # encoder
    x = P["shared.weight"][src]
    bias = position_bias(c, P["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"],
                         Ts, Ts, True) + mask_bias(src_mask, dt)
    for l in range(c["num_layers"]):
        p = f"encoder.block.{l}.layer."
        h = rmsnorm(x, P[p + "0.layer_norm.weight"], eps)
        x = x + attention(c, P, p + "0.SelfAttention", h, h, bias)
        x = x + ff(c, P, p + "1", rmsnorm(x, P[p + "1.layer_norm.weight"], eps))
    enc = rmsnorm(x, P["encoder.final_layer_norm.weight"], eps)
    # decoder
    y = P["shared.weight"][dec_in]
    causal = torch.tril(torch.ones(Tt, Tt, dtype=dt))
    sbias = position_bias(c, P["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"],
                          Tt, Tt, False) + (1.0 - causal)[None, None] * torch.finfo(dt).min
    cbias = mask_bias(src_mask, dt)
    for l in range(c["num_decoder_layers"]):
        p = f"decoder.block.{l}.layer."
        h = rmsnorm(y, P[p + "0.layer_norm.weight"], eps)
        y = y + attention(c, P, p + "0.SelfAttention", h, h, sbias)
        h = rmsnorm(y, P[p + "1.layer_norm.weight"], eps)
        y = y + attention(c, P, p + "1.EncDecAttention", h, enc, cbias)
        y = y + ff(c, P, p + "2", rmsnorm(y, P[p + "2.layer_norm.weight"], eps))
    out = rmsnorm(y, P["decoder.final_layer_norm.weight"], eps)
    if c["tie_word_embeddings"]:
        out = out * c["d_model"] ** -0.5
        head = P["shared.weight"]
    else:
        head = P["lm_head.weight"]
    logits = out @ head.T
    loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
    return logits, loss


# ---- safetensors, by hand ------------------------------------------------------------

def to_bytes(t, dtype):
    t = t.detach().contiguous()
    if dtype == "F32":
        return t.float().numpy().tobytes()
    if dtype == "F16":
        return t.half().numpy().tobytes()
    if dtype == "BF16":  # numpy has no bf16: take the int16 view
        return t.bfloat16().view(torch.int16).numpy().tobytes()
    raise ValueError(dtype)


def write_safetensors(path, tensors, dtype="F32", meta=None):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        b = to_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # align data to 8 bytes, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(0)
    src = torch.tensor(SRC)
    labels = torch.tensor(LABELS)
    for vi, (name, c) in enumerate(VARIANTS.items()):
        gen = torch.Generator().manual_seed(1234 + vi)
        P32 = init_params(c, gen)
        # HF layout: tied tensors written out too (the loader must also cope without them)
        full = dict(P32)
        full["encoder.embed_tokens.weight"] = P32["shared.weight"]
        full["decoder.embed_tokens.weight"] = P32["shared.weight"]
        if c["tie_word_embeddings"]:
            full["lm_head.weight"] = P32["shared.weight"]
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(dict(c, architectures=["T5ForConditionalGeneration"]), f, indent=2)
        write_safetensors(os.path.join(d, "model.safetensors"), full, meta={"format": "pt"})

        # expected values in float64 from the float32 weights
        P = {k: v.double().requires_grad_(True) for k, v in P32.items()}
        logits, loss = forward(c, P, src, labels)
        loss.backward()
        exp = {"src": src.double(), "labels": labels.double(), "logits": logits,
               "loss": loss.reshape(1)}
        for k, v in P.items():
            exp["grad." + k] = v.grad

        # 10 AdamW steps in float32, eval mode (no dropout), same batch
        Q = {k: v.clone().requires_grad_(True) for k, v in P32.items()}
        opt = torch.optim.AdamW(list(Q.values()), lr=ADAM["lr"], betas=ADAM["betas"], eps=ADAM["eps"],
                                weight_decay=ADAM["weight_decay"])
        losses = []
        for _ in range(ADAM["steps"]):
            opt.zero_grad()
            _, l = forward(c, Q, src, labels)
            l.backward()
            opt.step()
            losses.append(l.item())
        exp["adamw_losses"] = torch.tensor(losses, dtype=torch.float64)
        meta = {"adamw": json.dumps(ADAM), "variant": name}
        write_safetensors(os.path.join(OUT, name + "-expected.safetensors"), exp, meta=meta)
        print(f"{name}: loss {loss.item():.9f}, adamw {losses[0]:.6f} -> {losses[-1]:.6f}")

    # loader fixtures: F16 / BF16 single files with the config in __metadata__,
    # and v1.0 without its tied tensors (shared.weight only)
    for name, c in VARIANTS.items():
        P32 = init_params(c, torch.Generator().manual_seed(1234 + list(VARIANTS).index(name)))
        cfg = json.dumps(c)
        if name == "t5-v11":
            write_safetensors(os.path.join(OUT, name + "-f16.safetensors"), P32, "F16", {"config": cfg})
            write_safetensors(os.path.join(OUT, name + "-bf16.safetensors"), P32, "BF16", {"config": cfg})
        else:
            write_safetensors(os.path.join(OUT, name + "-notied.safetensors"), P32, "F32", {"config": cfg})


if __name__ == "__main__":
    main()
