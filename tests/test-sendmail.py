"""ferry-sendmail driven as mutt, neomutt and git send-email drive it:
what it queues, what it refuses, and that it never loses or half-writes a
message. Delivery itself is in test-queue-delivery.py."""

import os
import stat
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from ferry_env import (EX_CANTCREAT, EX_CONFIG, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL,  # noqa: E402
                       EX_USAGE, FERRY, FerryEnv, make_message, wait_until)
from desktop_session import SessionBus  # noqa: E402
from smtp_server import SmtpServer  # noqa: E402

CONFIG = """[general]
send-after-queue = never
max-message-size = 64K

[account personal]
addresses = me@example.org;me@alias.example.org
smtp-host = 127.0.0.1
smtp-port = 2

[account work]
addresses = me@work.example.com
smtp-host = 127.0.0.1
smtp-port = 2

[account other]
addresses = other@example.net
"""


class SendmailTest(unittest.TestCase):
    def setUp(self):
        self.env = FerryEnv()
        self.env.write_config(CONFIG.replace("[general]\n", "[general]\ndefault-account = personal\n"))

    def tearDown(self):
        self.env.cleanup()

    def assert_nothing_queued(self):
        self.assertEqual(self.env.entry_dirs(), [])
        self.assertEqual(self.env.leftovers(), [])

    def only_entry(self):
        queue = self.env.queue()
        self.assertEqual(len(queue), 1, queue)
        return queue[0]

    def test_mutt(self):
        message = make_message(1, extra_headers="Cc: Carol <carol@example.org>\nBcc: dan@example.org\n")
        result = self.env.sendmail("-oem", "-oi", "-f", "me@example.org", "--",
                                   "bob@example.org", "carol@example.org", "dan@example.org",
                                   input=message)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"")
        entry = self.only_entry()
        self.assertEqual(entry["account"], "personal")
        self.assertEqual(entry["sender"], "me@example.org")
        self.assertEqual([r["address"] for r in entry["recipients"]],
                         ["bob@example.org", "carol@example.org", "dan@example.org"])
        self.assertEqual(entry["state"], "queued")
        self.assertEqual(entry["subject"], "Test message 1")
        self.assertEqual(self.env.queued_message(entry["id"]), message)

    def test_read_recipients(self):
        message = make_message(2, to="Bob <bob@example.org>, carol@example.org",
                               extra_headers="Cc: eve@example.org\nBcc: Hidden <hidden@example.org>\n")
        result = self.env.sendmail("-t", "-oi", input=message)
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = self.only_entry()
        self.assertEqual(sorted(r["address"] for r in entry["recipients"]),
                         ["bob@example.org", "carol@example.org", "eve@example.org",
                          "hidden@example.org"])
        # Bcc stays in the queued message; it is removed only on the wire.
        self.assertIn(b"Bcc: Hidden", self.env.queued_message(entry["id"]))

    def test_git_send_email(self):
        # git send-email runs: sendmail -i -f FROM RECIPIENTS...
        message = make_message(3, sender="me@work.example.com")
        result = self.env.sendmail("-i", "-f", "me@work.example.com", "bob@example.org",
                                   "carol@example.org", input=message)
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = self.only_entry()
        self.assertEqual(entry["account"], "work")

    def test_sendmail_options_accepted(self):
        message = make_message(4)
        result = self.env.sendmail("-oi", "-odb", "-odi", "-oem", "-Fme", "-F", "Me Myself",
                                   "-N", "never", "-fme@alias.example.org", "-v", "-bm",
                                   "bob@example.org", input=message)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"queued", result.stderr)  # -v says what happened
        entry = self.only_entry()
        self.assertEqual(entry["sender"], "me@alias.example.org")
        self.assertEqual(entry["account"], "personal")

    def test_read_envelope_from(self):
        message = make_message(5, sender="me@work.example.com")
        result = self.env.sendmail("--read-envelope-from", "-oi", "bob@example.org", input=message)
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = self.only_entry()
        self.assertEqual(entry["sender"], "me@work.example.com")
        self.assertEqual(entry["account"], "work")

    def test_account_choice(self):
        # -a wins over the From address.
        result = self.env.sendmail("-a", "other", "-oi", "bob@example.org",
                                   input=make_message(6, sender="me@work.example.com"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.only_entry()["account"], "other")

    def test_default_account(self):
        result = self.env.sendmail("-oi", "bob@example.org",
                                   input=make_message(7, sender="stranger@example.com"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.only_entry()["account"], "personal")

    def test_dot_ends_message_without_i(self):
        message = b"From: me@example.org\nTo: bob@example.org\nSubject: dots\n\nbefore\n.\nafter\n"
        result = self.env.sendmail("bob@example.org", input=message)
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = self.only_entry()
        self.assertEqual(self.env.queued_message(entry["id"]),
                         b"From: me@example.org\nTo: bob@example.org\nSubject: dots\n\nbefore\n")

    def test_modes(self):
        result = self.env.sendmail("-oi", "bob@example.org", input=make_message(8))
        self.assertEqual(result.returncode, 0, result.stderr)
        for root, dirs, files in os.walk(os.path.join(self.env.data_home, "ferry")):
            self.assertEqual(stat.S_IMODE(os.stat(root).st_mode), 0o700, root)
            for name in files:
                path = os.path.join(root, name)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)

    def test_bad_input(self):
        cases = [
            ("empty stdin", ["-oi", "bob@example.org"], b"", EX_DATAERR, b"No message"),
            ("no recipients", ["-oi"], make_message(9), EX_USAGE, b"No recipients"),
            ("-t without recipients", ["-t", "-oi"],
             b"From: me@example.org\nSubject: x\n\nbody\n", EX_DATAERR, b"no recipients"),
            ("binary garbage", ["-oi", "bob@example.org"], os.urandom(4096) + b"\0", EX_DATAERR,
             b"ferry-sendmail: "),
            ("not a header", ["-oi", "bob@example.org"], b"Hello Bob,\n\nhow are you?\n", EX_DATAERR,
             b"malformed"),
            ("over the limit", ["-oi", "bob@example.org"], make_message(10, body="x" * 70000 + "\n"),
             EX_DATAERR, b"larger than the limit of 64 KiB (max-message-size)"),
            ("unknown account", ["-a", "nosuch", "-oi", "bob@example.org"], make_message(11),
             EX_NOUSER, b"No account \xe2\x80\x9cnosuch\xe2\x80\x9d"),
            ("unknown option", ["-Z", "bob@example.org"], make_message(12), EX_USAGE,
             b"unknown option -Z"),
            ("bad recipient", ["-oi", "bob"], make_message(13), EX_DATAERR, b"not a full mail address"),
            ("smtp injection", ["-oi", "bob@example.org>\r\nRCPT TO:<evil@example.org"],
             make_message(14), EX_DATAERR, b"not"),
            ("unsupported mode", ["-bp"], b"", EX_USAGE, b"-bp is not supported"),
        ]
        for name, args, message, code, text in cases:
            with self.subTest(name):
                result = self.env.sendmail(*args, input=message)
                self.assertEqual(result.returncode, code, result.stderr)
                lines = result.stderr.splitlines()
                self.assertEqual(len(lines), 1, result.stderr)
                self.assertIn(text, result.stderr)
                self.assert_nothing_queued()

    def test_bad_config(self):
        self.env.write_config("[general]\nsend-after-queue = sometimes\n")
        result = self.env.sendmail("-oi", "bob@example.org", input=make_message(15))
        self.assertEqual(result.returncode, EX_CONFIG)
        self.assertIn(f"{self.env.config_path}:2: [general] send-after-queue: expected engine, "
                      "background or never".encode(), result.stderr)
        self.assert_nothing_queued()

    def test_no_config(self):
        os.unlink(self.env.config_path)
        result = self.env.sendmail("-oi", "bob@example.org", input=make_message(16))
        self.assertEqual(result.returncode, EX_CONFIG)
        self.assertIn(self.env.config_path.encode(), result.stderr)

    def test_config_option(self):
        other = self.env.write_file("other-config", "[account solo]\naddresses = solo@example.org\n")
        result = self.env.sendmail("-C", other, "-oi", "bob@example.org", input=make_message(17))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.only_entry()["account"], "solo")

    def test_unwritable_spool(self):
        # A file where the spool's directory should be: cannot be created,
        # even by root.
        os.makedirs(os.path.join(self.env.data_home), exist_ok=True)
        with open(os.path.join(self.env.data_home, "ferry"), "w") as f:
            f.write("in the way\n")
        result = self.env.sendmail("-oi", "bob@example.org", input=make_message(18))
        self.assertEqual(result.returncode, EX_CANTCREAT, result.stderr)
        self.assertIn(b"Cannot create directory", result.stderr)

    def test_full_disk(self):
        data = self.env.data_home
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", data],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root)")
        try:
            first = self.env.sendmail("-oi", "bob@example.org", input=make_message(19))
            self.assertEqual(first.returncode, 0, first.stderr)
            # Fill the disk to the last block.
            filler = os.path.join(data, "filler")
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
            big = make_message(20, body=("y" * 1000 + "\n") * 20)
            result = self.env.sendmail("-oi", "bob@example.org", input=big)
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertIn(b"No space left on device", result.stderr)
            self.assertIn(b"NOT queued", result.stderr)
            self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
            self.assertEqual(len(self.env.entry_dirs()), 1)
            self.assertEqual(self.env.leftovers(), [])
            # The message that was acknowledged is intact.
            entry = self.only_entry()
            self.assertEqual(self.env.queued_message(entry["id"]), make_message(19))
            # With room again, the same message queues.
            os.unlink(filler)
            again = self.env.sendmail("-oi", "bob@example.org", input=big)
            self.assertEqual(again.returncode, 0, again.stderr)
            self.assertEqual(len(self.env.entry_dirs()), 2)
        finally:
            subprocess.run(["umount", "-l", data], capture_output=True)

    def test_hundred_concurrent(self):
        def one(n):
            return n, self.env.sendmail("-oi", "-f", "me@example.org", "bob@example.org",
                                        input=make_message(n))

        with ThreadPoolExecutor(max_workers=100) as pool:
            results = list(pool.map(one, range(100)))
        for n, result in results:
            self.assertEqual(result.returncode, 0, result.stderr)
        queue = self.env.queue()
        self.assertEqual(len(queue), 100)
        subjects = sorted(e["subject"] for e in queue)
        self.assertEqual(subjects, sorted(f"Test message {n}" for n in range(100)))
        for entry in queue:
            n = int(entry["subject"].split()[-1])
            self.assertEqual(self.env.queued_message(entry["id"]), make_message(n))


class WakeTest(unittest.TestCase):
    """After queueing: wake the engine on the session bus, or deliver in the
    background when there is none, or leave it queued."""

    def setUp(self):
        self.env = FerryEnv()
        self.server = SmtpServer(self.env.path("smtp"))

    def tearDown(self):
        self.server.stop()
        self.env.cleanup()

    def test_background_delivery_without_bus(self):
        self.env.smtp_config(self.server, general="send-after-queue = engine\n")
        env = dict(self.env.env)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        env["DISPLAY"] = ":99"  # must not tempt anything into autolaunching a bus
        start = time.monotonic()
        result = self.env.sendmail("-oi", "bob@example.org", input=make_message(30), env=env)
        elapsed = time.monotonic() - start
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLess(elapsed, 2.0, "ferry-sendmail must not wait for delivery")
        self.assertTrue(wait_until(lambda: len(self.server.received()) == 1), "not delivered")
        self.assertTrue(wait_until(lambda: self.env.queue()[0]["state"] == "sent"))
        with open(os.path.join(self.env.state_home, "ferry", "outbox.log")) as f:
            log = f.read()
        self.assertIn("sent to bob@example.org", log)

    def test_never(self):
        self.env.smtp_config(self.server, general="send-after-queue = never\n")
        result = self.env.sendmail("-oi", "bob@example.org", input=make_message(31))
        self.assertEqual(result.returncode, 0, result.stderr)
        time.sleep(1.0)
        self.assertEqual(self.server.received(), [])
        self.assertEqual(self.env.queue()[0]["state"], "queued")

    def test_wakes_running_engine(self):
        self.env.smtp_config(self.server, general="send-after-queue = engine\n")
        bus = SessionBus(self.env.env)
        try:
            env = bus.env
            daemon = self.env.spawn([FERRY, "daemon"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            self.assertTrue(bus.wait_for_name("io.github.ferrymail.Ferry"))
            result = self.env.sendmail("-oi", "-v", "bob@example.org", input=make_message(32),
                                       env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(b"handed to the running engine", result.stderr)
            self.assertTrue(wait_until(lambda: len(self.server.received()) == 1))
            self.assertTrue(wait_until(lambda: self.env.queue()[0]["state"] == "sent"))
            daemon.terminate()
            output = daemon.communicate(timeout=10)[0]
            self.assertEqual(daemon.returncode, 0, output)
            self.assertIn(b": sent (", output)
        finally:
            bus.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
