"""scripts/bench.sh --json FILE: the sweep's chart, as one self-contained SVG (no library, no
fonts or scripts fetched), so it can sit beside the JSON and in docs/performance.md.

  python3 -m ringtrace_harness.bench_chart --json FILE --out FILE.svg

Left: the stamped cycle's p50 (solid) and p99 (dotted) against the window, log-log. Right: each
session's rate as a share of Kafka's ProducerPerformance on the same broker, against the window.
One colour a partitions x MS3s layout, traced and untraced apart (untraced drawn lighter).
"""

import argparse
import json
import math
import re
import sys

POINT = re.compile(r"^sweep_w(\d+)_p(\d+x\d+)(_untraced)?_msgs_per_s$")
COLOURS = ["#1f6fb4", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#5c940d"]
LIGHT = {"#1f6fb4": "#8fb7d9", "#d9480f": "#eca387", "#2b8a3e": "#95c49e", "#7048e8": "#b7a3f3",
         "#c2255c": "#e092ad", "#5c940d": "#adc986"}


def series(figures):
    """{(layout, traced): [(window, rate, share, p50, p99), ...] sorted by window}."""
    out = {}
    for key in figures:
        m = POINT.match(key)
        if not m:
            continue
        window, layout, untraced = int(m.group(1)), m.group(2), bool(m.group(3))
        prefix = key[: -len("_msgs_per_s")]
        out.setdefault((layout, not untraced), []).append((
            window, figures[key], figures.get(f"{prefix}_vs_kafka_producer"),
            figures.get(f"{prefix}_stamped_cycle_p50_ms"), figures.get(f"{prefix}_stamped_cycle_p99_ms")))
    return {k: sorted(v) for k, v in sorted(out.items(), key=lambda kv: (kv[0][0], not kv[0][1]))}


class Axes:
    """One panel: log x (windows); log or linear y; maps data to pixels."""

    def __init__(self, x0, y0, w, h, xs, ys, log_y):
        self.x0, self.y0, self.w, self.h, self.log_y = x0, y0, w, h, log_y
        self.xmin, self.xmax = math.log2(min(xs)), math.log2(max(xs))
        if self.xmax == self.xmin:
            self.xmin, self.xmax = self.xmin - 1, self.xmax + 1
        if log_y:
            lo, hi = min(ys), max(ys)
            self.ymin, self.ymax = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
            if self.ymax == self.ymin:
                self.ymax += 1
        else:
            self.ymin, self.ymax = 0.0, nice_ceiling(max(ys))

    def px(self, x):
        return self.x0 + (math.log2(x) - self.xmin) / (self.xmax - self.xmin) * self.w

    def py(self, y):
        v = math.log10(y) if self.log_y else y
        return self.y0 + self.h - (v - self.ymin) / (self.ymax - self.ymin) * self.h

    def y_ticks(self):
        if self.log_y:
            return [10 ** e for e in range(int(self.ymin), int(self.ymax) + 1)]
        step = self.ymax / 5
        return [round(step * i, 6) for i in range(6)]


def nice_ceiling(v):
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above v (and above 0)."""
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    return next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= v)


def label(v):
    return f"{v:g}" if v == 0 or v >= 0.01 else f"{v:.0e}"


def panel(parts, axes, xs, title, y_title):
    a = axes
    parts.append(f'<text x="{a.x0 + a.w / 2:.1f}" y="{a.y0 - 14}" text-anchor="middle" class="t">{title}</text>')
    for y in a.y_ticks():
        py = a.py(y)
        parts.append(f'<line x1="{a.x0}" x2="{a.x0 + a.w}" y1="{py:.1f}" y2="{py:.1f}" class="g"/>')
        parts.append(f'<text x="{a.x0 - 6}" y="{py + 4:.1f}" text-anchor="end">{label(y)}</text>')
    for x in xs:
        px = a.px(x)
        parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{a.y0}" y2="{a.y0 + a.h}" class="g"/>')
        parts.append(f'<text x="{px:.1f}" y="{a.y0 + a.h + 16}" text-anchor="middle">{x}</text>')
    parts.append(f'<rect x="{a.x0}" y="{a.y0}" width="{a.w}" height="{a.h}" class="f"/>')
    parts.append(f'<text x="{a.x0 + a.w / 2:.1f}" y="{a.y0 + a.h + 34}" text-anchor="middle">window (messages in flight)</text>')
    parts.append(f'<text transform="translate({a.x0 - 44},{a.y0 + a.h / 2:.1f}) rotate(-90)" text-anchor="middle">{y_title}</text>')


def polyline(parts, axes, points, colour, dash=""):
    pts = " ".join(f"{axes.px(x):.1f},{axes.py(y):.1f}" for x, y in points)
    style = f' stroke-dasharray="{dash}"' if dash else ""
    parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{style}/>')
    for x, y in points:
        parts.append(f'<circle cx="{axes.px(x):.1f}" cy="{axes.py(y):.1f}" r="3" fill="{colour}"/>')


def render(document):
    """The SVG text of the document's sweep; ValueError when it has none."""
    figures = document["figures"]
    lines = series(figures)
    if not lines:
        raise ValueError("no sweep_w<W>_p<P>x<M>_msgs_per_s figures: was the sweep skipped?")
    xs = sorted({p[0] for pts in lines.values() for p in pts})
    latencies = [v for pts in lines.values() for p in pts for v in p[3:5] if v]
    shares = [p[2] for pts in lines.values() for p in pts if p[2] is not None]
    width, height = 1000, 450
    left = Axes(70, 60, 360, 300, xs, latencies or [1], log_y=True)
    right = Axes(590, 60, 360, 300, xs, (shares or [0]) + [0.3], log_y=False)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             'font-family="sans-serif" font-size="12">',
             '<style>.g{stroke:#e3e3e3}.f{fill:none;stroke:#888}.t{font-weight:bold;font-size:13px}</style>',
             f'<rect width="{width}" height="{height}" fill="#fff"/>']
    panel(parts, left, xs, "Stamped cycle: p50 (solid), p99 (dotted)", "milliseconds (log)")
    panel(parts, right, xs, "Rate as a share of Kafka's ProducerPerformance", "× ProducerPerformance")
    for goal, text in ((0.30, "0.30 (untraced goal)"), (0.20, "0.20 (traced goal)")):
        if right.ymin <= goal <= right.ymax:
            py = right.py(goal)
            parts.append(f'<line x1="{right.x0}" x2="{right.x0 + right.w}" y1="{py:.1f}" y2="{py:.1f}" '
                         'stroke="#999" stroke-dasharray="6 3"/>')
            parts.append(f'<text x="{right.x0 + right.w - 4}" y="{py - 4:.1f}" text-anchor="end" fill="#666">{text}</text>')
    layouts = sorted({layout for layout, _ in lines})
    legend_y = height - 22
    for i, ((layout, traced), pts) in enumerate(lines.items()):
        base = COLOURS[layouts.index(layout) % len(COLOURS)]
        colour = base if traced else LIGHT[base]
        polyline(parts, left, [(p[0], p[3]) for p in pts if p[3]], colour)
        polyline(parts, left, [(p[0], p[4]) for p in pts if p[4]], colour, "2 3")
        polyline(parts, right, [(p[0], p[2]) for p in pts if p[2] is not None], colour)
        lx = 20 + i * 245
        parts.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{legend_y}" y2="{legend_y}" stroke="{colour}" stroke-width="3"/>')
        p, m = layout.split("x")
        parts.append(f'<text x="{lx + 30}" y="{legend_y + 4}">{p} partition(s) × {m} MS3, '
                     f'{"traced" if traced else "untraced"}</text>')
    machine = document.get("machine", {})
    note = (f"{machine.get('cpus', '?')} CPUs ({machine.get('cpu_model') or 'unknown CPU'}), "
            f"Kafka {machine.get('kafka', '?')}, {document.get('options', {}).get('seconds', '?')} s sessions on "
            f"{document.get('options', {}).get('db', '?')}, {document.get('measured_at', '')}")
    parts.append(f'<text x="{width - 10}" y="16" text-anchor="end" fill="#666" font-size="11">{escape(note)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main(argv):
    """Writes the chart; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        with open(args.json) as f:
            svg = render(json.load(f))
    except (OSError, ValueError, KeyError) as e:
        print(f"bench_chart: {e}", file=sys.stderr)
        return 1
    with open(args.out, "w") as f:
        f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
