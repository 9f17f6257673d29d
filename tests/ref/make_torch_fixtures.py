#!/usr/bin/python3
"""make_torch_fixtures.py — pytorch_model.bin fixtures for mto's torch reader.

Reads the tiny T5 weights of make_t5_fixtures.py (tests/ref/t5-v10, t5-v11,
t5-v11-bf16.safetensors) and writes them as Hugging Face does with
torch.save(model.state_dict()) (the zip format, pickle protocol 2):

  torch/t5-v10/       F32, tied tensors (shared, encoder/decoder.embed_tokens,
                      lm_head) all one storage, as in an HF state dict
  torch/t5-v10-sharded/  the same in two shards + pytorch_model.bin.index.json
  torch/t5-v11/       F32; block 0's q/k/v of both stacks are views at offsets
                      into one fused storage each (shared storage with offsets)
  torch/t5-v11-bf16/  BF16 (the same values as t5-v11-bf16.safetensors)
  torch/misc.bin      small tensors for the unit test: F16, BF16, a scalar, an
                      empty tensor, a view at an offset
  torch/bad/*.bin     hostile or damaged files for tests/bad_input.sh and the
                      unit test: a pickle asking for os.system, a REDUCE of a
                      storage type, a truncated archive, a storage shorter than
                      its tensor, a damaged storage (CRC), a non-contiguous
                      (transposed) tensor, the legacy (pre-1.6) format, a nested dict
Each directory also gets the config.json of its model. Also a fuzz seed
corpus (pickles and a small archive) under tests/fuzz/corpus/torch/.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 make_torch_fixtures.py
"""
import collections
import io
import json
import os
import shutil
import struct
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "torch")
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus", "torch")

DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = collections.OrderedDict()
    meta = header.pop("__metadata__", {})
    for name, h in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = h["data_offsets"]
        raw = bytearray(body[b:e])
        if h["dtype"] == "BF16":
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=DT[h["dtype"]])
        out[name] = t.reshape(h["shape"]).clone()
    return out, meta


def state_dict(tensors):
    """An OrderedDict with _metadata, as nn.Module.state_dict() returns."""
    sd = collections.OrderedDict(tensors)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path)  # zip format, pickle protocol 2


def pickle_of(path):
    with zipfile.ZipFile(path) as z:
        name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        return z.read(name)


def rewrite_zip(src, dst, edit):
    """Copy a zip, passing each (name, data) through edit (which may drop it)."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
        for info in zi.infolist():
            r = edit(info.filename, zi.read(info.filename))
            if r is not None:
                zo.writestr(info.filename, r)


def zip_with_pickle(path, pkl):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "bad"))
    os.makedirs(CORPUS, exist_ok=True)

    # t5-v10: tied weights share one storage (HF state dicts keep all four names)
    P, _ = read_safetensors(os.path.join(HERE, "t5-v10", "model.safetensors"))
    sd = collections.OrderedDict()
    shared = P["shared.weight"]
    for k, v in P.items():
        sd[k] = shared if k in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                                "lm_head.weight") else v
    save(state_dict(sd), os.path.join(OUT, "t5-v10", "pytorch_model.bin"))
    shutil.copy(os.path.join(HERE, "t5-v10", "config.json"), os.path.join(OUT, "t5-v10"))

    # t5-v10-sharded: the same weights as two .bin shards + pytorch_model.bin.index.json
    d = os.path.join(OUT, "t5-v10-sharded")
    os.makedirs(d)
    names = list(P)
    half = len(names) // 2
    wm, total = {}, 0
    for k, part in enumerate((names[:half], names[half:])):
        fn = f"pytorch_model-{k + 1:05d}-of-00002.bin"
        save(state_dict((n, P[n]) for n in part), os.path.join(d, fn))
        for n in part:
            wm[n] = fn
            total += P[n].numel() * P[n].element_size()
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2, sort_keys=True)
    shutil.copy(os.path.join(HERE, "t5-v10", "config.json"), d)

    # t5-v11: q/k/v of block 0 are slices of one fused tensor (offsets into one storage)
    P, _ = read_safetensors(os.path.join(HERE, "t5-v11", "model.safetensors"))
    sd = collections.OrderedDict(P)
    for stack, att in (("encoder", "SelfAttention"), ("decoder", "SelfAttention")):
        names = [f"{stack}.block.0.layer.0.{att}.{x}.weight" for x in "qkv"]
        fused = torch.cat([P[n] for n in names])
        rows = P[names[0]].shape[0]
        for i, n in enumerate(names):
            sd[n] = fused[i * rows:(i + 1) * rows]
            assert sd[n].storage_offset() == i * P[names[0]].numel() and sd[n].is_contiguous()
    save(state_dict(sd), os.path.join(OUT, "t5-v11", "pytorch_model.bin"))
    shutil.copy(os.path.join(HERE, "t5-v11", "config.json"), os.path.join(OUT, "t5-v11"))

    # t5-v11 in BF16 (same values as t5-v11-bf16.safetensors)
    P, meta = read_safetensors(os.path.join(HERE, "t5-v11-bf16.safetensors"))
    save(state_dict(P), os.path.join(OUT, "t5-v11-bf16", "pytorch_model.bin"))
    with open(os.path.join(OUT, "t5-v11-bf16", "config.json"), "w") as f:
        f.write(meta["config"])

    # misc.bin: dtypes and shapes for the unit test (values are small integers / 8)
    base = torch.arange(24, dtype=torch.float32) / 8
    misc = collections.OrderedDict()
    misc["f32"] = base.reshape(2, 3, 4)
    misc["f16"] = (torch.arange(6, dtype=torch.float32) / 4).half().reshape(3, 2)
    misc["bf16"] = (torch.arange(5, dtype=torch.float32) - 2).bfloat16()
    misc["scalar"] = torch.tensor(2.5)
    misc["empty"] = torch.zeros(0, 4)
    misc["view"] = base[10:16].reshape(2, 3)  # storage offset 10 into f32's storage
    misc["row"] = base.reshape(6, 4)[1:2]  # one row: stride of a size-1 dim ignored
    save(state_dict(misc), os.path.join(OUT, "misc.bin"))

    bad = os.path.join(OUT, "bad")
    # a pickle asking for os.system (never executed: refused at the GLOBAL)
    zip_with_pickle(os.path.join(bad, "os_system.bin"),
                    b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02R.")
    # REDUCE of an allowed global that is not callable (a storage type)
    zip_with_pickle(os.path.join(bad, "reduce_storage.bin"), b"\x80\x02ctorch\nFloatStorage\n)R.")
    # a nested dict ({'model': state_dict}): not a state dict of tensors
    save({"model": state_dict({"w": torch.ones(2)})}, os.path.join(bad, "nested.bin"))
    # truncated download: the first 60% of a valid archive (no central directory)
    with open(os.path.join(OUT, "misc.bin"), "rb") as f:
        data = f.read()
    with open(os.path.join(bad, "truncated.bin"), "wb") as f:
        f.write(data[: len(data) * 6 // 10])
    # a storage entry shorter than the storage the pickle declares
    save(state_dict({"w": torch.ones(4, 8)}), os.path.join(bad, "tmp.bin"))
    rewrite_zip(os.path.join(bad, "tmp.bin"), os.path.join(bad, "short_storage.bin"),
                lambda n, d: d[:40] if n.endswith("/data/0") else d)
    # a tensor reaching past the end of its storage (pickle edited: offset 30 of 32)
    pkl = pickle_of(os.path.join(bad, "tmp.bin"))
    i = pkl.index(b"Q")  # BINPERSID, then BININT1 offset 0
    assert pkl[i + 1:i + 3] == b"K\x00"
    rewrite_zip(os.path.join(bad, "tmp.bin"), os.path.join(bad, "past_storage.bin"),
                lambda n, d: d[:i + 1] + b"K\x1e" + d[i + 3:] if n.endswith("/data.pkl") else d)
    # a storage entry missing from the archive
    rewrite_zip(os.path.join(bad, "tmp.bin"), os.path.join(bad, "no_storage.bin"),
                lambda n, d: None if n.endswith("/data/0") else d)
    os.remove(os.path.join(bad, "tmp.bin"))
    # a damaged storage: one data byte flipped (the entry's CRC no longer matches)
    save(state_dict({"w": torch.ones(4, 8)}), os.path.join(bad, "tmp.bin"))
    with open(os.path.join(bad, "tmp.bin"), "rb") as f:
        data = bytearray(f.read())
    with zipfile.ZipFile(os.path.join(bad, "tmp.bin")) as z:
        info = [i for i in z.infolist() if i.filename.endswith("/data/0")][0]
    off = info.header_offset
    start = off + 30 + int.from_bytes(data[off + 26:off + 28], "little") + int.from_bytes(data[off + 28:off + 30], "little")
    data[start + 5] ^= 0x40
    with open(os.path.join(bad, "crc.bin"), "wb") as f:
        f.write(data)
    os.remove(os.path.join(bad, "tmp.bin"))
    # a transposed view saved as is (non-contiguous strides)
    save(state_dict({"w.t": torch.arange(6, dtype=torch.float32).reshape(2, 3).t()}),
         os.path.join(bad, "noncontig.bin"))
    # the legacy format (before PyTorch 1.6)
    torch.save(state_dict({"w": torch.ones(2)}), os.path.join(bad, "legacy.bin"),
               _use_new_zipfile_serialization=False)

    # fuzz seeds: bare pickles (the target parses them directly) and one small archive
    seeds = {
        "misc.pkl": pickle_of(os.path.join(OUT, "misc.bin")),
        "nested.pkl": pickle_of(os.path.join(bad, "nested.bin")),
        "noncontig.pkl": pickle_of(os.path.join(bad, "noncontig.bin")),
        "os_system.pkl": pickle_of(os.path.join(bad, "os_system.bin")),
    }
    buf = io.BytesIO()
    torch.save(state_dict({"a": torch.ones(2, 2), "b": torch.ones(3).half()}), buf)
    seeds["small.zip"] = buf.getvalue()
    for n, d in seeds.items():
        with open(os.path.join(CORPUS, n), "wb") as f:
            f.write(d)
    for root, _, files in os.walk(OUT):
        for n in sorted(files):
            p = os.path.join(root, n)
            print(f"{os.path.relpath(p, HERE)}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
