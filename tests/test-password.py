"""Passwords from the keyring: `ferry password set|check|clear` against a
real gnome-keyring in a private session bus, delivery that logs in with the
stored password, and the failures a user meets (no bus, no Secret Service,
a locked keyring, a wrong or missing password). A password must never show
up in argv, the environment of a process, output, or the spool."""

import os
import pty
import resource
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from desktop_session import Keyring, SessionBus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import (EX_NOPERM, EX_OK, EX_TEMPFAIL, EX_UNAVAILABLE, FERRY,  # noqa: E402
                       FerryEnv, make_message)
from imap_script_server import ImapScriptServer  # noqa: E402
from smtp_server import SmtpServer  # noqa: E402


def processes_showing(secret):
    """PIDs whose command line or environment holds @secret."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as f:
                    if secret in f.read():
                        found.append((pid, part))
            except OSError:
                pass
    return found


class PasswordTest(unittest.TestCase):
    def setUp(self):
        self.env = FerryEnv()
        self.server = SmtpServer(self.env.path("smtp"))
        self.password = self.server.auth[1]
        self.env.smtp_config(self.server, password_from="keyring")
        self.bus = SessionBus(self.env.env)
        self.keyring = None

    def tearDown(self):
        if self.keyring is not None:
            self.keyring.stop()
        self.bus.stop()
        self.server.stop()
        self.env.cleanup()

    def start_keyring(self):
        self.keyring = Keyring(self.bus)

    def ferry(self, *args, input=None, env=None):
        return self.env.ferry(*args, input=input, env=env or self.bus.env)

    def set_password(self, password, *args):
        result = self.ferry("password", "set", "personal", *args, input=password.encode() + b"\n")
        self.assertEqual(result.returncode, EX_OK, result.stderr)
        self.assertNotIn(password.encode(), result.stdout + result.stderr)
        return result

    def secret_tool_lookup(self, service):
        return subprocess.run(["secret-tool", "lookup", "account", "personal", "service", service],
                              capture_output=True, env=self.bus.env)

    def queue_message(self, n):
        result = self.env.sendmail("-oi", "-f", "me@example.org", "--", "bob@example.org",
                                   input=make_message(n), env=self.bus.env)
        self.assertEqual(result.returncode, EX_OK, result.stderr)

    def only_entry(self):
        entries = self.env.queue()
        self.assertEqual(len(entries), 1)
        return entries[0]

    def assert_spool_free_of(self, secret):
        for root, dirs, files in os.walk(self.env.outbox):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(secret, f.read(), name)


class KeyringTest(PasswordTest):
    def setUp(self):
        super().setUp()
        self.start_keyring()

    def test_set_from_stdin_then_deliver(self):
        result = self.set_password(self.password)
        self.assertIn(b"Stored the smtp password of account personal", result.stdout)
        seen = self.secret_tool_lookup("smtp")
        self.assertEqual(seen.stdout.decode(), self.password)

        check = self.ferry("password", "check", "personal")
        self.assertEqual(check.returncode, EX_OK, check.stderr)
        self.assertIn(b"comes from the keyring", check.stdout)
        self.assertNotIn(self.password.encode(), check.stdout + check.stderr)

        self.queue_message(1)
        flusher = subprocess.Popen([FERRY, "queue", "flush"], env=self.bus.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        exposed = []
        while flusher.poll() is None:
            exposed += processes_showing(self.password.encode())
        out, err = flusher.communicate()
        self.assertEqual(flusher.returncode, EX_OK, err)
        self.assertEqual(exposed, [])
        self.assertNotIn(self.password.encode(), out + err)
        self.assertEqual(len(self.server.received()), 1)
        self.assertEqual([user for mechanism, user in self.server.auth_seen()], ["ferry"])
        self.assert_spool_free_of(self.password.encode())

    def test_set_on_a_terminal_does_not_echo(self):
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(FERRY, [FERRY, "password", "set", "personal", "smtp"], self.bus.env)
        output = b""
        while b"Password: " not in output:
            output += os.read(fd, 1024)
        os.write(fd, self.password.encode() + b"\n")
        try:
            while True:
                chunk = os.read(fd, 1024)
                if not chunk:
                    break
                output += chunk
        except OSError:
            pass
        status = os.waitpid(pid, 0)[1]
        os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), EX_OK, output)
        self.assertNotIn(self.password.encode(), output)
        self.assertIn(b"Stored the smtp password", output)
        self.assertEqual(self.secret_tool_lookup("smtp").stdout.decode(), self.password)

    def test_wrong_password_fails_without_revealing_it(self):
        self.set_password("not-the-right-one")
        self.queue_message(2)
        result = self.ferry("queue", "flush")
        self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stderr)
        entry = self.only_entry()
        self.assertEqual(entry["state"], "failed")
        self.assertIn("535", entry["last_reply"])
        listing = self.ferry("queue", "show", entry["id"])
        for text in (result.stdout, result.stderr, listing.stdout, entry["last_reply"].encode()):
            self.assertNotIn(b"not-the-right-one", text)
        self.assert_spool_free_of(b"not-the-right-one")

    def test_missing_password_names_the_fix(self):
        check = self.ferry("password", "check", "personal", "smtp")
        self.assertEqual(check.returncode, EX_NOPERM)
        self.assertIn(b"ferry password set personal smtp", check.stderr)

        self.queue_message(3)
        result = self.ferry("queue", "flush")
        self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stderr)
        entry = self.only_entry()
        self.assertEqual(entry["state"], "failed")
        self.assertIn("ferry password set personal smtp", entry["last_reply"])
        self.assertEqual(self.server.transactions(), 0)

        # Once the password is there, a retry delivers it.
        self.set_password(self.password)
        self.assertEqual(self.ferry("queue", "retry", entry["id"]).returncode, EX_OK)
        self.assertEqual(self.ferry("queue", "flush").returncode, EX_OK)
        self.assertEqual(len(self.server.received()), 1)

    def test_clear(self):
        self.set_password(self.password, "smtp")
        cleared = self.ferry("password", "clear", "personal", "smtp")
        self.assertEqual(cleared.returncode, EX_OK, cleared.stderr)
        self.assertIn(b"Removed the smtp password", cleared.stdout)
        self.assertNotEqual(self.secret_tool_lookup("smtp").returncode, 0)
        again = self.ferry("password", "clear", "personal", "smtp")
        self.assertEqual(again.returncode, EX_OK, again.stderr)
        self.assertIn(b"held no smtp password", again.stdout)

    def test_empty_password_is_refused(self):
        result = self.ferry("password", "set", "personal", input=b"\n")
        self.assertNotEqual(result.returncode, EX_OK)
        self.assertIn(b"no password given", result.stderr)
        self.assertNotEqual(self.secret_tool_lookup("smtp").returncode, 0)

    def test_locked_keyring_defers(self):
        self.set_password(self.password)
        self.keyring.lock()
        self.queue_message(4)
        result = self.ferry("queue", "flush")
        self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
        entry = self.only_entry()
        self.assertEqual(entry["state"], "queued")
        self.assertIn("locked", entry["last_reply"])
        self.assertEqual(self.server.transactions(), 0)


class NoKeyringTest(PasswordTest):
    def assert_keyring_unavailable(self, env, hint):
        result = self.ferry("password", "set", "personal", input=b"whatever\n", env=env)
        self.assertEqual(result.returncode, EX_UNAVAILABLE)
        self.assertIn(hint, result.stderr)
        self.assertIn(b"password-command", result.stderr)

        # Mail waits for the keyring instead of failing.
        self.queue_message(5)
        flushed = self.ferry("queue", "flush", env=env)
        self.assertEqual(flushed.returncode, EX_TEMPFAIL, flushed.stderr)
        entry = self.only_entry()
        self.assertEqual(entry["state"], "queued")
        self.assertIn("password-command", entry["last_reply"])

    def test_no_session_bus(self):
        env = dict(self.env.env, DISPLAY=":99")  # nothing may try to autolaunch a bus
        self.assert_keyring_unavailable(env, b"No session bus")

    def test_bus_without_secret_service(self):
        self.assert_keyring_unavailable(self.bus.env, b"gnome-keyring")


class SyncPasswordTest(PasswordTest):
    """The IMAP password from the keyring, through a sync with every debug
    message on: never in the output, argv or environment of a process, the
    state database, the Maildir or anything else Ferry wrote."""

    def setUp(self):
        super().setUp()
        self.start_keyring()
        self.dovecot = DovecotServer(self.env.path("dovecot"))
        self.addCleanup(self.dovecot.stop)
        mail_corpus.fill(self.dovecot, "INBOX", 20)
        account = self.env.dovecot_account(self.dovecot)
        account = "".join(line + "\n" for line in account.splitlines()
                          if not line.startswith("password-command"))
        self.env.write_sync_config(account)

    def test_sync_never_shows_the_password(self):
        secret = self.dovecot.password.encode()
        result = self.ferry("password", "set", "personal", "imap", input=secret + b"\n")
        self.assertEqual(result.returncode, EX_OK, result.stderr)
        env = dict(self.bus.env, G_MESSAGES_DEBUG="all")
        syncer = subprocess.Popen([FERRY, "sync"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        exposed = []
        while syncer.poll() is None:
            exposed += processes_showing(secret)
        out, err = syncer.communicate()
        self.assertEqual(syncer.returncode, EX_OK, err)
        self.assertIn(b"(not shown)", out + err)
        self.assertEqual(exposed, [])
        self.assertNotIn(secret, out + err)
        self.assertEqual(len(os.listdir(self.env.path("mail-personal", "INBOX", "cur"))) +
                         len(os.listdir(self.env.path("mail-personal", "INBOX", "new"))), 20)
        # Everything in the test's home but the keyring's own files.
        keyrings = os.path.join(self.env.data_home, "keyrings")
        checked = 0
        for root in (self.env.home, self.env.path("mail-personal"), self.env.runtime_dir):
            for directory, subdirs, files in os.walk(root):
                subdirs[:] = [d for d in subdirs if os.path.join(directory, d) != keyrings]
                for name in files:
                    path = os.path.join(directory, name)
                    if os.path.isfile(path):
                        with open(path, "rb") as f:
                            self.assertNotIn(secret, f.read(), path)
                        checked += 1
        self.assertTrue(os.path.exists(self.env.sync_state_path()))
        self.assertGreater(checked, 20)


class CoreDumpTest(unittest.TestCase):
    """A ferry process that crashes while it holds a password writes no
    core file (PR_SET_DUMPABLE), where another program in the same place
    does."""

    def setUp(self):
        if os.environ.get("FERRY_SANITIZE", "none") != "none":
            # AddressSanitizer turns core files off itself and answers
            # SIGSEGV with a report of its own.
            self.skipTest("a sanitized build handles crashes itself")
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        if pattern.startswith("|") or "/" in pattern:
            self.skipTest(f"core files go to {pattern!r}, not the working directory")
        self.env = FerryEnv()
        self.addCleanup(self.env.cleanup)
        self.cores = self.env.path("cores")
        os.makedirs(self.cores)

    def crash(self, argv, wait_for=None, env=None):
        def unlimited_core():
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        child = subprocess.Popen(argv, cwd=self.cores, env=env or self.env.env,
                                 preexec_fn=unlimited_core, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        if wait_for is not None:
            deadline = time.monotonic() + 20
            while not wait_for() and time.monotonic() < deadline:
                time.sleep(0.05)
        child.send_signal(signal.SIGSEGV)
        child.wait(timeout=30)
        self.assertEqual(child.returncode, -signal.SIGSEGV)
        return [name for name in os.listdir(self.cores) if name.startswith("core")]

    def test_no_core_file_with_a_password_in_memory(self):
        # The control: the same crash of a program that does not protect itself.
        control = self.crash(["/usr/bin/python3", "-c", "import time; time.sleep(60)"])
        if not control:
            self.skipTest("this system writes no core files even for an unprotected program")
        for name in control:
            os.unlink(os.path.join(self.cores, name))

        # Logged in, with the password looked up, then stuck in a SELECT.
        server = ImapScriptServer({"tls": "starttls",
                                   "faults": [{"command": "SELECT", "action": "stall"}]},
                                  self.env.path("imap"))
        self.addCleanup(server.stop)
        self.env.write_sync_config(self.env.imap_account(
            "personal", server.host, server.port, server.user, server.password,
            ca_file=server.ca_file))
        found = self.crash([FERRY, "sync"],
                           wait_for=lambda: "SELECT" in server.command_names())
        self.assertEqual(found, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
