"""torch_decode.py — the PyTorch peer for bench/bench_decode: the same random
T5 shape, greedy decoding of a batch, EOS made unreachable (its tied embedding
row zeroed) so both decode exactly B x max_len tokens. --cache keeps per-layer
self-attention keys/values and the cross-attention keys/values (computed once);
without it, each step re-runs the decoder over the whole prefix (the encoder
always runs once). Prints `torch-decode <shape> cache=.. tokens_per_s=... cpu_tokens_per_s=...`
(best of the reps, wall clock and process CPU time)."""
import argparse
import resource
import time

import torch

from t5_torch import T5, Config
from torch_train import SHAPES


def heads(x, B, H, D):
    return x.view(B, -1, H, D).transpose(1, 2)


@torch.no_grad()
def greedy_cached(model, src, max_len):
    c = model.c
    B, H, D = src.shape[0], c.num_heads, c.d_kv
    src_mask = (src != 0).long()
    enc = model.encoder(src, src_mask)
    em = (1.0 - src_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    dec = model.decoder
    cross = [(heads(b.cross_attn.k(enc), B, H, D), heads(b.cross_attn.v(enc), B, H, D)) for b in dec.block]
    selfkv = [[None, None] for _ in dec.block]
    bias_full = dec.block[0].self_attn.compute_bias(max_len, max_len)  # (1, H, T, T)
    tok = torch.zeros(B, 1, dtype=torch.long)
    out = []
    for t in range(max_len):
        x = dec.shared(tok)
        bias = bias_full[:, :, t:t + 1, :t + 1]
        for i, blk in enumerate(dec.block):
            a = blk.self_attn
            h = blk.ln_self(x)
            q, k, v = heads(a.q(h), B, H, D), heads(a.k(h), B, H, D), heads(a.v(h), B, H, D)
            kv = selfkv[i]
            kv[0] = k if kv[0] is None else torch.cat([kv[0], k], 2)
            kv[1] = v if kv[1] is None else torch.cat([kv[1], v], 2)
            w = torch.softmax(q @ kv[0].transpose(-1, -2) + bias, -1)
            x = x + a.o((w @ kv[1]).transpose(1, 2).reshape(B, 1, H * D))
            a = blk.cross_attn
            q = heads(a.q(blk.ln_cross(x)), B, H, D)
            w = torch.softmax(q @ cross[i][0].transpose(-1, -2) + em, -1)
            x = x + a.o((w @ cross[i][1]).transpose(1, 2).reshape(B, 1, H * D))
            x = x + blk.ff(blk.ln_ff(x))
        x = dec.final_layer_norm(x)
        logits = (x * c.d_model ** -0.5) @ model.shared.weight.t()
        tok = logits[:, -1].argmax(-1, keepdim=True)
        out.append(tok)
    return torch.cat(out, 1)


@torch.no_grad()
def greedy_uncached(model, src, max_len):
    c = model.c
    src_mask = (src != 0).long()
    enc = model.encoder(src, src_mask)
    ids = torch.zeros(src.shape[0], 1, dtype=torch.long)
    for _ in range(max_len):
        x = model.decoder(ids, torch.ones_like(ids), enc, src_mask)
        logits = (x[:, -1] * c.d_model ** -0.5) @ model.shared.weight.t()
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], 1)
    return ids[:, 1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shape", choices=SHAPES)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-len", type=int, default=32)
    ap.add_argument("--cache", action="store_true")
    ap.add_argument("--batch", type=int, default=0, help="sources per batch (default: the shape's)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = dict(SHAPES[a.shape])
    B, Ts = s.pop("batch"), s.pop("src")
    s.pop("tgt")
    B = a.batch or B
    model = T5(Config(dropout_rate=0.0, **s)).eval()
    with torch.no_grad():
        model.shared.weight[1].zero_()  # EOS unreachable, as in bench_decode
    g = torch.Generator().manual_seed(7)
    src = torch.randint(2, s["vocab_size"], (B, Ts), generator=g)
    run = greedy_cached if a.cache else greedy_uncached
    best = cbest = float("inf")
    for r in range(a.reps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        out = run(model, src, a.max_len)
        dt, cdt = time.perf_counter() - t0, time.process_time() - c0
        if r:
            best, cbest = min(best, dt), min(cbest, cdt)
    toks = out.numel()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch-decode {a.shape} cache={int(a.cache)} batch={B} tokens_per_s={toks / best:.1f} "
          f"ms_per_batch={best * 1e3:.2f} tokens={toks} peak_rss_mb={rss:.1f} cpu_tokens_per_s={toks / cbest:.1f}")


if __name__ == "__main__":
    main()
