"""The PyTorch half of test/bench/parity.bench.ts: loads Clearsky's initial weights into torch_dip.py's network,
compares the step-1 gradients, trains the same steps without input noise and scores both outputs.
Usage: parity.py WORKDIR (written by parity.bench.ts). Prints one line."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_dip as T  # noqa: E402

work = sys.argv[1]
meta = json.load(open(os.path.join(work, "shapes.json")))
size, shapes, steps = meta["size"], meta["shapes"], meta["steps"]
torch.set_num_threads(1)
root = os.path.join(T.data_root(), "slovenia-2015")
truth = T.s2_scaled(os.path.join(root, "S2L1C_20150909.tif"))
ref = (T.s2_scaled(os.path.join(root, "S2L1C_20150711.tif")) + T.s2_scaled(os.path.join(root, "S2L1C_20150830.tif"))) / 2
mask = T.read_bands(os.path.join(root, "cloudmasks_s2cloudless_2015-2017.tif"), [meta["maskBand"]])[0] > 0.5
_, h, w = truth.shape
tgt = np.zeros((6, size, size), np.float32)
wt = np.zeros_like(tgt)
for k, s in enumerate([truth, ref]):
    tgt[3 * k:3 * k + 3, :h, :w] = s
    wt[3 * k:3 * k + 3, :h, :w] = 1.0 if k > 0 else (~mask).astype(np.float32)


def torch_layout(flat, offset, shape):
    n = int(np.prod(shape))
    a = flat[offset:offset + n].reshape(shape)
    return (a.transpose(3, 2, 0, 1) if len(shape) == 4 else a), offset + n  # HWIO -> OIHW


def fitter_from_clearsky_weights():
    fitter = T.Fitter(torch.from_numpy(tgt), torch.from_numpy(wt), seed=0, noise=0.0)
    params = list(fitter.model.parameters())
    assert len(params) == len(shapes), f"{len(params)} PyTorch parameters, {len(shapes)} Clearsky variables"
    weights = np.fromfile(os.path.join(work, "weights.bin"), np.float32)
    offset = 0
    with torch.no_grad():
        for p, shape in zip(params, shapes):
            a, offset = torch_layout(weights, offset, shape)
            p.copy_(torch.from_numpy(np.ascontiguousarray(a)))
    return fitter, params


fitter, params = fitter_from_clearsky_weights()

out = fitter.model(fitter.z)
loss1 = ((((out - fitter.target) ** 2) * fitter.weight).sum() / fitter.nsel)
loss1.backward()
# PyTorch's own step-1 gradients with two threads: how far summation order alone moves them.
torch.set_num_threads(2)
twin, twin_params = fitter_from_clearsky_weights()
(((twin.model(twin.z) - twin.target) ** 2) * twin.weight).sum().div(twin.nsel).backward()
torch.set_num_threads(1)
grads = np.fromfile(os.path.join(work, "grads.bin"), np.float32)
offset, worst, worst_torch = 0, 0.0, 0.0
for p, q, shape in zip(params, twin_params, shapes):
    a, offset = torch_layout(grads, offset, shape)
    g = p.grad.numpy()
    if np.abs(g).max() > 1e-5:  # conv biases before a BatchNorm get no gradient (BN removes them): only rounding
        worst = max(worst, float(np.abs(a - g).max() / np.abs(g).max()))
        worst_torch = max(worst_torch, float(np.abs(q.grad.numpy() - g).max() / np.abs(g).max()))

fitter.opt.zero_grad(set_to_none=True)
losses = [float(fitter.step()) for _ in range(steps)]
ours = json.load(open(os.path.join(work, "losses.json")))
theirs_out = fitter.output().numpy()
# PyTorch against itself: the same start, two threads instead of one (only the summation order changes).
torch.set_num_threads(2)
again, _ = fitter_from_clearsky_weights()
for _ in range(steps):
    again.step()
again_out = again.output().numpy()
ours_out = np.fromfile(os.path.join(work, "output.bin"), np.float32).reshape(size, size, -1).transpose(2, 0, 1)


def score(o):
    pred = o[:3, :h, :w].astype(np.float64)
    ssim, _ = T.ssim_scores(truth.astype(np.float64).transpose(1, 2, 0), pred.transpose(1, 2, 0), mask)
    return ssim


print(f"step-1 loss PyTorch {losses[0]:.7f} Clearsky {ours[0]:.7f}; worst gradient difference {worst:.1e} (relative to the "
      f"tensor's largest; PyTorch 1 vs 2 threads {worst_torch:.1e}); after {steps} steps loss {losses[-1]:.2e} / {ours[-1]:.2e}, outputs differ by "
      f"{np.abs(theirs_out - ours_out).mean():.3f} mean absolute (PyTorch 1 vs 2 threads: "
      f"{np.abs(theirs_out - again_out).mean():.3f}); SSIM in mask PyTorch {score(theirs_out):.3f} "
      f"(2 threads {score(again_out):.3f}), Clearsky {score(ours_out):.3f}")
