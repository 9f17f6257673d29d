"""t5_torch.py — T5 written out in plain PyTorch, with Hugging Face's semantics
(modeling_t5.py): the peer the C engine is measured against in bench/ (and a
readable statement of the model). Not a runtime dependency of mto.

Pre-norm blocks with RMSNorm (no mean, no bias, eps 1e-6), no biases, no
1/sqrt(d_kv) score scaling, relative position bias in block 0 of each stack,
ReLU (v1.0) or gated tanh-GELU (v1.1) feed-forward, tied LM head scaled by
d_model**-0.5 in v1.0.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, **kw):
        self.vocab_size = 32128
        self.d_model = 512
        self.d_kv = 64
        self.d_ff = 2048
        self.num_layers = 6
        self.num_decoder_layers = None
        self.num_heads = 8
        self.relative_attention_num_buckets = 32
        self.relative_attention_max_distance = 128
        self.dropout_rate = 0.1
        self.layer_norm_epsilon = 1e-6
        self.feed_forward_proj = "relu"
        self.tie_word_embeddings = True
        for k, v in kw.items():
            setattr(self, k, v)
        if self.num_decoder_layers is None:
            self.num_decoder_layers = self.num_layers


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def relative_position_bucket(rel, bidirectional, num_buckets, max_distance):
    """Key position minus query position -> bucket (HF's rule)."""
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


class Attention(nn.Module):
    def __init__(self, c, has_bias, bidirectional):
        super().__init__()
        inner = c.num_heads * c.d_kv
        self.c, self.bidirectional = c, bidirectional
        self.q = nn.Linear(c.d_model, inner, bias=False)
        self.k = nn.Linear(c.d_model, inner, bias=False)
        self.v = nn.Linear(c.d_model, inner, bias=False)
        self.o = nn.Linear(inner, c.d_model, bias=False)
        if has_bias:
            self.relative_attention_bias = nn.Embedding(c.relative_attention_num_buckets, c.num_heads)

    def compute_bias(self, tq, tk):
        ctx = torch.arange(tq)[:, None]
        mem = torch.arange(tk)[None, :]
        b = relative_position_bucket(mem - ctx, self.bidirectional, self.c.relative_attention_num_buckets,
                                     self.c.relative_attention_max_distance)
        return self.relative_attention_bias(b).permute(2, 0, 1).unsqueeze(0)  # (1, H, tq, tk)

    def forward(self, x, kv, bias, mask):
        B, tq, _ = x.shape
        tk = kv.shape[1]
        H, D = self.c.num_heads, self.c.d_kv
        q = self.q(x).view(B, tq, H, D).transpose(1, 2)
        k = self.k(kv).view(B, tk, H, D).transpose(1, 2)
        v = self.v(kv).view(B, tk, H, D).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)  # no 1/sqrt(d) in T5
        if bias is not None:
            scores = scores + bias
        if mask is not None:
            scores = scores + mask
        w = F.dropout(F.softmax(scores.float(), dim=-1).type_as(scores), self.c.dropout_rate, self.training)
        out = (w @ v).transpose(1, 2).reshape(B, tq, H * D)
        return self.o(out)


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gated = c.feed_forward_proj.startswith("gated")
        if self.gated:
            self.wi_0 = nn.Linear(c.d_model, c.d_ff, bias=False)
            self.wi_1 = nn.Linear(c.d_model, c.d_ff, bias=False)
        else:
            self.wi = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.wo = nn.Linear(c.d_ff, c.d_model, bias=False)
        self.p = c.dropout_rate

    def forward(self, x):
        if self.gated:
            h = F.gelu(self.wi_0(x), approximate="tanh") * self.wi_1(x)
        else:
            h = F.relu(self.wi(x))
        return self.wo(F.dropout(h, self.p, self.training))


class Block(nn.Module):
    def __init__(self, c, decoder, first):
        super().__init__()
        self.decoder, self.p = decoder, c.dropout_rate
        self.ln_self = RMSNorm(c.d_model, c.layer_norm_epsilon)
        self.self_attn = Attention(c, first, bidirectional=not decoder)
        if decoder:
            self.ln_cross = RMSNorm(c.d_model, c.layer_norm_epsilon)
            self.cross_attn = Attention(c, False, bidirectional=True)
        self.ln_ff = RMSNorm(c.d_model, c.layer_norm_epsilon)
        self.ff = FeedForward(c)

    def forward(self, x, bias, mask, enc=None, enc_mask=None):
        h = self.ln_self(x)
        x = x + F.dropout(self.self_attn(h, h, bias, mask), self.p, self.training)
        if self.decoder:
            x = x + F.dropout(self.cross_attn(self.ln_cross(x), enc, None, enc_mask), self.p, self.training)
        return x + F.dropout(self.ff(self.ln_ff(x)), self.p, self.training)


class Stack(nn.Module):
    def __init__(self, c, decoder, shared):
        super().__init__()
        n = c.num_decoder_layers if decoder else c.num_layers
        self.decoder, self.shared, self.p = decoder, shared, c.dropout_rate
        self.block = nn.ModuleList([Block(c, decoder, i == 0) for i in range(n)])
        self.final_layer_norm = RMSNorm(c.d_model, c.layer_norm_epsilon)

    def forward(self, ids, attn_mask, enc=None, enc_mask=None):
        B, T = ids.shape
        x = F.dropout(self.shared(ids), self.p, self.training)
        neg = torch.finfo(x.dtype).min
        m = (1.0 - attn_mask[:, None, None, :].to(x.dtype)) * neg
        if self.decoder:
            causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
            m = m + (~causal).to(x.dtype)[None, None] * neg
            m = m.clamp(min=neg)
        bias = self.block[0].self_attn.compute_bias(T, T)
        em = None if enc_mask is None else (1.0 - enc_mask[:, None, None, :].to(x.dtype)) * neg
        for blk in self.block:
            x = blk(x, bias, m, enc, em)
        return F.dropout(self.final_layer_norm(x), self.p, self.training)


class T5(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.shared = nn.Embedding(c.vocab_size, c.d_model)
        self.encoder = Stack(c, False, self.shared)
        self.decoder = Stack(c, True, self.shared)
        if not c.tie_word_embeddings:
            self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)

    def forward(self, src, labels):
        src_mask = (src != 0).long()
        dec_in = torch.cat([torch.zeros_like(labels[:, :1]), labels[:, :-1]], dim=1)
        dec_in = dec_in.masked_fill(dec_in == -100, 0)
        enc = self.encoder(src, src_mask)
        out = self.decoder(dec_in, torch.ones_like(dec_in), enc, src_mask)
        if self.c.tie_word_embeddings:
            logits = (out * self.c.d_model ** -0.5) @ self.shared.weight.t()
        else:
            logits = self.lm_head(out)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=-100)
        return logits, loss
