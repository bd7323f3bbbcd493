"""The engine (src/engine/engine.c) as `ferry daemon` runs it: it waits for
the network before it sends, sends what waited the moment the network comes
back, retries temporary failures on the configured backoff, and pauses its
retries while offline. Its sync scheduler (src/engine/sync-scheduler.c)
syncs the folders when the network comes back and when asked on D-Bus.

The network is real: the test runs in a network namespace of its own, where
adding and removing the default route is what joining and leaving a Wi-Fi
network does to GNetworkMonitor."""

import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from desktop_session import SessionBus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import EX_OK, FERRY, FerryEnv, make_message, wait_until  # noqa: E402
from smtp_server import SmtpServer  # noqa: E402

EX_SKIP = 77  # meson's "skipped"


def enter_network_namespace():
    """Re-runs this script in a new network namespace with only loopback."""
    if os.environ.get("FERRY_TEST_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    unshare = [shutil.which("unshare") or "/usr/bin/unshare", "--net"]
    if os.geteuid() != 0:
        unshare.append("--map-root-user")
    probe = subprocess.run(unshare + ["--", "true"], capture_output=True)
    if probe.returncode != 0:
        print("cannot create a network namespace here:", probe.stderr.decode().strip())
        sys.exit(EX_SKIP)
    argv = unshare + ["--", sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
    os.execve(argv[0], argv, dict(os.environ, FERRY_TEST_NETNS="1"))


def set_network(available):
    present = subprocess.run(["ip", "route", "show", "default"], capture_output=True,
                             check=True).stdout.strip() != b""
    if available and not present:
        subprocess.run(["ip", "route", "add", "default", "dev", "lo"], check=True)
    elif present and not available:
        subprocess.run(["ip", "route", "del", "default"], check=True)


class Daemon:
    """`ferry daemon` with its output lines, each with the time it came."""

    def __init__(self, env):
        self.process = subprocess.Popen([FERRY, "daemon"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.decode().rstrip("\n")))

    def wait_for_line(self, needle, count=1, timeout=20):
        return wait_until(lambda: len(self.matching(needle)) >= count, timeout=timeout)

    def matching(self, needle):
        return [(when, text) for when, text in self.lines if needle in text]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        self.process.stdout.close()
        return self.process.returncode


class EngineTest(unittest.TestCase):
    def setUp(self):
        set_network(False)
        self.env = FerryEnv()
        self.bus = SessionBus(self.env.env)
        self.server = None
        self.daemon = None

    def tearDown(self):
        if self.daemon is not None and self.daemon.process.poll() is None:
            self.daemon.stop()
        if self.server is not None:
            self.server.stop()
        self.bus.stop()
        self.env.cleanup()
        set_network(False)

    def start(self, retry_intervals="1", **server_options):
        self.server = SmtpServer(self.env.path("smtp"), **server_options)
        self.env.smtp_config(self.server, general=f"send-after-queue = never\n"
                                                  f"retry-intervals = {retry_intervals}\n")

    def queue_message(self, n):
        result = self.env.sendmail("-oi", "-f", "me@example.org", "--", "bob@example.org",
                                   input=make_message(n))
        self.assertEqual(result.returncode, EX_OK, result.stderr)

    def start_daemon(self):
        self.daemon = Daemon(self.bus.env)
        self.assertTrue(self.daemon.wait_for_line("engine running"), self.daemon.lines)

    def test_waits_for_the_network_then_sends(self):
        self.start()
        self.queue_message(1)
        self.start_daemon()
        time.sleep(1.5)
        self.assertEqual(self.server.transactions(), 0)
        self.assertEqual(self.env.queue()[0]["attempts"], 0)

        set_network(True)
        came_back = time.monotonic()
        self.assertTrue(self.daemon.wait_for_line(": sent ("), self.daemon.lines)
        self.assertLess(self.daemon.matching(": sent (")[0][0] - came_back, 5)
        self.assertTrue(self.daemon.matching("network available"))
        self.assertEqual(len(self.server.received()), 1)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(self.env.queue()[0]["state"], "sent")

    def test_retries_on_the_backoff(self):
        self.start(retry_intervals="2s;3s", data_replies=["451 4.3.0 Try again later",
                                                          "452 4.3.1 Still busy"])
        set_network(True)
        self.queue_message(2)
        self.start_daemon()
        self.assertTrue(self.daemon.wait_for_line(": sent (", timeout=30), self.daemon.lines)
        deferred = self.daemon.matching(": deferred: ")
        sent = self.daemon.matching(": sent (")
        self.assertEqual(len(deferred), 2, self.daemon.lines)
        self.assertIn("451 4.3.0 Try again later", deferred[0][1])
        self.assertIn("452 4.3.1 Still busy", deferred[1][1])
        # g_timeout_add_seconds() may fire up to a second early or late.
        self.assertGreaterEqual(deferred[1][0] - deferred[0][0], 1.0)
        self.assertGreaterEqual(sent[0][0] - deferred[1][0], 2.0)
        self.assertLess(sent[0][0] - deferred[0][0], 10)
        self.assertEqual(self.server.transactions(), 3)
        self.assertEqual(len(self.server.received()), 1)
        self.assertEqual(self.env.queue()[0]["attempts"], 3)

    def test_offline_pauses_retries(self):
        self.start(retry_intervals="2s", data_replies=["451 4.3.0 Try again later"])
        set_network(True)
        self.queue_message(3)
        self.start_daemon()
        self.assertTrue(self.daemon.wait_for_line(": deferred: "), self.daemon.lines)
        set_network(False)
        self.assertTrue(self.daemon.wait_for_line("network unavailable"), self.daemon.lines)
        time.sleep(4)
        self.assertEqual(self.server.transactions(), 1)

        set_network(True)
        came_back = time.monotonic()
        self.assertTrue(self.daemon.wait_for_line(": sent ("), self.daemon.lines)
        self.assertLess(self.daemon.matching(": sent (")[0][0] - came_back, 5)
        self.assertEqual(self.server.transactions(), 2)
        self.assertEqual(len(self.server.received()), 1)


class SyncEngineTest(unittest.TestCase):
    def setUp(self):
        set_network(False)
        self.env = FerryEnv()
        self.bus = SessionBus(self.env.env)
        self.server = DovecotServer(self.env.path("dovecot"))
        self.maildir = self.env.path("Mail")
        password_file = self.env.write_file("imap-password", self.server.password + "\n")
        self.env.write_config(
            "[general]\nsync-interval = 0\n\n[account personal]\n"
            f"imap-host = {self.server.tls_host}\nimap-port = {self.server.imap_port}\n"
            f"imap-security = starttls\nimap-ca-file = {self.server.ca_file}\n"
            f"imap-user = {self.server.user}\npassword-command = cat {password_file}\n"
            f"maildir = {self.maildir}\n")
        self.daemon = None

    def tearDown(self):
        if self.daemon is not None and self.daemon.process.poll() is None:
            self.daemon.stop()
        self.server.stop()
        self.bus.stop()
        self.env.cleanup()
        set_network(False)

    def local_message_ids(self, folder="INBOX"):
        found = set()
        for sub in ("cur", "new"):
            directory = os.path.join(self.maildir, folder, sub)
            for name in os.listdir(directory) if os.path.isdir(directory) else ():
                with open(os.path.join(directory, name), "rb") as f:
                    for line in f:
                        if line.lower().startswith(b"message-id:"):
                            found.add(line.split(b":", 1)[1].strip().decode())
                            break
        return found

    def test_syncs_when_the_network_comes_back(self):
        self.server.append("INBOX", make_message(1))
        self.daemon = Daemon(self.bus.env)
        self.assertTrue(self.daemon.wait_for_line("engine running"), self.daemon.lines)
        time.sleep(1.5)
        self.assertEqual(self.local_message_ids(), set(), "no sync while offline")

        set_network(True)
        self.assertTrue(self.daemon.wait_for_line("personal: synced"), self.daemon.lines)
        self.assertIn("1 fetched", self.daemon.matching("personal: synced")[0][1])
        self.assertEqual(self.local_message_ids(), {f"<test-1-{os.getpid()}@example.org>"})

    def test_sync_now_on_dbus(self):
        set_network(True)
        self.daemon = Daemon(self.bus.env)
        self.assertTrue(self.daemon.wait_for_line("personal: synced"), self.daemon.lines)
        self.server.append("INBOX", make_message(2))
        action = subprocess.run(["gapplication", "action", "io.github.ferrymail.Ferry",
                                 "sync-now"], env=self.bus.env, capture_output=True, timeout=30)
        self.assertEqual(action.returncode, 0, action.stderr)
        self.assertTrue(self.daemon.wait_for_line("personal: synced", count=2), self.daemon.lines)
        self.assertIn("1 fetched", self.daemon.matching("personal: synced")[1][1])
        self.assertEqual(self.local_message_ids(), {f"<test-2-{os.getpid()}@example.org>"})

    def test_failure_is_logged(self):
        self.server.stop()
        set_network(True)
        self.daemon = Daemon(self.bus.env)
        self.assertTrue(self.daemon.wait_for_line("personal: sync failed"), self.daemon.lines)


if __name__ == "__main__":
    enter_network_namespace()
    unittest.main(verbosity=2)
