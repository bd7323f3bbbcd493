"""A 30 MB message through `ferry sync` against Dovecot, down and up: the
bytes arrive whole (LF line ends in the Maildir, CRLF on the server), and
the sync process stays under 64 MB of peak resident memory, and above what
the same process needs for a sync with nothing to copy it grows by less
than half the message: a message is streamed, not held in memory. (The
libraries alone take some 25 MB, so 64 MB by itself would still let one
whole copy through.)

Peak RSS is the maximum resident set size that /usr/bin/time (GNU time)
reports for the `ferry sync` process; the measured values are printed."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import (EX_OK, FERRY, FerryEnv, as_imap, as_maildir, maildir_deliver,  # noqa: E402
                       maildir_files)

GNU_TIME = "/usr/bin/time"
MESSAGE_SIZE = 30 * 1024 * 1024
PEAK_RSS_LIMIT_KB = 64 * 1024
GROWTH_LIMIT_KB = MESSAGE_SIZE // 2 // 1024
# AddressSanitizer keeps freed memory in quarantine (256 MB by default)
# and maps shadow memory: the RSS of a sanitized build says nothing of
# Ferry's own. Its runs still check every byte of the message.
SANITIZED = os.environ.get("FERRY_SANITIZE", "none") != "none"


class LargeMessageTest(unittest.TestCase):
    maxDiff = 2000

    def assert_memory_bounded(self, peak_kb, idle_kb, doing):
        if SANITIZED:
            return
        self.assertLess(peak_kb, PEAK_RSS_LIMIT_KB,
                        f"ferry sync peaked at {peak_kb} kB {doing} a {MESSAGE_SIZE}-byte message")
        self.assertLess(peak_kb - idle_kb, GROWTH_LIMIT_KB,
                        f"{doing} took {peak_kb} kB, a sync with nothing to do {idle_kb} kB")

    @classmethod
    def setUpClass(cls):
        if not os.access(GNU_TIME, os.X_OK):
            raise unittest.SkipTest(f"{GNU_TIME} (Debian's package \"time\") is missing")

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-large-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"))
        self.addCleanup(self.server.stop)
        self.maildir = self.env.path("mail")
        self.env.write_sync_config(self.env.dovecot_account(self.server, maildir=self.maildir))

    def measured_sync(self, what):
        """Runs `ferry sync` under GNU time; returns (stdout, peak RSS in kB)
        and prints the peak."""
        report = self.env.path("time-report")
        result = self.env.run([GNU_TIME, "-f", "%M", "-o", report, FERRY, "sync"], timeout=300)
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_OK, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        with open(report) as f:
            peak_kb = int(f.read().split()[-1])
        print(f"\n  ferry sync, {what}: peak RSS {peak_kb} kB ({peak_kb / 1024:.1f} MB)",
              file=sys.stderr, flush=True)
        # A few megabytes at least: a measurement of nothing proves nothing.
        self.assertGreater(peak_kb, 1024, "GNU time measured no memory at all")
        return stdout, peak_kb

    def only_local_file(self):
        files = maildir_files(os.path.join(self.maildir, "INBOX"))
        self.assertEqual(len(files), 1, files)
        with open(files[0].path, "rb") as f:
            return files[0], f.read()

    def only_server_message(self):
        messages = list(self.server.messages("INBOX", bodies=True).values())
        self.assertEqual(len(messages), 1, [m.message_id for m in messages])
        return messages[0]

    def assertBytesEqual(self, got, wanted, what):
        # assertEqual would print 30 MB of difference.
        if got != wanted:
            at = next((i for i, (a, b) in enumerate(zip(got, wanted)) if a != b),
                      min(len(got), len(wanted)))
            self.fail(f"{what}: {len(got)} bytes, {len(wanted)} wanted; they differ from "
                      f"byte {at}: {got[at:at + 60]!r} instead of {wanted[at:at + 60]!r}")

    def test_large_message_down(self):
        original = mail_corpus.make_large_message(MESSAGE_SIZE, seed=1, crlf=True)
        mail_corpus.deliver(self.server, "INBOX", original, flags="S")
        stdout, peak_kb = self.measured_sync("30 MB message server -> Maildir")
        self.assertIn("personal: INBOX: 1 fetched, 0 uploaded", stdout)

        local, data = self.only_local_file()
        self.assertEqual(local.message_id, f"<large-1-{MESSAGE_SIZE}@corpus.ferry.test>")
        self.assertEqual(local.letters, "S")
        remote = self.only_server_message()
        self.assertBytesEqual(remote.rfc822, original, "the server's copy")
        self.assertNotIn(b"\r\n", data)
        self.assertBytesEqual(data, as_maildir(remote.rfc822), "the Maildir's copy")
        _, idle_kb = self.measured_sync("up to date, for comparison")
        self.assertEqual(self.only_local_file()[1], data)
        self.assert_memory_bounded(peak_kb, idle_kb, "fetching")

    def test_large_message_up(self):
        _, idle_kb = self.measured_sync("empty INBOX, for comparison")
        original = mail_corpus.make_large_message(MESSAGE_SIZE, seed=2, crlf=False)
        maildir_deliver(os.path.join(self.maildir, "INBOX"), original, "FS")
        stdout, peak_kb = self.measured_sync("30 MB message Maildir -> server")
        self.assertIn("personal: INBOX: 0 fetched, 1 uploaded", stdout)

        remote = self.only_server_message()
        self.assertEqual(remote.message_id, f"<large-2-{MESSAGE_SIZE}@corpus.ferry.test>")
        self.assertEqual(remote.flags, {"\\Seen", "\\Flagged"})
        local, data = self.only_local_file()
        self.assertBytesEqual(data, original, "the Maildir's copy")
        self.assertEqual(remote.size, len(as_imap(original)))
        self.assertBytesEqual(remote.rfc822, as_imap(data), "the server's copy")
        self.assert_memory_bounded(peak_kb, idle_kb, "uploading")


if __name__ == "__main__":
    unittest.main(verbosity=2)
