#!/usr/bin/python3
"""The command-line paths under valgrind: no memory errors, no definite leaks.

`ferry-sendmail` as mutt and as `-t` call it, `ferry queue list` and
`ferry queue flush` against aiosmtpd with STARTTLS and AUTH, and
`ferry sync` against Dovecot: a first sync, then one with changes on both
sides. valgrind runs with --leak-check=full and counts definite leaks as
errors; the suppressions are GLib's own file for its one-time
allocations, and tests/sanitizer/valgrind.supp, whose every entry names
the system library it is for.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import (EX_OK, FERRY, SENDMAIL, FerryEnv, maildir_deliver,  # noqa: E402
                       maildir_files, maildir_set_flags)
from smtp_server import SmtpServer  # noqa: E402

SOURCE_DIR = os.environ.get("FERRY_SOURCE_DIR",
                            os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SUPPRESSIONS = ["/usr/share/glib-2.0/valgrind/glib.supp",
                os.path.join(SOURCE_DIR, "tests", "sanitizer", "valgrind.supp")]
VALGRIND_FAILED = 99

MESSAGE = (b"From: Me <me@example.org>\n"
           b"To: Bob <bob@example.org>\n"
           b"Cc: carol@example.org\n"
           b"Bcc: hidden@example.org\n"
           b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n"
           b"Message-ID: <valgrind-1@example.org>\n"
           b"\n"
           b"Hello under valgrind.\n")


class ValgrindTestCase(unittest.TestCase):
    def setUp(self):
        self.env = FerryEnv(prefix="ferry-valgrind-")
        self.addCleanup(self.env.cleanup)
        # Plain malloc, so that valgrind sees every block GLib hands out.
        self.env.env["G_SLICE"] = "always-malloc"
        self.runs = 0

    def valgrind(self, program, *args, input=None, status=EX_OK, timeout=600):
        """Runs program under valgrind; fails on any error it reports."""
        self.runs += 1
        log = self.env.path(f"valgrind-{self.runs}.log")
        argv = ["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite",
                "--errors-for-leak-kinds=definite", f"--error-exitcode={VALGRIND_FAILED}",
                "--child-silent-after-fork=yes", "--num-callers=30", f"--log-file={log}"]
        argv += [f"--suppressions={s}" for s in SUPPRESSIONS]
        result = self.env.run(argv + [program, *args], input=input, timeout=timeout)
        with open(log) as f:
            report = f.read()
        name = f"{os.path.basename(program)} {' '.join(args)}"
        self.assertNotEqual(result.returncode, VALGRIND_FAILED,
                            f"valgrind found errors in {name}:\n{report}")
        self.assertEqual(result.returncode, status,
                         f"{name}\nstdout:\n{result.stdout.decode()}\n"
                         f"stderr:\n{result.stderr.decode()}\n{report}")
        self.assertNotRegex(report, re.compile(r"definitely lost: [1-9]"), report)
        return result


class OutboxTest(ValgrindTestCase):
    def setUp(self):
        super().setUp()
        self.server = SmtpServer(self.env.path("smtp"))
        self.addCleanup(self.server.stop)
        self.env.smtp_config(self.server)

    def test_queue_and_deliver(self):
        self.valgrind(SENDMAIL, "-oem", "-oi", "--", "bob@example.org", "carol@example.org",
                      input=MESSAGE)
        self.valgrind(SENDMAIL, "-t", "-i", input=MESSAGE.replace(b"valgrind-1", b"valgrind-2"))
        listed = self.valgrind(FERRY, "queue", "list")
        self.assertIn(b"bob@example.org", listed.stdout)
        flushed = self.valgrind(FERRY, "queue", "flush")
        self.assertIn(b"2 sent, 0 deferred, 0 failed", flushed.stdout)
        self.assertEqual(len(self.server.received()), 2)

    def test_refusals(self):
        # A usage error, a message with no recipients, an empty message.
        self.valgrind(SENDMAIL, "-bp", status=64)
        self.valgrind(SENDMAIL, "-t", "-i", input=b"Subject: nobody\n\nx\n", status=65)
        self.valgrind(SENDMAIL, "-i", "bob@example.org", input=b"", status=65)
        self.assertEqual(self.env.entry_dirs(), [])


class SyncTest(ValgrindTestCase):
    def setUp(self):
        super().setUp()
        self.server = DovecotServer(self.env.path("dovecot"))
        self.addCleanup(self.server.stop)
        self.maildir = self.env.path("mail")
        self.env.write_sync_config(self.env.dovecot_account(self.server, maildir=self.maildir,
                                                            expunge="both"))

    def test_first_sync_and_changes_both_ways(self):
        mail_corpus.fill(self.server, "INBOX", 20)
        self.server.create_folder("Archive")
        mail_corpus.fill(self.server, "Archive", 5)
        first = self.valgrind(FERRY, "sync")
        self.assertIn(b"personal: INBOX: 20 fetched", first.stdout)

        uids = sorted(uid for uid in self.server.messages("INBOX"))
        self.server.set_flags("INBOX", uids[0], ["\\Seen", "\\Flagged"])
        self.server.expunge("INBOX", [uids[1]])
        local = sorted(maildir_files(os.path.join(self.maildir, "INBOX")), key=lambda f: f.path)
        maildir_set_flags(local[-1].path, "ST")
        maildir_deliver(os.path.join(self.maildir, "Archive"), MESSAGE, "S")
        second = self.valgrind(FERRY, "sync")
        self.assertIn(b"personal: Archive: 0 fetched, 1 uploaded", second.stdout)
        self.valgrind(FERRY, "sync", "--dry-run")


if __name__ == "__main__":
    unittest.main(verbosity=2)
