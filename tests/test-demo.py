"""`ferry demo`, as the README's run command shows it to a user with no
configuration: its own Dovecot and SMTP server, a sync into a Maildir, a
message queued and delivered, a flag changed on each side and synced
again. The demo must show each step, leave no server running and no
directory behind (unless --keep), and touch nothing of the user's."""

import os
import re
import select
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from ferry_env import EX_OK, EX_UNAVAILABLE, FERRY, FerryEnv, wait_until  # noqa: E402

STEPS = [
    "Starting Dovecot, an IMAP server with STARTTLS, on 127.0.0.1",
    "Starting an SMTP server with STARTTLS on 127.0.0.1 (aiosmtpd)",
    "Filling the IMAP server with mail",
    "A configuration for both servers",
    "Syncing the server's folders into a new Maildir",
    "The Maildir, as mutt sees it",
    "mutt hands a message to ferry-sendmail, which queues it and returns at once",
    "Delivering the queue (what the engine does when the network is there)",
    "What the SMTP server received (Bcc removed from the message, kept in the envelope)",
    "A flag changed on each side",
    "Syncing again: each change crosses to the other side",
    "Both changes crossed",
    "Where to look",
]
TIMEOUT = 60

# A configuration of the user's own, which the demo must neither use nor change.
USER_CONFIG = """[account personal]
addresses = me@example.org
maildir = ~/Mail
imap-host = 127.0.0.1
imap-port = 1
smtp-host = 127.0.0.1
smtp-port = 1
"""


def snapshot(top):
    """Every path under top with its contents (None for directories)."""
    found = {}
    for root, dirs, files in os.walk(top):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), top)] = None
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, top)] = f.read()
    return found


def live_processes(markers):
    """(pid, command line) of every process that is not a zombie and whose
    command line holds one of markers (bytes)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ")
        except (OSError, IndexError):
            continue
        if state != b"Z" and any(m in cmdline for m in markers):
            found.append((int(pid), cmdline.decode(errors="replace")))
    return found


class DemoTest(unittest.TestCase):
    def setUp(self):
        self.env = FerryEnv()
        self.tmpdir = self.env.path("tmp")
        # Traversable, as Dovecot runs as another user when the test is root.
        os.mkdir(self.tmpdir, 0o755)
        self.env.env["TMPDIR"] = self.tmpdir
        self.env.write_config(USER_CONFIG)
        self.user_files_before = self.user_files()

    def user_files(self):
        """What the demo must leave alone: the user's HOME (XDG config,
        data, state and cache dirs in it) and runtime directory."""
        return snapshot(self.env.home), snapshot(self.env.runtime_dir)

    def tearDown(self):
        self.env.cleanup()

    def start_demo(self, *args, env=None):
        return subprocess.Popen([FERRY, "demo", *args], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env or self.env.env)

    def read_until(self, demo, text, timeout=TIMEOUT):
        """The demo's output up to and including text (bytes)."""
        out = b""
        deadline = time.monotonic() + timeout
        while text not in out:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, f"no {text!r} in time; so far:\n{out.decode()}")
            ready, _, _ = select.select([demo.stdout], [], [], left)
            if ready:
                chunk = os.read(demo.stdout.fileno(), 65536)
                self.assertTrue(chunk, f"output ended before {text!r}:\n{out.decode()}")
                out += chunk
        return out

    @staticmethod
    def demo_dir(output):
        return re.search(r"everything happens in (\S+)", output).group(1)

    @staticmethod
    def markers(output):
        """What the demo's processes show in their command lines: its
        directory (Dovecot's master, the SMTP server) and Dovecot's
        instance name (its services)."""
        markers = [DemoTest.demo_dir(output).encode()]
        port = re.search(r"listening on port (\d+), user demo", output)
        if port:
            markers.append(f"ferry-demo-{port.group(1)}/".encode())
        return markers

    def assert_cleaned_up(self, output, directory_kept=False):
        self.assertTrue(wait_until(lambda: not live_processes(self.markers(output)), timeout=10),
                        live_processes(self.markers(output)))
        if directory_kept:
            self.assertEqual(os.listdir(self.tmpdir), [os.path.basename(self.demo_dir(output))])
        else:
            self.assertEqual(os.listdir(self.tmpdir), [])
        self.assertEqual(self.user_files(), self.user_files_before)

    def test_shows_every_step_and_leaves_nothing(self):
        started = time.monotonic()
        result = self.env.run([FERRY, "demo"], timeout=TIMEOUT)
        out, err = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_OK, out + err)
        self.assertLess(time.monotonic() - started, 30)

        titles = re.findall(r"^==> (.*)$", out, re.M)
        self.assertEqual(titles, STEPS)
        sections = dict(zip(STEPS, re.split(r"^==> .*$", out, flags=re.M)[1:]))
        directory = self.demo_dir(out)

        if os.geteuid() == 0:
            self.assertIn("runs as the system user ferry-demo", sections[STEPS[0]])
        self.assertIn("INBOX messages=14 unseen=5", sections["Filling the IMAP server with mail"])

        config = sections["A configuration for both servers"]
        self.assertIn("imap-security = starttls", config)
        self.assertIn(f"password-command = cat '{directory}/password'", config)
        self.assertNotRegex(out, r"\b[0-9a-f]{32}\b")

        first_sync = sections["Syncing the server's folders into a new Maildir"]
        self.assertIn("36 fetched", first_sync)
        tree = sections["The Maildir, as mutt sees it"]
        for folder, count in (("INBOX", 14), ("Archive", 10), ("Lists/ferry-devel", 8),
                              ("Sent", 4)):
            self.assertRegex(tree, rf"(?m)^  {re.escape(folder)} +{count} messages")

        received = sections[STEPS[8]]
        self.assertIn("X-RcptTo: friend@ferry.test, archive@ferry.test", received)
        self.assertNotIn("Bcc:", received)
        self.assertIn("1 sent, 0 deferred, 0 failed", sections[STEPS[7]])

        changes = sections["A flag changed on each side"]
        self.assertRegex(changes, r"\$ mv \S+/Mail/cur/\S+:2,S \S+/Mail/cur/\S+:2,FS\n")
        self.assertRegex(changes, r"doveadm .* flags add -u demo '\\Seen' mailbox INBOX")
        self.assertIn("demo: INBOX: 0 fetched, 0 uploaded, 2 flag changes",
                      sections["Syncing again: each change crosses to the other side"])
        crossed = sections["Both changes crossed"]
        self.assertRegex(crossed, r"now carries S \(seen\):\n  \S+/Mail/cur/\S+:2,S\n")
        self.assertRegex(crossed, r"(?m)^flags: .*\\Flagged")

        self.assertIn(f"mutt -f {directory}/Mail\n", out)
        self.assertIn("is removed when the demo ends", out)
        self.assert_cleaned_up(out)

    def test_keep_keeps_the_directory_and_the_servers_until_enter(self):
        demo = self.start_demo("--keep")
        try:
            out = self.read_until(demo, b"Press Enter to stop the servers.").decode()
            directory = self.demo_dir(out)
            # While it waits, Dovecot (master and services) and the SMTP server run ...
            self.assertGreaterEqual(len(live_processes(self.markers(out))), 5,
                                    live_processes(self.markers(out)))
            # ... and the command it suggests syncs against them.
            suggested = re.search(r"in another terminal, try\n  (.*)\n", out).group(1)
            sync = subprocess.run(suggested, shell=True, capture_output=True, env=self.env.env,
                                  timeout=TIMEOUT)
            self.assertEqual(sync.returncode, EX_OK, sync.stdout + sync.stderr)
            self.assertIn(b"demo: INBOX: up to date", sync.stdout)
            rest, err = demo.communicate(b"\n", timeout=TIMEOUT)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
        self.assertEqual(demo.returncode, EX_OK, out + rest.decode() + err.decode())
        self.assertTrue(os.path.isdir(os.path.join(directory, "Mail", "Lists", "ferry-devel",
                                                   "cur")))
        with open(os.path.join(directory, "password"), "rb") as f:
            password = f.read().strip()
        self.assertNotIn(password, out.encode() + rest + err)
        self.assert_cleaned_up(out, directory_kept=True)

    def test_interrupt_stops_the_servers_and_removes_the_directory(self):
        demo = self.start_demo()
        try:
            out = self.read_until(demo, b"==> Syncing the server's folders").decode()
            demo.send_signal(signal.SIGINT)
            rest, err = demo.communicate(timeout=TIMEOUT)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
        self.assertEqual(demo.returncode, 128 + signal.SIGINT, out + rest.decode() + err.decode())
        self.assertIn(b"demo interrupted; the servers are stopped", err)
        self.assertNotIn(b"==> Where to look", rest)
        self.assert_cleaned_up(out)

    def test_a_failing_step_is_named_and_cleaned_up(self):
        env = dict(self.env.env, PATH="/nonexistent")  # no openssl for the certificate
        result = self.env.run([FERRY, "demo"], env=env, timeout=TIMEOUT)
        out, err = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_UNAVAILABLE, out + err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertRegex(err, r"^ferry: demo step “Starting Dovecot, .*” failed: .*openssl")
        self.assert_cleaned_up(out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
