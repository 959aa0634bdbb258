"""What bench/record and bench/portal share: the machine's state, medians
and spreads, number formats, the compositor's own work, and the files a
benchmark writes (runs.jsonl, info.json, runs.csv, summary.md)."""
import csv
import json
import math
import os
import statistics
import subprocess
import tempfile


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return [float("nan")] * 3


def med(values):
    """The median of the values that are numbers (None and NaN left out), or None."""
    v = [x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.median(v) if v else None


def spread(values):
    """(min, median, max, n) of values, or None for none."""
    if not values:
        return None
    return min(values), statistics.median(values), max(values), len(values)


def fmt(v, digits=3):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, int):
        return str(v)
    a = abs(v)
    if a >= 1e5:
        return "%.3g" % v
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    return "%.*g" % (digits, v)


def rtext(rt):
    """A spread as "min / median / max"."""
    if rt is None:
        return "-"
    return "%s / %s / %s" % (fmt(rt[0]), fmt(rt[1]), fmt(rt[2]))


def subtract_own_work(run, baselines):
    """Sets run's compositor CPU net of the compositor's own work, from runs
    with no client (baselines): their CPU per second over run's window,
    scaled down by the commit rate where run committed less (a client that
    slows the demo leaves the compositor less of its own work). Runs have
    comp_cpu_ms, duration_s and commits; run also frames. Sets
    own_work_scale, baseline_comp_cpu_ms, comp_net_cpu_ms (ms) and
    comp_us_per_frame."""
    own_per_s = med([b["comp_cpu_ms"] / b["duration_s"] for b in baselines])
    commits_per_s = med([b["commits"] / b["duration_s"] for b in baselines])
    scale = min(1.0, run["commits"] / (commits_per_s * run["duration_s"])) \
        if commits_per_s else 1.0
    own = own_per_s * run["duration_s"] * scale
    run["own_work_scale"] = scale
    run["baseline_comp_cpu_ms"] = own
    run["comp_net_cpu_ms"] = max(0.0, run["comp_cpu_ms"] - own)
    run["comp_us_per_frame"] = run["comp_net_cpu_ms"] * 1e3 / run["frames"]


def host_info(top, builddir, packages):
    """Commit, build options, package versions and the CPU, as info.json has them."""
    def cmd(args):
        try:
            return subprocess.run(args, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    info = {}
    info["commit"] = cmd(["git", "-C", top, "rev-parse", "--short", "HEAD"])
    # None: git could not tell
    info["dirty"] = bool(cmd(["git", "-C", top, "status", "--porcelain",
                              "--untracked-files=no"])) if info["commit"] else None
    try:
        with open(os.path.join(builddir, "meson-info", "intro-buildoptions.json")) as f:
            for o in json.load(f):
                if o["name"] in ("buildtype", "optimization", "b_sanitize"):
                    info[o["name"]] = o["value"]
    except (OSError, ValueError, KeyError):
        pass
    for pkg in packages:
        v = cmd(["dpkg-query", "-W", "-f", "${Version}", pkg])
        if v:
            info[pkg] = v
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpus"] = os.cpu_count()
    info["kernel"] = os.uname().release
    return info


def write_outputs(out, results, info, argv, summary, fields):
    """runs.jsonl (the runs as measured), info.json, then summary() (which may
    add derived values to the runs), runs.csv (fields) and summary.md."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "runs.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump({"info": info, "argv": argv}, f, indent=1)
    text = summary()
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        wr.writeheader()
        for r in results:
            wr.writerow({k: (round(v, 3) if isinstance(v, float) else v)
                         for k, v in r.items()})
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    print("\nwrote %s/runs.csv, runs.jsonl, info.json, summary.md" % out)


def read_outputs(out):
    """The runs, info and argv that write_outputs wrote to out."""
    with open(os.path.join(out, "runs.jsonl")) as f:
        results = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(out, "info.json")) as f:
        saved = json.load(f)
    return results, saved["info"], saved["argv"]


def ensure_runtime_dir():
    d = os.environ.get("XDG_RUNTIME_DIR")
    if not d or not os.path.isdir(d):
        d = tempfile.mkdtemp(prefix="zc-bench-xdg-")
        os.chmod(d, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = d
