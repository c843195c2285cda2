"""Reverse-training throughput: repaired samples per second against the batch size, and its ratio to
(a) the reference way, one sample at a time in a Python loop over steps, and (b) the same math as a
batched PyTorch autograd loop (plain and ``torch.compile``d) when torch is installed.

The model is study 1's reference MLP at width 784 (input 2 x 784, hidden 2000, 500, 392, output 784);
each step is one forward pass and one input-gradient pass. On a GPU the script also reports achieved
FLOP/s against the device's measured float32 (TF32 where the backend uses it) matrix-multiply peak.
FLOPs per sample-step are counted as 2 x (multiply-adds of the forward) for the forward plus the same for
the input gradient (no weight gradients are formed).

    python benchmarks/speed.py --out benchmarks/results/speed_cpu.md
"""

from __future__ import annotations

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import invimpute as ii
from invimpute.runtime.files import publish


def matmul_flops_per_sample(model: ii.MLPAutoencoder) -> int:
    """Multiply-adds of one forward pass, times 2 (FLOPs), over every dense layer."""
    total = 0
    for layer in [*model.encoder_layers, *model.decoder_layers]:
        fan_in, fan_out = layer.kernel.shape
        total += 2 * fan_in * fan_out
    return total


def measured_peak(dtype=jnp.float32, n: int = 8192, repeats: int = 10) -> float:
    """Achieved FLOP/s of a large square matmul on the default device (the practical peak)."""
    a = jnp.ones((n, n), dtype)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    t = time.perf_counter()
    for _ in range(repeats):
        out = f(a)
    out.block_until_ready()
    return 2 * n**3 * repeats / (time.perf_counter() - t)


def time_engine(model, X, obs, layout, cfg, key) -> float:
    """Seconds for one inversion of the whole batch (after a compile run)."""
    r = ii.invert(model, X, obs, layout, cfg, key)
    t = time.perf_counter()
    r = ii.invert(model, X, obs, layout, cfg, key)
    np.asarray(r.x)
    return time.perf_counter() - t


def time_reference_loop(model, X, obs, layout, steps: int, lr: float) -> float:
    """Seconds per sample of the reference way: a Python loop over samples and over steps."""
    graphdef, params = nnx.split(model)
    tx = optax.adam(lr)

    @jax.jit
    def step(z, state, x, o):
        def loss(z):
            m = nnx.merge(graphdef, params)
            x_hat = jnp.where(o, x, jax.nn.sigmoid(z))
            return ii.masked_mse(m(x_hat), x_hat, o.astype(jnp.float32), layout)

        l, g = jax.value_and_grad(loss)(z)
        upd, state = tx.update(g, state, z)
        return optax.apply_updates(z, upd), state, l

    z0 = jnp.zeros(X.shape[1])
    step(z0, tx.init(z0), X[0], obs[0])[0].block_until_ready()
    t = time.perf_counter()
    for i in range(X.shape[0]):
        z, state = z0, tx.init(z0)
        for _ in range(steps):
            z, state, _ = step(z, state, X[i], obs[i])
        z.block_until_ready()
    return (time.perf_counter() - t) / X.shape[0]


def time_torch(X: np.ndarray, obs: np.ndarray, model, steps: int, lr: float, compiled: bool) -> float | None:
    """Seconds for the same batched inversion as a PyTorch autograd loop (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    layers = [*model.encoder_layers, *model.decoder_layers]
    ws = [(torch.tensor(np.asarray(l.kernel[...]), device=dev), torch.tensor(np.asarray(l.bias[...]), device=dev)) for l in layers]

    def net(x):
        h = torch.cat([x, torch.zeros_like(x)], dim=-1)
        for i, (w, b) in enumerate(ws):
            h = h @ w + b
            if i < len(ws) - 1:
                h = torch.relu(h)
        return h

    def loss_fn(z, x, o):
        x_hat = torch.where(o, x, torch.sigmoid(z))
        err = (torch.sigmoid(net(x_hat)) - x_hat) ** 2 * o
        return err.sum() / o.sum().clamp(min=1)

    if compiled:
        loss_fn = torch.compile(loss_fn)
    x = torch.tensor(X, device=dev)
    o = torch.tensor(obs, device=dev)

    def run():
        z = torch.zeros_like(x, requires_grad=True)
        opt = torch.optim.Adam([z], lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss_fn(z, x, o).backward()
            opt.step()
        if dev == "cuda":
            torch.cuda.synchronize()

    run()
    t = time.perf_counter()
    run()
    return time.perf_counter() - t


def width_section(d: int, args, peak: float | None) -> list[str]:
    """The throughput table of the reference MLP of width ``d``."""
    layout = ii.Layout.uniform(d)
    model = ii.reference_mlp(d, dropout=0.0, dtype=jnp.dtype(args.dtype))
    flops_step = 2 * matmul_flops_per_sample(model)
    device = jax.devices()[0]
    on_gpu = peak is not None
    rng = np.random.default_rng(0)
    cfg = ii.InversionConfig(steps=args.steps, learning_rate=0.05, loss="mse", init="fill", clean=False, tol=0.0,
                             objective="observed", proximal=0.0)

    ref_obs = rng.random((args.reference_samples, d)) > 0.36
    ref_x = rng.random((args.reference_samples, d)).astype(np.float32)
    ref_sec = time_reference_loop(model, ref_x, ref_obs, layout, args.steps, 0.05)
    ref_rate = 1.0 / ref_sec

    lines = [
        f"### Reference MLP, d = {d}",
        "",
        f"Device: {device.device_kind} ({device.platform}), {jax.device_count()} device(s); "
        f"{platform.machine()}; jax {jax.__version__}; compute dtype {args.dtype}. Model: study 1's reference "
        f"MLP at width {d}; {args.steps} steps per sample; {flops_step / 1e6:.2f} MFLOP per sample-step.",
        f"Reference loop (one sample at a time, Python loop over jitted steps): {ref_rate:.2f} samples/s.",
        "",
        "| batch | samples/s | × reference loop | achieved GFLOP/s"
        + (" | % of measured matmul peak" if on_gpu else "")
        + (" | × torch eager | × torch.compile" if args.torch else "")
        + " |",
        "|---" * (4 + (1 if on_gpu else 0) + (2 if args.torch else 0)) + "|",
    ]
    for b in [int(v) for v in args.batches.split(",")]:
        X = rng.random((b, d)).astype(np.float32)
        obs = rng.random((b, d)) > 0.36
        sec = time_engine(model, X, obs, layout, replace_batch(cfg, b), jax.random.key(0))
        rate = b / sec
        gflops = rate * args.steps * flops_step / 1e9
        row = f"| {b} | {rate:,.0f} | {rate / ref_rate:,.1f}× | {gflops:,.1f}"
        if on_gpu:
            row += f" | {100 * gflops * 1e9 / peak:.0f}%"
        if args.torch:
            te = time_torch(X, obs, model, args.steps, 0.05, compiled=False)
            tc = time_torch(X, obs, model, args.steps, 0.05, compiled=True)
            row += f" | {te / sec:.2f}× | {tc / sec:.2f}×" if te else " | n/a | n/a"
        lines.append(row + " |")
        print(lines[-1], flush=True)
    return lines


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default="1,16,256,1024,4096")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--features", default="114,784", help="widths d of the reference MLPs (114: Mushroom's one-hot table)")
    p.add_argument("--reference-samples", type=int, default=4)
    p.add_argument("--torch", action="store_true", help="also time PyTorch loops (needs torch)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)

    on_gpu = jax.devices()[0].platform == "gpu"
    peak = measured_peak() if on_gpu else None
    lines: list[str] = []
    for d in [int(v) for v in args.features.split(",")]:
        lines += width_section(d, args, peak) + [""]
    if peak:
        lines.append(f"\nMeasured float32 matmul peak (8192² matmul): {peak / 1e12:.1f} TFLOP/s.")
    text = "\n".join(lines) + "\n"
    return publish(text, args.out)


def replace_batch(cfg: ii.InversionConfig, b: int) -> ii.InversionConfig:
    """The config with a chunk as large as the batch, so one compiled program runs it all."""
    from dataclasses import replace

    return replace(cfg, batch_size=max(b, 1))


if __name__ == "__main__":
    main()

