"""PyTorch reference for `pinsage bench train-step`: the same PinSage step on the same batch.

Usage: python3 bench/pytorch_step.py DUMP_DIR [--steps N]
DUMP_DIR is written by `pinsage bench train-step --dump DUMP_DIR`. Prints JSON like the Rust bench.
Only numpy and torch are needed. The model mirrors src/model/pinsage.rs: id embedding, two convolve layers
(Q, W with biases; importance pooling; L2 norm), a two-layer dense head, max-margin loss with shared
random negatives plus hard negatives, Adam.
"""
import argparse, json, os, time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--loss", choices=["max-margin", "softmax"], help="overrides the dump's meta.json")
    ap.add_argument("--temperature", type=float, help="overrides the dump's meta.json")
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's kernel table to stderr")
    args = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    meta = json.load(open(os.path.join(args.dump, "meta.json")))
    load = lambda n, dt=torch.long: torch.from_numpy(np.load(os.path.join(args.dump, n + ".npy"))).to(dev, dt)
    inp = load("input_nodes")
    layers = [(load(f"l{i}_self"), load(f"l{i}_nbr"), load(f"l{i}_w", torch.float32)) for i in range(2)]
    q_rows, p_rows, n_rows, h_rows = (load(n) for n in ["query_rows", "positive_rows", "negative_rows", "hard_rows"])
    k, d_in, d = meta["k"], meta["input_dim"], meta["hidden_dim"]
    h, margin = meta["hard_per_query"], meta["margin"]
    loss_kind = {"maxmargin": "max-margin"}.get(meta.get("loss"), meta.get("loss", "max-margin"))
    loss_kind = args.loss or loss_kind
    tau = args.temperature or meta.get("temperature", 0.1)

    torch.manual_seed(1)
    emb = torch.nn.Embedding(meta["n_nodes"], d_in).to(dev)
    torch.nn.init.normal_(emb.weight, 0.0, 0.1)
    Q = torch.nn.ModuleList([torch.nn.Linear(d_in, d), torch.nn.Linear(d, d)]).to(dev)
    W = torch.nn.ModuleList([torch.nn.Linear(d_in + d, d), torch.nn.Linear(2 * d, d)]).to(dev)
    G1, G2 = torch.nn.Linear(d, d).to(dev), torch.nn.Linear(d, d).to(dev)
    params = list(emb.parameters()) + list(Q.parameters()) + list(W.parameters()) + list(G1.parameters()) + list(G2.parameters())
    opt = torch.optim.Adam(params, lr=meta["learning_rate"])

    skip = meta.get("skip", False)
    if skip and d_in != d:
        raise SystemExit("skip with input_dim != hidden_dim is not mirrored here")

    def step():
        x = h0 = emb(inp)
        for i, (self_idx, nbr, w) in enumerate(layers):
            t = self_idx.shape[0]
            m = F.relu(Q[i](x))
            pooled = (m.index_select(0, nbr).view(t, k, -1) * w.view(t, k, 1)).sum(1)
            own = x.index_select(0, self_idx)
            x = F.normalize(F.relu(W[i](torch.cat([own, pooled], 1))), dim=1, eps=1e-12)
        e = G2(F.relu(G1(x)))
        if skip:  # the targets' own h0 (rows of layer 1's self rows), as PinSage::head does
            e = e + h0[layers[0][0][layers[1][0]]]
        z = F.normalize(e, dim=1, eps=1e-12)
        q, p, n = z[q_rows], z[p_rows], z[n_rows]
        pos = (q * p).sum(1, keepdim=True)
        s_hard = (q.unsqueeze(1) * z[h_rows].view(q.shape[0], h, -1)).sum(2) if h > 0 else None
        if loss_kind == "softmax":
            logits = torch.cat([pos, q @ n.t()] + ([s_hard] if h > 0 else []), 1) / tau
            loss = -F.log_softmax(logits, 1)[:, 0].mean()
        else:
            loss = F.relu(q @ n.t() - pos + margin).mean()
            if h > 0:
                loss = loss + F.relu(s_hard - pos + margin).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    if args.profile:
        import sys
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
        with profile(activities=acts) as prof:
            for _ in range(20):
                step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
        key = "cuda_time_total" if dev.type == "cuda" else "cpu_time_total"
        print(prof.key_averages().table(sort_by=key, row_limit=30), file=sys.stderr)
    print(json.dumps({
        "device": f"torch {torch.__version__} {torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'}",
        "steps": args.steps,
        "ms_per_step": 1e3 * secs / args.steps,
        "triplets_per_sec": q_rows.shape[0] * args.steps / secs,
        "queries": int(q_rows.shape[0]),
        "input_nodes": int(inp.shape[0]),
        "loss": loss_kind,
    }, indent=2))


if __name__ == "__main__":
    main()
