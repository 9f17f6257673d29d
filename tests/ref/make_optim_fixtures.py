#!/usr/bin/python3
"""Write tests/ref/optim_fixtures.txt: reference optimizer trajectories for tests/test_optim.c.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 tests/ref/make_optim_fixtures.py
AdamW is torch.optim.AdamW itself. Adafactor is Hugging Face transformers'
`Adafactor.step` (src/transformers/optimization.py) written out below step by
step, because transformers is not installed here. Each case: a 3x4 matrix and a
5-vector, 10 steps with fixed per-step gradients of varying size (so update
clipping and gradient clipping both trigger), the parameters after every step.

Format: whitespace-separated tokens, '#' lines are comments.
  case NAME
  config KEY VALUE ... end          (mto_optim_config fields; beta1_af 0 = None)
  param NAME ROWS COLS v...         (initial values)
  step K lr LR                      (lr passed to mto_optim_step)
  grad NAME v...  /  after NAME v...
  endcase
  clip MAXNORM NORM  grad NAME v... clipped NAME v... endclip   (clip_grad_norm_)
  schedule KIND BASE WARMUP TOTAL N v0..v(N-1)                    (LambdaLR lrs)
"""
import math
import os
import sys

import torch

torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_fixtures.txt")
STEPS = 10
GRAD_SCALE = [1.0, 0.1, 3.0, 0.01, 1.0, 10.0, 0.5, 1.0, 2.0, 0.05]


class HFAdafactor(torch.optim.Optimizer):
    """transformers.optimization.Adafactor, following its source line by line."""

    def __init__(self, params, lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8,
                 beta1=None, weight_decay=0.0, scale_parameter=True, relative_step=True,
                 warmup_init=False):
        if lr is not None and relative_step:
            raise ValueError("Cannot combine manual `lr` and `relative_step=True` options")
        if warmup_init and not relative_step:
            raise ValueError("`warmup_init=True` requires `relative_step=True`")
        defaults = dict(lr=lr, eps=eps, clip_threshold=clip_threshold, decay_rate=decay_rate,
                        beta1=beta1, weight_decay=weight_decay, scale_parameter=scale_parameter,
                        relative_step=relative_step, warmup_init=warmup_init)
        super().__init__(params, defaults)

    @staticmethod
    def _get_lr(param_group, param_state):
        rel_step_sz = param_group["lr"]
        if param_group["relative_step"]:
            min_step = 1e-6 * param_state["step"] if param_group["warmup_init"] else 1e-2
            rel_step_sz = min(min_step, 1.0 / math.sqrt(param_state["step"]))
        param_scale = 1.0
        if param_group["scale_parameter"]:
            param_scale = max(param_group["eps"][1], param_state["RMS"])
        return param_scale * rel_step_sz

    @staticmethod
    def _rms(tensor):
        return tensor.norm(2) / (tensor.numel() ** 0.5)

    @staticmethod
    def _approx_sq_grad(exp_avg_sq_row, exp_avg_sq_col):
        r_factor = (exp_avg_sq_row / exp_avg_sq_row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
        c_factor = exp_avg_sq_col.unsqueeze(-2).rsqrt()
        return torch.mul(r_factor, c_factor)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                state = self.state[p]
                grad_shape = grad.shape
                factored = len(grad_shape) >= 2
                use_first_moment = group["beta1"] is not None
                if len(state) == 0:
                    state["step"] = 0
                    if use_first_moment:
                        state["exp_avg"] = torch.zeros_like(grad)
                    if factored:
                        state["exp_avg_sq_row"] = torch.zeros(grad_shape[:-1]).to(grad)
                        state["exp_avg_sq_col"] = torch.zeros(grad_shape[:-2] + grad_shape[-1:]).to(grad)
                    else:
                        state["exp_avg_sq"] = torch.zeros_like(grad)
                    state["RMS"] = 0
                p_data_fp32 = p
                state["step"] += 1
                state["RMS"] = self._rms(p_data_fp32)
                lr = self._get_lr(group, state)
                beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
                update = (grad ** 2) + group["eps"][0]
                if factored:
                    exp_avg_sq_row = state["exp_avg_sq_row"]
                    exp_avg_sq_col = state["exp_avg_sq_col"]
                    exp_avg_sq_row.mul_(beta2t).add_(update.mean(dim=-1), alpha=(1.0 - beta2t))
                    exp_avg_sq_col.mul_(beta2t).add_(update.mean(dim=-2), alpha=(1.0 - beta2t))
                    update = self._approx_sq_grad(exp_avg_sq_row, exp_avg_sq_col)
                    update.mul_(grad)
                else:
                    exp_avg_sq = state["exp_avg_sq"]
                    exp_avg_sq.mul_(beta2t).add_(update, alpha=(1.0 - beta2t))
                    update = exp_avg_sq.rsqrt().mul_(grad)
                update.div_((self._rms(update) / group["clip_threshold"]).clamp_(min=1.0))
                update.mul_(lr)
                if use_first_moment:
                    exp_avg = state["exp_avg"]
                    exp_avg.mul_(group["beta1"]).add_(update, alpha=(1 - group["beta1"]))
                    update = exp_avg
                if group["weight_decay"] != 0:
                    p_data_fp32.add_(p_data_fp32, alpha=(-group["weight_decay"] * lr))
                p_data_fp32.add_(-update)


def f32(x):
    """x rounded to float32, as the C side holds it."""
    return float(torch.tensor(x, dtype=torch.float32))


def fmt(t):
    return " ".join(repr(float(v)) for v in t.reshape(-1).tolist())


def make_params(gen, shapes=((3, 4), (5,))):
    return [(n, torch.randn(*s, generator=gen)) for n, s in zip(("w", "b"), shapes)]


def make_grads(gen, shapes):
    out = []
    for k in range(STEPS):
        out.append([torch.randn(*s, generator=gen) * GRAD_SCALE[k] for s in shapes])
    return out


def shape2(t):
    return (t.shape[0], t.shape[1]) if t.dim() == 2 else (1, t.shape[0])


def linear_lambda(warmup, total):
    # HF get_linear_schedule_with_warmup
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def constant_lambda(warmup):
    # HF get_constant_schedule_with_warmup
    def f(step):
        if step < warmup:
            return float(step) / float(max(1.0, warmup))
        return 1.0
    return f


def run_case(out, name, kind, cfg, make_opt, lrs, seed, shapes=((3, 4), (5,))):
    gen = torch.Generator().manual_seed(seed)
    named = make_params(gen, shapes)
    grads = make_grads(gen, [t.shape for _, t in named])
    params = [torch.nn.Parameter(t.clone()) for _, t in named]
    opt = make_opt(params)
    out.append(f"case {name}")
    out.append("config kind %d %s end" % (kind, " ".join(f"{k} {v!r}" for k, v in cfg.items())))
    for (n, t) in named:
        r, c = shape2(t)
        out.append(f"param {n} {r} {c} {fmt(t)}")
    for k in range(STEPS):
        lr = lrs[k]
        for g in opt.param_groups:
            if g["lr"] is not None:
                g["lr"] = lr
        for p, gk in zip(params, grads[k]):
            p.grad = gk.clone()
        opt.step()
        out.append(f"step {k + 1} lr {lr!r}")
        for (n, _), gk in zip(named, grads[k]):
            out.append(f"grad {n} {fmt(gk)}")
        for (n, _), p in zip(named, params):
            out.append(f"after {n} {fmt(p.detach())}")
    out.append("endcase")


def main():
    out = ["# generated by tests/ref/make_optim_fixtures.py (torch %s); do not edit" % torch.__version__]
    const = [f32(1e-3)] * STEPS
    sched = [f32(1e-2 * linear_lambda(3, STEPS)(k)) for k in range(STEPS)]
    sched[0] = f32(2e-3)  # HF's first warmup lr is 0; use a non-zero one so step 1 moves

    def adam_cfg(b1, b2, eps, wd):
        return dict(beta1=b1, beta2=b2, eps=eps, weight_decay=wd)

    run_case(out, "adamw_default", 1, adam_cfg(0.9, 0.999, 1e-8, 0.01),
             lambda ps: torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
             const, 1)
    run_case(out, "adamw_schedule", 1, adam_cfg(0.8, 0.99, 1e-6, 0.1),
             lambda ps: torch.optim.AdamW(ps, lr=1e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
             sched, 2)

    def af_cfg(beta1=0.0, wd=0.0, clip=1.0, scale=0, rel=0, warm=0):
        return dict(eps1=1e-30, eps2=1e-3, clip_threshold=clip, decay_rate=-0.8, beta1_af=beta1,
                    weight_decay=wd, scale_parameter=scale, relative_step=rel, warmup_init=warm)

    run_case(out, "adafactor_t5", 2, af_cfg(),
             lambda ps: HFAdafactor(ps, lr=1e-3, scale_parameter=False, relative_step=False,
                                    warmup_init=False), const, 3)
    run_case(out, "adafactor_beta1_wd_clip", 2, af_cfg(beta1=0.9, wd=0.01, clip=0.5),
             lambda ps: HFAdafactor(ps, lr=1e-2, beta1=0.9, weight_decay=0.01, clip_threshold=0.5,
                                    scale_parameter=False, relative_step=False), sched, 4)
    run_case(out, "adafactor_relative_scale", 2, af_cfg(scale=1, rel=1),
             lambda ps: HFAdafactor(ps, lr=None, scale_parameter=True, relative_step=True),
             [0.0] * STEPS, 5)
    run_case(out, "adafactor_warmup_init", 2, af_cfg(scale=1, rel=1, warm=1),
             lambda ps: HFAdafactor(ps, lr=None, scale_parameter=True, relative_step=True,
                                    warmup_init=True), [0.0] * STEPS, 6)
    run_case(out, "adafactor_scale_fixed_lr", 2, af_cfg(scale=1),
             lambda ps: HFAdafactor(ps, lr=1e-2, scale_parameter=True, relative_step=False),
             [f32(1e-2)] * STEPS, 7)
    # HF factors any 2-D tensor: a [1,6] matrix (mto treats 1 x n as a vector: same numbers)
    # and a [4,1] column
    run_case(out, "adafactor_thin_matrices", 2, af_cfg(beta1=0.5),
             lambda ps: HFAdafactor(ps, lr=1e-2, beta1=0.5, scale_parameter=False, relative_step=False),
             [f32(1e-2)] * STEPS, 10, shapes=((1, 6), (4, 1)))

    # clip_grad_norm_: one case that clips, one that does not
    for seed, max_norm in ((8, 1.0), (9, 100.0)):
        gen = torch.Generator().manual_seed(seed)
        named = make_params(gen)
        params = [torch.nn.Parameter(t.clone()) for _, t in named]
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen) * 2.0
        before = [p.grad.clone() for p in params]
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        out.append(f"clip {max_norm!r} {float(norm)!r}")
        for (n, _), g in zip(named, before):
            out.append(f"grad {n} {fmt(g)}")
        for (n, _), p in zip(named, params):
            out.append(f"clipped {n} {fmt(p.grad)}")
        out.append("endclip")

    # schedules through torch's LambdaLR, as HF builds them
    for kind, base, warm, total in ((0, 1e-3, 0, 10), (0, 1e-3, 4, 10), (1, 5e-4, 3, 12), (1, 1e-2, 0, 5)):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=base)
        lam = constant_lambda(warm) if kind == 0 else linear_lambda(warm, total)
        sch = torch.optim.lr_scheduler.LambdaLR(opt, lam)
        vals = []
        for _ in range(total + 2):
            vals.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        out.append(f"schedule {kind} {f32(base)!r} {warm} {total} {len(vals)} " +
                   " ".join(repr(v) for v in vals))

    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
