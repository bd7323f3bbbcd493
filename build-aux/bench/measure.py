# Copyright 2026 The Ferry authors
# SPDX-License-Identifier: GPL-2.0-or-later
"""One timed run of a sync tool, and what it cost on both sides.

  wall_s          fork to exit (time.perf_counter)
  user_s, sys_s   CPU of the tool and its children (os.wait4 rusage of GNU
                  time, which waits for the tool; time itself costs ~1 ms)
  maxrss_kb       peak RSS of the largest process of the tool, GNU time's %M
                  (not ru_maxrss of a child of this Python process, which
                  would start at this process's own size)
  server_out_b    bytes Dovecot sent in the run's IMAP sessions, and
  server_in_b     what it received: the "in=.. out=.." of each session's
                  "Disconnected" line in Dovecot's log, for the sessions
                  that logged in during the run (IMAP after login, before
                  TLS; greeting, CAPABILITY, STARTTLS and LOGIN are not in it)
  sessions        how many sessions logged in
"""

import dataclasses
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

GNU_TIME = "/usr/bin/time"
LOGIN = re.compile(r"imap-login: Info: Login: .*\bsession=<([^>]+)>")
DISCONNECTED = re.compile(r"imap\([^)]*\)<\d+><([^>]+)>: Info: .*\bin=(\d+) out=(\d+)")
LOG_WAIT_SECONDS = 5.0


@dataclasses.dataclass
class Run:
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_kb: int
    rc: int
    timed_out: bool
    sessions: int = 0
    server_in_b: int = 0
    server_out_b: int = 0
    unfinished_sessions: int = 0


def _sessions(log_path, offset):
    with open(log_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    logins, ended = set(), {}
    for line in text.splitlines():
        m = LOGIN.search(line)
        if m:
            logins.add(m.group(1))
            continue
        m = DISCONNECTED.search(line)
        if m:
            ended[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return logins, ended


def _peak_rss_kb(path):
    with open(path) as f:
        lines = f.read().split()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


def run(argv, env, log_file, server_log, timeout):
    """Runs argv (stdout and stderr appended to log_file) and returns a Run.
    After timeout seconds its process group is killed (SIGKILL: a tool
    stuck in a read may ignore SIGTERM)."""
    offset = os.path.getsize(server_log)
    fd, rss_path = tempfile.mkstemp(prefix="bench-rss.")
    os.close(fd)
    timed_out = threading.Event()
    try:
        with open(log_file, "ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            started = time.perf_counter()
            child = subprocess.Popen([GNU_TIME, "-o", rss_path, "-f", "%M", "--"] + argv,
                                     env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)

            def kill():
                timed_out.set()
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            timer = threading.Timer(timeout, kill)
            timer.start()
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
            timer.cancel()
            child.returncode = os.waitstatus_to_exitcode(status)
        result = Run(round(wall, 4), round(usage.ru_utime, 4), round(usage.ru_stime, 4),
                     _peak_rss_kb(rss_path), child.returncode, timed_out.is_set())
    finally:
        os.unlink(rss_path)
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        logins, ended = _sessions(server_log, offset)
        if logins <= set(ended) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    result.sessions = len(logins)
    result.server_in_b = sum(ended[s][0] for s in logins if s in ended)
    result.server_out_b = sum(ended[s][1] for s in logins if s in ended)
    result.unfinished_sessions = len(logins - set(ended))
    return result
