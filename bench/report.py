"""The benchmark's summaries (medians, per-round ratios, the targets), its markdown tables and
plot, and the results sections of docs/performance.md."""
import os
import statistics

from harness import REPO

# -- summaries ------------------------------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else float("nan")


def ratio(samples, name, other):
    """Median over rounds of samples[name][i] / samples[other][i]."""
    if name not in samples or other not in samples:
        return None
    pairs = zip(samples[name], samples[other])
    return statistics.median(a / b for a, b in pairs if b > 0)


def with_ratios(row, samples):
    """``row`` with oci-runtime's ratio to runc and to crun (vs_runc, vs_crun) where measured."""
    for other in ("runc", "crun"):
        value = ratio(samples, "oci-runtime", other)
        if value is not None:
            row["vs_" + other] = value
    return row


def summarise(raw, runtime_names):
    rows = []

    def add(label, samples, unit="ms", scale=1000.0):
        row = {"label": label, "unit": unit,
               "median": {n: median(samples[n]) * scale for n in runtime_names if n in samples}}
        rows.append(with_ratios(row, samples))

    add("run /bin/true", raw["run"])
    add("create, start, state until stopped, delete", raw["lifecycle"])
    add(f"{raw['counts']['sequential']} containers one after another (create+start+delete)",
        raw["sequential"], "s", 1.0)
    add(f"{raw['counts']['concurrent']} containers at once (create+start+delete)",
        raw["concurrent"], "s", 1.0)
    for command in ("create", "state", "start", "kill", "delete"):
        add(f"`{command}` alone", {n: raw["commands"][n][command] for n in runtime_names})
    add(f"`state` with {raw['counts']['many']} containers in the root", raw["many"]["state"])
    add(f"`list` with {raw['counts']['many']} containers in the root", raw["many"]["list"])
    rss_rows = []
    for label, samples in [
        (f"`{c}` (ru_maxrss)", {n: raw["rss"][n][c] for n in runtime_names})
        for c in ("run", "create", "state", "start", "kill", "delete")
    ] + [("waiting process of a created container (VmRSS)", raw["waiting_rss"])]:
        rss_rows.append({"label": label, "unit": "MiB",
                         "median": {n: median(samples[n]) / 1024 for n in runtime_names}})
    floor = median(raw["floor"]) * 1000
    vs_floor = {}
    if "oci-runtime" in runtime_names:
        ours = raw["commands"]["oci-runtime"]
        for command in ("state", "start", "kill"):
            if "floor" in ours:  # the floor of the same round: the median of per-round ratios
                vs_floor[command] = median([a / b for a, b in zip(ours[command], ours["floor"])])
            else:
                vs_floor[command] = median(ours[command]) * 1000 / floor
    summary = {"rows": rows, "rss_rows": rss_rows, "floor_ms": floor, "vs_floor": vs_floor}
    if "run_parts" in raw:
        parts = raw["run_parts"]
        summary["run_parts"] = [
            {"label": label, "ms": median(parts[key]) * 1000,
             "vs_runc": median([a / b for a, b in zip(parts[key], parts["runc"])])}
            for key, label in (("start", "the interpreter's start (no finalisation)"),
                               ("imports", "the interpreter's start and the imports of `run`"),
                               ("oci-runtime", "oci-runtime `run` /bin/true"),
                               ("runc", "runc `run` /bin/true"))]
    return summary


def summarise_seccomp(seccomp, runtime_names):
    """Rows for the seccomp table: medians of each phase, and the profile's cost as the median of
    the per-round differences to the same round's run without a profile."""
    times = seccomp["times"]
    rows = []

    def add(label, samples):
        row = {"label": label, "median": {n: median(samples[n]) * 1000 for n in runtime_names}}
        rows.append(with_ratios(row, samples))

    add("no profile", times["none"])
    add("Docker default profile, cold cache", times["cold"])
    add("Docker default profile, warm cache", times["warm"])
    for phase in ("cold", "warm"):
        differences = {n: [a - b for a, b in zip(times[phase][n], times["none"][n])]
                       for n in runtime_names}
        rows.append({"label": f"cost of the profile, {phase} cache",
                     "median": {n: median(differences[n]) * 1000 for n in runtime_names}})
    return {"rows": rows, "cache_entries": seccomp["cache_entries"]}


def summarise_netdev(times):
    differences = [a - b for a, b in zip(times["netdev"], times["none"])]
    return {"rows": [
        {"label": "`create` without networking", "median": median(times["none"]) * 1000},
        {"label": "`create` with one net device (a veth end in linux.netDevices)",
         "median": median(times["netdev"]) * 1000},
        {"label": "cost of the device (median of the per-round differences)",
         "median": median(differences) * 1000},
    ]}


def netdev_markdown(results):
    out = ["| oci-runtime | median |", "|---|---|"]
    out += [f"| {row['label']} | {row['median']:.1f} ms |" for row in results["netdev_summary"]["rows"]]
    return "\n".join(out) + "\n"


def summarise_api(api, runtime_names, count):
    """Rows for the API table: the CLI row of every runtime, and oci-runtime's API against the
    others' CLI (ratios: medians of the per-round ratios)."""
    rows = []
    for label, samples in (
            (f"{count} containers one after another, CLI", api["cli"]),
            (f"{count} containers one after another, oci-runtime through its Python API "
             "(runc, crun: CLI)", dict(api["cli"], **api["api"]))):
        row = {"label": label, "median": {n: median(samples[n]) for n in runtime_names}}
        rows.append(with_ratios(row, samples))
    if "oci-runtime" in api["api"]:
        rows[1]["api_vs_own_cli"] = statistics.median(
            a / c for a, c in zip(api["api"]["oci-runtime"], api["cli"]["oci-runtime"]) if c > 0)
    return {"rows": rows}


def _comparison_table(title, names, rows, value_format):
    """A markdown table: one row per measurement, a column per runtime, then the ratios."""
    out = [f"| {title} | " + " | ".join(names) + " | oci-runtime ÷ runc | oci-runtime ÷ crun |",
           "|" + "---|" * (len(names) + 3)]
    for row in rows:
        cells = [value_format.format(row["median"][n]) for n in names]
        cells.append(f"{row['vs_runc']:.2f}" if "vs_runc" in row else "–")
        cells.append(f"{row['vs_crun']:.2f}" if "vs_crun" in row else "–")
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return out


def api_markdown(results):
    summary = results["api_summary"]
    out = _comparison_table("create+start+wait+delete of /bin/true", results["runtimes"],
                            summary["rows"], "{:.2f} s")
    own = summary["rows"][1].get("api_vs_own_cli")
    if own is not None:
        out.append("")
        out.append(f"oci-runtime's API ÷ its own CLI: {own:.2f}.")
    return "\n".join(out) + "\n"


def seccomp_markdown(results):
    names = results["runtimes"]
    summary = results["seccomp_summary"]
    out = _comparison_table("create+start+delete of /bin/true", names, summary["rows"],
                            "{:.1f} ms")
    out.append("")
    out.append("Compiled filters found in the runtime's cache after the warm runs: " + ", ".join(
        f"{n} {summary['cache_entries'][n]}" for n in names) + ".")
    return "\n".join(out) + "\n"


def targets(summary):
    """Issue 26's: `run` at parity with runc, the lifecycle within 1.1x, `delete` within 1.3x,
    each hot command within 1.15x of the interpreter's bare start."""
    by_label = {row["label"]: row for row in summary["rows"]}
    run = by_label["run /bin/true"]
    life = by_label["create, start, state until stopped, delete"]
    delete = by_label["`delete` alone"]
    waiting = summary["rss_rows"][-1]["median"].get("oci-runtime")
    checks = [
        ("run ≤ 1.0× runc", run.get("vs_runc"), 1.0),
        ("create/start/state/delete ≤ 1.1× runc", life.get("vs_runc"), 1.1),
        ("`delete` ≤ 1.3× runc", delete.get("vs_runc"), 1.3),
    ]
    for command in ("state", "start", "kill"):
        checks.append((f"`{command}` ≤ 1.15× `python -I -S -c pass`",
                       summary["vs_floor"].get(command), 1.15))
    checks.append(("waiting process ≤ 12 MiB RSS", waiting, 12.0))
    return [{"target": t, "value": v, "limit": limit,
             "met": None if v is None else v <= limit} for t, v, limit in checks]


def markdown(results):
    names = results["runtimes"]
    summary = results["summary"]
    out = []
    header = "| measurement | " + " | ".join(names) + " | oci-runtime ÷ runc | oci-runtime ÷ crun |"
    out.append(header)
    out.append("|" + "---|" * (len(names) + 3))
    for row in summary["rows"]:
        cells = [f"{row['median'].get(n, float('nan')):.{1 if row['unit'] == 'ms' else 2}f}"
                 f" {row['unit']}" for n in names]
        cells.append(f"{row['vs_runc']:.2f}" if "vs_runc" in row else "–")
        cells.append(f"{row['vs_crun']:.2f}" if "vs_crun" in row else "–")
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| peak memory | " + " | ".join(names) + " |")
    out.append("|" + "---|" * (len(names) + 1))
    for row in summary["rss_rows"]:
        out.append(f"| {row['label']} | "
                   + " | ".join(f"{row['median'][n]:.1f} MiB" for n in names) + " |")
    out.append("")
    out.append(f"Floor: `{results['python']} -I -S -c pass` = {summary['floor_ms']:.1f} ms.")
    out.append("")
    if summary.get("run_parts"):
        out.append("| where `run` goes (same rounds) | median | ÷ runc's `run` |")
        out.append("|---|---|---|")
        for part in summary["run_parts"]:
            out.append(f"| {part['label']} | {part['ms']:.1f} ms | {part['vs_runc']:.2f} |")
        out.append("")
    if summary["vs_floor"]:
        out.append("oci-runtime per command ÷ floor: " + ", ".join(
            f"`{c}` {v:.2f}×" for c, v in summary["vs_floor"].items()) + ".")
    out.append("")
    out.append("| target | value | met |")
    out.append("|---|---|---|")
    for check in results["targets"]:
        value = "–" if check["value"] is None else f"{check['value']:.2f}"
        met = "n/a" if check["met"] is None else ("yes" if check["met"] else "**no**")
        out.append(f"| {check['target']} | {value} | {met} |")
    return "\n".join(out) + "\n"


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = results["runtimes"]
    rows = [r for r in results["summary"]["rows"] if r["unit"] == "ms"]
    figure, axis = plt.subplots(figsize=(10, 5.5))
    width = 0.8 / len(names)
    for offset, name in enumerate(names):
        values = [r["median"].get(name, 0) for r in rows]
        axis.barh([i + offset * width for i in range(len(rows))], values, width, label=name)
    axis.axvline(results["summary"]["floor_ms"], color="grey", linestyle="--",
                 label="python -I -S -c pass")
    axis.set_yticks([i + width * (len(names) - 1) / 2 for i in range(len(rows))])
    axis.set_yticklabels([r["label"].replace("`", "") for r in rows], fontsize=8)
    axis.invert_yaxis()
    axis.set_xlabel("median wall time per invocation (ms)")
    axis.set_title("oci-runtime vs runc vs crun")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


def write_docs(results, table):
    docs = os.path.join(REPO, "docs")
    path = os.path.join(docs, "performance.md")
    image = os.path.join(docs, "performance.png")
    plotted = plot(results, image)
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    block = [begin, "",
             f"Run of {results['date']} ({results['mode']} mode, "
             f"{results['raw']['counts']['rounds']} alternating rounds, "
             f"{results['duration_s']:.0f} s"
             + (", load average {:.1f} at the start, {:.1f} at the end".format(*results["load"])
                if results.get("load") else "") + "), "
             f"Linux {results['kernel']}, {results['cpus']} CPUs; "
             + ", ".join(f"{n}: {v}" for n, v in results["versions"].items()) + ".", "", table]
    if plotted:
        block += ["![median times](performance.png)", ""]
    block.append(end)
    text = open(path).read() if os.path.exists(path) else f"# Performance\n\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    with open(path, "w") as handle:
        handle.write(head + "\n".join(block) + tail)


def write_section_docs(results, marker, title, rounds, table):
    """Rewrite only the ``marker`` block of docs/performance.md (appended as its own section,
    ``title``, the first time), leaving every other section as it is."""
    path = os.path.join(REPO, "docs", "performance.md")
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    block = "\n".join([
        begin, "",
        f"Run of {results['date']} ({results['mode']} mode, "
        f"{rounds} rounds), Linux {results['kernel']}, "
        f"{results['cpus']} CPUs; " + ", ".join(f"{n}: {v}" for n, v in results["versions"].items())
        + ".", "", table, end])
    text = open(path).read()
    if begin in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n" + block + "\n"
    with open(path, "w") as handle:
        handle.write(text)
