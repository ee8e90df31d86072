#!/usr/bin/env python3
"""Draw bench/results.svg from a run's data: wall time against N, one line per contender, one
panel per network, log-log, the server's limit shaded as the floor no client can go below.

Run by bench/run with the bench's own virtualenv (bench/.peers/venv, matplotlib pinned in
bench/peers/requirements.txt), after measure.py wrote the data. To redraw from the last run:

    bench/.peers/venv/bin/python bench/chart.py bench/target/last-run.json bench/results.svg
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter  # noqa: E402

# One colour and marker per contender, the same in every panel; kvenv drawn boldest.
STYLE = {
    "kvenv": dict(color="#d62728", marker="o", linewidth=2.6, zorder=5),
    "kvenv, kv_version declared": dict(color="#d62728", marker="o", linestyle=":", linewidth=1.4,
                                       markerfacecolor="white", zorder=4),
    "secretspec": dict(color="#1f77b4", marker="s"),
    "node-vault": dict(color="#2ca02c", marker="^"),
    "hvac": dict(color="#9467bd", marker="v"),
    "seed loop (curl + jq)": dict(color="#8c564b", marker="D"),
    "bao kv get loop": dict(color="#7f7f7f", marker="P"),
}


def ms_label(v, _pos):
    if v >= 1000:
        return f"{v / 1000:g} s"
    return f"{v:g} ms"


def main():
    data_path, out = sys.argv[1], sys.argv[2]
    data = json.load(open(data_path))
    panels = [p for p in data["chart"] if p["lines"]]
    if not panels:
        sys.exit("chart.py: no results to draw")
    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "kvenv-bench"})
    cols = 2 if len(panels) > 1 else 1
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False)
    all_y = [v for p in panels for line in p["lines"].values() for v in line.values()]
    all_y += [v for p in panels for v in p["floor"].values()]
    y_lo, y_hi = min(all_y) / 1.6, max(all_y) * 1.6
    ns = sorted({int(n) for p in panels for line in p["lines"].values() for n in line})
    for ax, panel in zip(axes.flat, panels):
        floor = sorted((int(n), v) for n, v in panel["floor"].items())
        if floor:
            xs, ys = zip(*floor)
            ax.fill_between(xs, y_lo, ys, color="#bbbbbb", alpha=0.45, linewidth=0, zorder=1)
            ax.plot(xs, ys, color="#555555", linestyle="--", linewidth=1.2, zorder=2,
                    marker="_", markersize=14, label="server limit (wrk): the floor")
        for name, pts in panel["lines"].items():
            pts = sorted((int(n), v) for n, v in pts.items())
            xs, ys = zip(*pts)
            style = dict(STYLE.get(name, {}))
            style.setdefault("linewidth", 1.5)
            style.setdefault("zorder", 3)
            ax.plot(xs, ys, label=name, markersize=5, **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(y_lo, y_hi)
        ax.xaxis.set_major_locator(FixedLocator(ns))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(FuncFormatter(ms_label))
        if len(ns) > 1:
            ax.set_xlim(ns[0] / 1.5, ns[-1] * 1.5)
        ax.set_title(panel["title"])
        ax.set_xlabel("N secrets")
        ax.set_ylabel("wall time (median)")
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False)
    fig.suptitle(data.get("title", "kvenv and its peers"))
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    fig.savefig(out, metadata={"Date": None})
    print(f"chart.py: wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
