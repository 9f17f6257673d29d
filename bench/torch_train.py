"""torch_train.py — the PyTorch peer for bench/bench_train: same model shape,
batch, thread count and optimizer (AdamW), dropout off in both. --bf16 runs
the forward under torch.autocast("cpu", dtype=torch.bfloat16) (bf16 matrix
products, fp32 master weights and optimizer): PyTorch's best on a CPU with
native bf16. Prints one line:
`torch <shape> precision=fp32|bf16 tokens_per_s=... step_ms=... peak_rss_mb=...`."""
import contextlib
import argparse
import resource
import time

import torch

from t5_torch import T5, Config

SHAPES = {
    "t5-small": dict(d_model=512, d_ff=2048, d_kv=64, num_heads=8, num_layers=6, vocab_size=32128,
                     batch=8, src=64, tgt=16),
    "tiny": dict(d_model=128, d_ff=512, d_kv=32, num_heads=4, num_layers=2, vocab_size=8000,
                 batch=16, src=64, tgt=16),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shape", choices=SHAPES)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--bf16", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = dict(SHAPES[a.shape])
    B, Ts, Tt = s.pop("batch"), s.pop("src"), s.pop("tgt")
    model = T5(Config(dropout_rate=0.0, **s))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(1)
    src = torch.randint(2, s["vocab_size"], (B, Ts), generator=g)
    labels = torch.randint(2, s["vocab_size"], (B, Tt), generator=g)

    def ctx():
        return torch.autocast("cpu", dtype=torch.bfloat16) if a.bf16 else contextlib.nullcontext()

    def step():
        opt.zero_grad(set_to_none=True)
        with ctx():
            _, loss = model(src, labels)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t0) / a.steps
    cdt = (time.process_time() - c0) / a.steps
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    # process CPU time per step: at 1 thread, a figure less moved by other load on the machine
    print(f"# torch {a.shape} cpu_ms_per_step={cdt * 1e3:.1f} cpu_tokens_per_s={B * (Ts + Tt) / cdt:.1f}")
    print(f"torch {a.shape} precision={'bf16' if a.bf16 else 'fp32'} tokens_per_s={B * (Ts + Tt) / dt:.1f} step_ms={dt * 1e3:.2f} peak_rss_mb={rss:.1f}")


if __name__ == "__main__":
    main()
