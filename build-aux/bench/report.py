# Copyright 2026 The Ferry authors
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench-sync's results: the table of medians, the ratios of Ferry to the
others, and a TSV line for every run."""

import statistics

PHASES = {
    "initial": "initial full sync",
    "noop": "no-change resync",
    "mutation": "resync after mutation",
}
TSV_FIELDS = ("contender", "rep", "phase", "link", "wall_s", "user_s", "sys_s", "maxrss_kb",
              "server_out_b", "server_in_b", "sessions", "unfinished_sessions",
              "proxy_to_client_b", "rc", "timed_out", "verified", "problems")


def seconds(value):
    if value < 1:
        return f"{value:.3f}"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def megabytes(value):
    mb = value / 1e6
    return f"{mb:.3f}" if mb < 1 else f"{mb:.2f}" if mb < 10 else f"{mb:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "n/a"


def _group(records, contenders):
    groups = {}
    for c in contenders:
        for phase in PHASES:
            runs = [r for r in records if r["contender"] == c and r["phase"] == phase]
            if runs:
                groups[(c, phase)] = runs
    return groups


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def results_table(records, contenders):
    lines = ["| contender | phase | n | median wall s | min–max s | user s | sys s "
             "| peak RSS MB | MB from server |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (c, phase), runs in _group(records, contenders).items():
        good = [r for r in runs if r["ok"]]
        failed = len(runs) - len(good)
        n = f"{len(runs)}" + (f" ({failed} FAILED)" if failed else "")
        walls = [r["wall_s"] for r in runs]
        lines.append(
            f"| {c} | {PHASES[phase]} | {n} | {seconds(_median(runs, 'wall_s'))} "
            f"| {seconds(min(walls))}–{seconds(max(walls))} | {seconds(_median(runs, 'user_s'))} "
            f"| {seconds(_median(runs, 'sys_s'))} | {_median(runs, 'maxrss_kb') / 1024:.1f} "
            f"| {megabytes(_median(runs, 'server_out_b'))} |")
    return "\n".join(lines)


def ratios_table(records, contenders):
    """Ferry's medians divided by mbsync's (above 1: Ferry takes more),
    with Ferry's wall time against OfflineIMAP's beside them."""
    groups = _group(records, contenders)
    others = [c for c in contenders if c.startswith("offlineimap")]
    head = ("| phase | ferry wall s | mbsync wall s | wall ferry ÷ mbsync | CPU ferry ÷ mbsync "
            "| peak RSS ferry ÷ mbsync | MB from server ferry ÷ mbsync |"
            + "".join(f" wall ferry ÷ {o} |" for o in others))
    lines = [head, "|---" * (7 + len(others)) + "|"]
    for phase, label in PHASES.items():
        ferry, mbsync = groups.get(("ferry", phase)), groups.get(("mbsync", phase))
        if not ferry or not mbsync:
            continue

        def cpu(runs):
            return statistics.median(r["user_s"] + r["sys_s"] for r in runs)
        row = (f"| {label} | {seconds(_median(ferry, 'wall_s'))} "
               f"| {seconds(_median(mbsync, 'wall_s'))} "
               f"| {ratio(_median(ferry, 'wall_s'), _median(mbsync, 'wall_s'))} "
               f"| {ratio(cpu(ferry), cpu(mbsync))} "
               f"| {ratio(_median(ferry, 'maxrss_kb'), _median(mbsync, 'maxrss_kb'))} "
               f"| {ratio(_median(ferry, 'server_out_b'), _median(mbsync, 'server_out_b'))} |")
        for o in others:
            theirs = groups.get((o, phase))
            row += (f" {ratio(_median(ferry, 'wall_s'), _median(theirs, 'wall_s'))} |"
                    if theirs else " n/a |")
        lines.append(row)
    return "\n".join(lines)


def tsv(records):
    rows = ["\t".join(TSV_FIELDS)]
    for r in records:
        rows.append("\t".join(str(r.get(k, "")).replace("\t", " ") for k in TSV_FIELDS))
    return "\n".join(rows) + "\n"
