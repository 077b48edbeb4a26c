"""Mixed precision vs fp32: one training step of each chapter's network, on this device.

The evidence behind :func:`cnnlab.device.settings_for`: for each network of the course
at a Fashion-MNIST-sized input, ``cnnlab.measure.benchmark(mode="train")`` times the same
training step (forward, cross-entropy, backward, SGD with momentum; channels_last) in
fp32 and under autocast with the lower precision given (default bf16), alternating the
two ``--repeats`` times and keeping each one's fastest (shared machines are noisy).

    .venv/bin/python benchmarks/precision.py                  # bf16 vs fp32, ~3 min on 2 cores
    .venv/bin/python benchmarks/precision.py --record         # ... and append to results.json
    .venv/bin/python benchmarks/precision.py --models lenet_bn --seconds 1   # a quick check

Prints one line per network and, last, the headline:
``precision: bf16 autocast vs fp32 training step, geometric mean X.XXx over N networks
(min ..., max ...; device)``. Above 1 means the lower precision is faster; on a CPU
without native bf16 (AVX2 only) expect well below 1, which is why the trainer stays in
fp32 there.
"""

from __future__ import annotations

import argparse
import math

import _common  # noqa: F401  (puts the repository on sys.path)
from _common import device_description, load_average, record

from cnnlab import chapters

# (name, input side, batch): the chapters' networks at inputs a CPU trains in seconds,
# as each chapter module declares them (BENCHMARK_INPUTS).
NETWORKS = chapters.benchmark_inputs()


def time_step(name: str, side: int, batch: int, device, amp_dtype, seconds: float) -> float:
    """Images per second of one training step, timed for about ``seconds``."""
    from cnnlab import measure
    quick = measure.benchmark(name, (1, side, side), batch_size=batch, device=device,
                              mode="train", steps=1, warmup=1, channels_last=True,
                              amp_dtype=amp_dtype)
    steps = max(2, round(seconds * quick.images_per_s / batch))
    return measure.benchmark(name, (1, side, side), batch_size=batch, device=device,
                             mode="train", steps=steps, warmup=1, channels_last=True,
                             amp_dtype=amp_dtype).images_per_s


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", choices=["bf16", "fp16"], default="bf16",
                        help="the lower precision to compare with fp32 (default bf16)")
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help="only these networks (default: every chapter's, see NETWORKS)")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="time each measurement for about this long (default 3)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="alternate fp32 and the lower precision this many times, keep the "
                             "fastest of each (default 2)")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--record", action="store_true", help="append the result to results.json")
    parser.add_argument("--note", default="", help="free text stored with --record")
    args = parser.parse_args(argv)

    import torch
    from cnnlab.device import default_device, precision_name

    device = default_device(args.device)
    low = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    networks = [n for n in NETWORKS if not args.models or n[0] in args.models]
    if not networks:
        parser.error(f"none of {args.models} is among {sorted({n[0] for n in NETWORKS})}")
    print(f"precision: {precision_name(low)} vs fp32, one training step, channels_last, on "
          f"{device_description(device)}; load average {load_average()}", flush=True)
    rows = []
    for name, side, batch in networks:
        best = {None: 0.0, low: 0.0}
        for _ in range(args.repeats):
            for dtype in (None, low):
                best[dtype] = max(best[dtype],
                                  time_step(name, side, batch, device, dtype, args.seconds))
        ratio = best[low] / best[None]
        rows.append({"model": name, "side": side, "batch_size": batch,
                     "fp32_images_per_s": round(best[None], 1),
                     "low_images_per_s": round(best[low], 1), "ratio": round(ratio, 3)})
        print(f"  {name:18s} {side:3d} px, batch {batch:3d}: fp32 {best[None]:8.1f} img/s   "
              f"{args.dtype} {best[low]:8.1f} img/s   {ratio:.2f}x", flush=True)
    ratios = [r["ratio"] for r in rows]
    mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    details = {"dtype": args.dtype, "networks": rows, "repeats": args.repeats,
               "seconds_per_measurement": args.seconds, "load_average": load_average(),
               "note": args.note}
    if args.record:
        record("precision", round(mean, 2),
               f"x ({args.dtype} autocast images/s / fp32 images/s, geometric mean of a "
               f"training step over {len(rows)} networks)", device_description(device), details)
    spread = f"min {min(ratios):.2f}x, max {max(ratios):.2f}x; {device.type}"
    networks_text = f"{len(rows)} network{'s' * (len(rows) != 1)}"
    headline = (f"precision: {precision_name(low)} vs fp32 training step, geometric mean "
                f"{mean:.2f}x over {networks_text} ({spread})")
    print(headline, flush=True)  # the headline, last
    return {"ratio": mean, **details}


if __name__ == "__main__":
    main()
