#!/usr/bin/python3
"""PyTorch yardstick for the Clearsky DIP engine (issue 2).

The METHOD.md network (../shared/METHOD.md), written in PyTorch 1.13 (Debian's python3-torch), used to
measure what the tfjs engine must match: speed of one training step and quality on the Slovenia
ground-truth protocol.

Requirements (Debian): apt-get install -y python3-torch python3-gdal python3-skimage
If `python3` on PATH is not the system interpreter (e.g. pyenv), the script re-executes itself with
/usr/bin/python3.

Commands
  python3 test/bench/torch_dip.py layers [--outputs 8]
      layer table and parameter count (2,442,152 for 8 outputs, asserted).
  python3 test/bench/torch_dip.py bench --size 256 --outputs 8 --steps 20 --threads 2 [--device cuda]
      seconds per training step (random target and mask) after 3 warm-up steps; one JSON line
      {"engine":"pytorch","threads":..,"size":..,"outputs":..,"seconds_per_step":..,"device":..}.
      --device cuda runs on the GPU (scripts/gpu-check), waiting for it after every step.
  python3 test/bench/torch_dip.py eval --steps 4000 --seeds 0 --modes basic,mt \
          --mask-bands 14,19,21,35,37,41,48,50,51 [--threads 2] [--json]
      the Slovenia protocol (see `evaluate`). Rows {mask, cover, method, seed, ssim_mask, rmse_mask,
      ssim_whole, rmse_whole, seconds_per_step}; with --json a JSON array is the last line of stdout,
      otherwise a table. Progress goes to stderr.
  Data root: $CLEARSKY_DATA, else ../shared/data relative to the repository root.

Network (METHOD.md): widths [16,32,64,128,128,128], no skip connections, biases on, zero padding.
  down i: conv3x3 s2 (pad 1) -> BN -> LReLU(0.2) -> conv3x3 (pad 1) -> BN -> LReLU      (C_in(i) -> w[i])
          C_in(0) = 2 (meshgrid), C_in(i) = w[i-1]
  up i:   nearest x2 -> BN(k) -> conv5x5 (pad 2) k->w[i] -> BN -> LReLU -> conv1x1 w[i]->w[i] -> BN -> LReLU
          k = w[i+1] (the output of up i+1) for i < 5, k = w[5] (the output of down 5) for i = 5
  order:  down0 .. down5, up5 .. up0, head conv1x1 (16 -> C_out) -> sigmoid
  BN always in training mode (batch statistics, batch of 1), also for the final output.
  Input z: 2-channel meshgrid (row/H, col/W in [0,1)); each step z + N(0, 0.1^2); final output with clean z.
  Adam lr 0.02, betas (0.9, 0.999), eps 1e-8. Default PyTorch initialisation. Seed -> torch.manual_seed.
  Loss: MSE over selected elements (S2 channels where mask = 0, auxiliary channels everywhere; padded
  pixels never), averaged over the number of selected elements.

Padding (eval): the 101 x 100 (H x W) scene is placed at the top-left of a 128 x 128 tile (next multiple
  of 64), the rest zero-filled; padded pixels have weight 0 in every channel, so their value never enters
  the loss. The output is cropped back to [:101, :100] before scoring.
"""
import argparse
import json
import os
import sys
import time

# eval: OpenMP threads that sleep instead of spinning while waiting. On this shared 2-core machine the
# default spinning makes 2-thread runs 2-5x slower whenever other processes compete for the cores (measured
# at 128x128: 0.33-0.75 s/step spinning vs 0.14 s/step passive, under load). Must be set before torch loads.
# bench keeps the library default (set OMP_WAIT_POLICY yourself to compare).
if len(sys.argv) > 1 and sys.argv[1] == "eval":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

WIDTHS = [16, 32, 64, 128, 128, 128]
EXPECTED_PARAMS_8 = 2442152
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ----------------------------------------------------------------------------------------------- network
def conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=True)


class DIP(nn.Module):
    def __init__(self, c_in=2, c_out=8, widths=WIDTHS):
        super().__init__()
        n = len(widths)
        self.down = nn.ModuleList()
        cin = c_in
        for i in range(n):
            w = widths[i]
            self.down.append(nn.Sequential(
                conv(cin, w, 3, 2), nn.BatchNorm2d(w), nn.LeakyReLU(0.2),
                conv(w, w, 3), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)))
            cin = w
        # self.up[j] is level n-1-j (deepest first, in execution order)
        self.up = nn.ModuleList()
        for i in reversed(range(n)):
            k = widths[i + 1] if i < n - 1 else widths[n - 1]
            w = widths[i]
            self.up.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), nn.BatchNorm2d(k),
                conv(k, w, 5), nn.BatchNorm2d(w), nn.LeakyReLU(0.2),
                conv(w, w, 1), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)))
        self.head = nn.Sequential(conv(widths[0], c_out, 1), nn.Sigmoid())

    def forward(self, x):
        for m in self.down:
            x = m(x)
        for m in self.up:
            x = m(x)
        return self.head(x)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def layer_table(model, h=256, w=256):
    """Rows (block, layer, output shape, params) in execution order, from a forward with hooks."""
    rows = []
    n = len(model.down)
    names = {}
    for i, blk in enumerate(model.down):
        for j, m in enumerate(blk):
            names[m] = (f"down{i}", j)
    for j, blk in enumerate(model.up):
        for k, m in enumerate(blk):
            names[m] = (f"up{n - 1 - j}", k)
    for k, m in enumerate(model.head):
        names[m] = ("head", k)
    hooks = []

    def hook(m, inp, out):
        blk, _ = names[m]
        desc = type(m).__name__
        if isinstance(m, nn.Conv2d):
            desc = f"Conv2d {m.kernel_size[0]}x{m.kernel_size[1]} s{m.stride[0]} p{m.padding[0]} {m.in_channels}->{m.out_channels}"
        elif isinstance(m, nn.BatchNorm2d):
            desc = f"BatchNorm2d {m.num_features}"
        elif isinstance(m, nn.LeakyReLU):
            desc = f"LeakyReLU {m.negative_slope}"
        elif isinstance(m, nn.Upsample):
            desc = f"Upsample x{int(m.scale_factor)} {m.mode}"
        macs = out.shape[2] * out.shape[3] * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] \
            if isinstance(m, nn.Conv2d) else 0
        rows.append((blk, desc, tuple(out.shape[1:]), sum(p.numel() for p in m.parameters()), macs))

    for m in names:
        hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(meshgrid(h, w))
    for hk in hooks:
        hk.remove()
    return rows


def meshgrid(h, w):
    r = torch.arange(h, dtype=torch.float32) / h
    c = torch.arange(w, dtype=torch.float32) / w
    rr, cc = torch.meshgrid(r, c, indexing="ij")
    return torch.stack([rr, cc])[None]


def check_params(model, c_out):
    n = count_params(model)
    if c_out == 8:
        assert n == EXPECTED_PARAMS_8, f"parameter count {n} != {EXPECTED_PARAMS_8}"
    return n


# ------------------------------------------------------------------------------------------ optimisation
class Fitter:
    """One DIP optimisation: target (C,H,W), weight (C,H,W) in {0,1} (1 = element enters the loss)."""

    def __init__(self, target, weight, seed=0, lr=0.02, noise=0.1):
        torch.manual_seed(seed)
        c, h, w = target.shape
        self.model = DIP(2, c)
        self.model.train()  # BN on batch statistics, always
        self.z = meshgrid(h, w)
        self.target = target[None]
        self.weight = weight[None]
        self.nsel = float(weight.sum())
        self.noise = noise
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        z = self.z + torch.randn_like(self.z) * self.noise
        out = self.model(z)
        loss = (((out - self.target) ** 2) * self.weight).sum() / self.nsel
        loss.backward()
        self.opt.step()
        return loss

    def output(self):
        with torch.no_grad():
            return self.model(self.z)[0]


# ----------------------------------------------------------------------------------------------- bench
def cmd_layers(args):
    model = DIP(2, args.outputs)
    n = check_params(model, args.outputs)
    print(f"{'block':<7} {'layer':<32} {'output (C,H,W)':<18} {'params':>9} {'MMAC':>8}")
    total = 0
    for blk, desc, shape, p, macs in layer_table(model, args.size, args.size):
        total += macs
        print(f"{blk:<7} {desc:<32} {str(shape):<18} {p:>9} {macs / 1e6:>8.1f}")
    print(f"parameters: {n:,} (C_out = {args.outputs}); forward conv multiply-adds at {args.size}x{args.size}: "
          f"{total / 1e9:.3f} G")


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s, c = args.size, args.outputs
    target = torch.rand(c, s, s)
    weight = torch.ones(c, s, s)
    weight[:, : s // 4, : s // 4] = 0  # a masked block, as in a real run
    f = Fitter(target, weight, seed=0)
    n = check_params(f.model, c)
    device = torch.device(args.device)
    # Module.to moves the parameters in place, so the optimiser created in Fitter keeps working.
    f.model.to(device)
    f.z, f.target, f.weight = f.z.to(device), f.target.to(device), f.weight.to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"parameters: {n:,}; torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}", file=sys.stderr)
    for _ in range(3):
        f.step()
    sync()
    times = []
    t0 = time.perf_counter()
    for _ in range(args.steps):
        t1 = time.perf_counter()
        f.step()
        sync()
        times.append(time.perf_counter() - t1)
    dt = (time.perf_counter() - t0) / args.steps
    # seconds_per_step: mean over the timed steps (the figure to compare); the median and the 1-minute load
    # average show how much other processes on the shared machine disturbed the run.
    print(json.dumps({"engine": "pytorch", "threads": torch.get_num_threads(), "size": s, "outputs": c,
                      "seconds_per_step": round(dt, 4), "median_step_s": round(float(np.median(times)), 4),
                      "loadavg_1m": round(os.getloadavg()[0], 2), "device": device_name}))


# ------------------------------------------------------------------------------------------------ eval
def data_root():
    return os.environ.get("CLEARSKY_DATA") or os.path.join(REPO_ROOT, "..", "shared", "data")


def read_bands(path, bands):
    from osgeo import gdal
    ds = gdal.Open(path)
    if ds is None:
        raise SystemExit(f"error: {path}: cannot open")
    a = np.stack([ds.GetRasterBand(b).ReadAsArray() for b in bands]).astype(np.float32)
    return a


def s2_scaled(path):
    # B04, B03, B02 are bands 4, 3, 2 of the 13-band L1C files
    return np.clip(read_bands(path, [4, 3, 2]), 0, 10000) / 2000.0


def ssim_scores(truth, pred, mask):
    """truth, pred (H,W,C); mask (H,W) bool. Returns (masked mean of the map, whole-image mean)."""
    from skimage.metrics import structural_similarity
    whole, smap = structural_similarity(truth, pred, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=2.0, full=True)
    return float(smap[mask].mean()), float(whole)


def evaluate(args):
    """Slovenia protocol: clear target 20150909 (B04,B03,B02), reference = mean(20150711, 20150830), real
    s2cloudless masks (1-based bands of cloudmasks_s2cloudless_2015-2017.tif, 1 = cloud) pasted onto it.
    basic: network target S2 (3 ch); mt: [S2, reference] (6 ch), mask on S2 only; reconstruction = first
    3 output channels, network output (not stitched), scored against the clear target."""
    torch.set_num_threads(args.threads)
    root = os.path.join(data_root(), "slovenia-2015")
    truth = s2_scaled(os.path.join(root, "S2L1C_20150909.tif"))  # (3,H,W)
    ref = (s2_scaled(os.path.join(root, "S2L1C_20150711.tif")) + s2_scaled(os.path.join(root, "S2L1C_20150830.tif"))) / 2
    masks = read_bands(os.path.join(root, "cloudmasks_s2cloudless_2015-2017.tif"), args.mask_bands) > 0.5
    _, h, w = truth.shape
    ph, pw = -(-h // 64) * 64, -(-w // 64) * 64
    rows = []
    for mb, m in zip(args.mask_bands, masks):
        cover = float(m.mean())
        for mode in args.modes:
            srcs = [truth] if mode == "basic" else [truth, ref]
            tgt = np.zeros((3 * len(srcs), ph, pw), np.float32)
            wt = np.zeros_like(tgt)
            for k, s in enumerate(srcs):
                tgt[3 * k:3 * k + 3, :h, :w] = s
                wt[3 * k:3 * k + 3, :h, :w] = 1.0 if k > 0 else (~m).astype(np.float32)
            for seed in args.seeds:
                f = Fitter(torch.from_numpy(tgt), torch.from_numpy(wt), seed=seed)
                check_params(f.model, tgt.shape[0])
                t0 = time.perf_counter()
                for it in range(args.steps):
                    loss = f.step()
                    if args.progress and (it + 1) % args.progress == 0:
                        print(f"  mask {mb} {mode} seed {seed} step {it + 1}/{args.steps} loss {float(loss):.5f} "
                              f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)
                sps = (time.perf_counter() - t0) / max(args.steps, 1)
                pred = f.output()[:3, :h, :w].numpy().astype(np.float64)
                t = truth.astype(np.float64)
                sq = (pred - t) ** 2
                ssim_m, ssim_w = ssim_scores(t.transpose(1, 2, 0), pred.transpose(1, 2, 0), m)
                row = {"mask": mb, "cover": round(cover, 4), "method": mode, "seed": seed,
                       "ssim_mask": ssim_m, "rmse_mask": float(np.sqrt(sq[:, m].mean())),
                       "ssim_whole": ssim_w, "rmse_whole": float(np.sqrt(sq.mean())),
                       "seconds_per_step": sps}
                rows.append(row)
                print(f"mask {mb} ({cover:.1%}) {mode} seed {seed}: ssim_mask {ssim_m:.4f} rmse_mask "
                      f"{row['rmse_mask']:.4f} ssim_whole {ssim_w:.4f} rmse_whole {row['rmse_whole']:.4f} "
                      f"{sps:.4f} s/step", file=sys.stderr)
    return rows


def cmd_eval(args):
    t0 = time.perf_counter()
    rows = evaluate(args)
    print(f"eval wall time {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'mask':>4} {'cover':>6} {'method':<6} {'seed':>4} {'ssim_mask':>9} {'rmse_mask':>9} "
          f"{'ssim_whole':>10} {'rmse_whole':>10} {'s/step':>7}")
    for r in rows:
        print(f"{r['mask']:>4} {r['cover']:>6.1%} {r['method']:<6} {r['seed']:>4} {r['ssim_mask']:>9.4f} "
              f"{r['rmse_mask']:>9.4f} {r['ssim_whole']:>10.4f} {r['rmse_whole']:>10.4f} {r['seconds_per_step']:>7.4f}")
    print("median over masks and seeds:")
    for mode in args.modes:
        rs = [r for r in rows if r["method"] == mode]
        med = {k: float(np.median([r[k] for r in rs])) for k in ("ssim_mask", "rmse_mask", "ssim_whole", "rmse_whole")}
        print(f"  {mode:<6} ssim_mask {med['ssim_mask']:.4f} rmse_mask {med['rmse_mask']:.4f} "
              f"ssim_whole {med['ssim_whole']:.4f} rmse_whole {med['rmse_whole']:.4f}")


def ints(s):
    return [int(x) for x in s.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("layers")
    p.add_argument("--outputs", type=int, default=8)
    p.add_argument("--size", type=int, default=256)
    p = sub.add_parser("bench")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--outputs", type=int, default=8)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p = sub.add_parser("eval")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--seeds", type=ints, default=[0])
    p.add_argument("--modes", type=lambda s: s.split(","), default=["basic", "mt"])
    p.add_argument("--mask-bands", type=ints, default=[14, 19, 21, 35, 37, 41, 48, 50, 51])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--progress", type=int, default=0, help="print loss every N steps to stderr")
    p.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.cmd == "eval":
        bad = [m for m in args.modes if m not in ("basic", "mt")]
        if bad:
            raise SystemExit(f"error: unsupported mode(s) {bad}: this yardstick implements basic and mt")
    {"layers": cmd_layers, "bench": cmd_bench, "eval": cmd_eval}[args.cmd](args)


if __name__ == "__main__":
    main()
