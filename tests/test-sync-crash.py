"""`ferry sync` stopped dead and resumed: SIGKILL at random moments in a
real two-way sync of thousands of messages, connections dropped inside a
FETCH literal and inside an APPEND, and a server folder replaced (a new
UIDVALIDITY) while local changes wait. Afterwards both sides hold the
same messages, none twice, none lost, and no file in cur/ or new/ is a
partial copy."""

import collections
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import (EX_OK, FERRY, FerryEnv, as_imap, as_maildir,  # noqa: E402
                       header_message_id, local_view, maildir_deliver, maildir_files,
                       maildir_folders, maildir_set_flags, server_view)
from tcp_proxy import TcpProxy  # noqa: E402

ROUNDS = 30


class CrashTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-crash-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"))
        self.addCleanup(self.server.stop)
        self.maildir = self.env.path("mail")
        self.configure()
        # Message-ID -> the one body a file of it may hold here (LF line
        # ends; the server has them as CRLF).
        self.bodies = {}

    def configure(self, port=None, security="starttls"):
        self.env.write_sync_config(self.env.imap_account(
            "personal", self.server.tls_host, port or self.server.imap_port, self.server.user,
            self.server.password, security=security, maildir=self.maildir,
            ca_file=self.server.ca_file))

    def sync(self, *args):
        result = self.env.sync(*args)
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_OK, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        return stdout, stderr

    def learn_server_bodies(self, folder):
        for m in self.server.messages(folder, bodies=True).values():
            self.bodies[m.message_id] = as_maildir(m.rfc822)

    def deliver_local(self, folder, index, size=None, letters="S"):
        data = mail_corpus.make_message(21, folder, index, size=size)
        self.bodies[header_message_id(data)] = data
        return maildir_deliver(os.path.join(self.maildir, folder), data, letters)

    def assertNoPartialFiles(self):
        """Every file in cur/ and new/ is whole: the very bytes of its message."""
        for name, path in maildir_folders(self.maildir).items():
            for f in maildir_files(path):
                self.assertIn(f.message_id, self.bodies, f"{f.path}: not a message it may hold")
                with open(f.path, "rb") as fh:
                    self.assertEqual(fh.read(), self.bodies[f.message_id], f"{f.path} is partial")

    def assertServerWhole(self, folder):
        for uid, m in self.server.messages(folder, bodies=True).items():
            self.assertIn(m.message_id, self.bodies, f"{folder} UID {uid}")
            self.assertEqual(m.rfc822, as_imap(self.bodies[m.message_id]), f"{folder} UID {uid}")

    def assertConverged(self, expected_counts):
        """Both sides equal per folder, by Message-ID with counts and with
        flags; no Message-ID twice anywhere; expected_counts folders and sizes."""
        local, remote = local_view(self.maildir), server_view(self.server)
        for side, view in (("here", local), ("on the server", remote)):
            for folder, messages in view.items():
                twice = [mid for mid, n in collections.Counter(m for m, _ in messages).items()
                         if n > 1]
                self.assertEqual(twice, [], f"duplicates in {folder} {side}")
            self.assertEqual({f: len(m) for f, m in view.items()}, expected_counts, side)
        self.assertEqual(local, remote)


class KillTest(CrashTestCase):
    def test_sigkill_at_random_moments(self):
        rng = random.Random(int(os.environ.get("FERRY_TEST_SEED", "20261202")))
        old = mail_corpus.fill(self.server, "Old", 200, flags="S")
        self.sync()
        self.learn_server_bodies("Old")
        # Flag changes on both sides, on messages both already have.
        uids = {m.message_id: uid for uid, m in self.server.messages("Old").items()}
        with self.server.imap() as conn:
            conn.select("Old")
            conn.uid("STORE", ",".join(str(uids[mid]) for mid in old[:50]), "+FLAGS.SILENT",
                     "(\\Flagged)")
        for f in maildir_files(os.path.join(self.maildir, "Old")):
            if f.message_id in old[50:100]:
                maildir_set_flags(f.path, "RS")
        # 3,000 to download, 300 to upload.
        mail_corpus.fill(self.server, "INBOX", 3000)
        self.learn_server_bodies("INBOX")
        for i in range(100):
            self.deliver_local("INBOX", i, letters="S" if i % 3 else "")
        for i in range(200):
            self.deliver_local("Local", i, size=4000 + 37 * i)

        finished = 0
        for round_number in range(ROUNDS):
            ferry = self.env.spawn([FERRY, "sync"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.02, 0.8))
            if ferry.poll() is None:
                os.kill(ferry.pid, signal.SIGKILL)
            _, stderr = ferry.communicate()
            if ferry.returncode == EX_OK:
                finished += 1
            else:
                self.assertEqual(ferry.returncode, -signal.SIGKILL,
                                 f"round {round_number}: {stderr.decode()}")
            self.assertNoPartialFiles()
            if round_number % 10 == 9:
                # More work, so that later rounds are not all idle.
                for i in range(round_number * 10, round_number * 10 + 10):
                    self.server.append("INBOX", mail_corpus.make_message(22, "INBOX", i, crlf=True))
                    self.deliver_local("INBOX", 1000 + i)
                self.learn_server_bodies("INBOX")
        self.assertLess(finished, ROUNDS, "no sync was ever stopped")

        self.sync()
        stdout, _ = self.sync()
        for line in stdout.splitlines()[:-1]:
            self.assertTrue(line.endswith(": up to date"), stdout)
        self.assertNoPartialFiles()
        for folder in ("INBOX", "Local", "Old"):
            self.assertServerWhole(folder)
        self.assertConverged({"INBOX": 3000 + 100 + 60, "Local": 200, "Old": 200})
        letters = dict(local_view(self.maildir)["Old"])
        for i, mid in enumerate(old):
            self.assertEqual(letters[mid], "FS" if i < 50 else "RS" if i < 100 else "S", mid)


class StoppedAfterEachStepTest(CrashTestCase):
    """A resync of a folder synced before, which asks the server only for
    what changed (RFC 7162), stopped dead after its first change, then
    after its second, and so on, each run resuming what the last left:
    every point where a crash can land in the changes-only path."""
    qresync = True
    MAX_RUNS = 400

    def setUp(self):
        super().setUp()
        if not self.qresync:
            self.server.stop()
            self.server = DovecotServer(self.env.path("dovecot-condstore"), qresync=False)
            self.addCleanup(self.server.stop)
            self.configure()

    def crashing_sync(self, after):
        env = dict(self.env.env, FERRY_TEST_CRASH_AFTER=str(after))
        return self.env.ferry("sync", env=env)

    def test_resync_stopped_after_each_step(self):
        mail_corpus.fill(self.server, "Box", 40, flags="S")
        self.sync()
        time.sleep(2.2)  # the local stamps become trustworthy
        self.sync()
        self.learn_server_bodies("Box")
        uids = sorted(self.server.messages("Box"))
        for uid in uids[:5]:
            self.server.set_flags("Box", uid, ["\\Seen", "\\Flagged"])
        self.server.expunge("Box", uids[5:8])
        for i in range(4):
            self.server.append("Box", mail_corpus.make_message(23, "Box", i, crlf=True))
        self.learn_server_bodies("Box")
        files = {f.message_id: f for f in maildir_files(os.path.join(self.maildir, "Box"))}
        by_uid = {uid: m.message_id for uid, m in self.server.messages("Box").items()}
        for uid in uids[10:15]:
            maildir_set_flags(files[by_uid[uid]].path, "RS")
        for uid in uids[15:18]:
            os.unlink(files[by_uid[uid]].path)
        for i in range(4):
            self.deliver_local("Box", 2000 + i)

        for after in range(1, self.MAX_RUNS):
            result = self.crashing_sync(after)
            if result.returncode == EX_OK:
                break
            self.assertEqual(result.returncode, 99, result.stderr.decode())
            self.assertNoPartialFiles()
        else:
            self.fail(f"the sync never finished in {self.MAX_RUNS} runs")
        self.assertGreater(after, 5, "too few steps: the scenario did not run")
        stdout, _ = self.sync()
        self.assertTrue(stdout.splitlines()[0].endswith(": up to date"), stdout)
        self.assertNoPartialFiles()
        self.assertServerWhole("Box")
        self.assertConverged({"Box": 40 - 3 - 3 + 4 + 4, "INBOX": 0})
        letters = dict(local_view(self.maildir)["Box"])
        for uid in uids[:5]:
            self.assertEqual(letters[by_uid[uid]], "FS")
        for uid in uids[10:15]:
            self.assertEqual(letters[by_uid[uid]], "RS")


class StoppedAfterEachStepCondstoreTest(StoppedAfterEachStepTest):
    """The same with CONDSTORE alone: expunges found by a UID SEARCH."""
    qresync = False


class DroppedConnectionTest(CrashTestCase):
    """Plain IMAP through the proxy, so that it can cut at exact places."""

    def setUp(self):
        super().setUp()
        self.proxy = TcpProxy(self.server.imap_port)
        self.addCleanup(self.proxy.stop)
        self.configure(port=self.proxy.port, security="none")

    def failing_sync(self):
        result = self.env.sync()
        stderr = result.stderr.decode()
        self.assertNotEqual(result.returncode, EX_OK, stderr)
        self.assertGreaterEqual(self.proxy.drops, 1)
        self.assertRegex(stderr, r"(?m)^ferry: personal: INBOX: .*(connection|closed)")
        self.assertNotIn("Traceback", stderr)
        return stderr

    def test_drop_inside_fetch_literal(self):
        mail_corpus.fill(self.server, "INBOX", 300)
        self.learn_server_bodies("INBOX")
        self.proxy.add_drop("to_client", pattern=b"BODY[] {", extra_bytes=1000)
        self.failing_sync()
        self.assertNoPartialFiles()
        self.sync()
        self.assertNoPartialFiles()
        self.assertConverged({"INBOX": 300})

    def test_drop_inside_fetch_literal_deep_in_the_folder(self):
        mail_corpus.fill(self.server, "INBOX", 300)
        self.learn_server_bodies("INBOX")
        self.proxy.add_drop("to_client", after_bytes=400_000)
        self.failing_sync()
        self.assertNoPartialFiles()
        self.sync()
        self.assertConverged({"INBOX": 300})
        self.assertNoPartialFiles()

    def test_drop_inside_append(self):
        mail_corpus.fill(self.server, "INBOX", 5)
        self.learn_server_bodies("INBOX")
        self.sync()
        for i in range(40):
            self.deliver_local("INBOX", i, size=6000)
        self.proxy.add_drop("to_server", pattern=b"APPEND", extra_bytes=20_000)
        self.failing_sync()
        self.assertServerWhole("INBOX")
        self.assertNoPartialFiles()
        self.sync()
        self.assertServerWhole("INBOX")
        self.assertConverged({"INBOX": 45})


class ReplacedFolderTest(CrashTestCase):
    def test_uidvalidity_change_with_local_changes_pending(self):
        self.server.create_folder("Work")
        ids = mail_corpus.fill(self.server, "Work", 50, flags="S")
        self.sync()
        self.learn_server_bodies("Work")
        for f in maildir_files(os.path.join(self.maildir, "Work")):
            if f.message_id in ids[:5]:
                maildir_set_flags(f.path, "FS")
        for i in range(3):
            self.deliver_local("Work", i)
        before = self.server.uidvalidity("Work")
        self.assertNotEqual(self.server.recreate_folder_same_messages("Work"), before)

        stdout, stderr = self.sync()
        self.assertRegex(stderr, r"ferry: personal: Work: warning: .*UIDVALIDITY")
        self.assertIn("nothing is deleted", stderr)
        self.assertNotRegex(stdout, r"Work: .* [1-9]\d* deleted")
        self.assertConverged({"INBOX": 0, "Work": 53})
        letters = dict(local_view(self.maildir)["Work"])
        for mid in ids[:5]:
            self.assertEqual(letters[mid], "FS", "a flag change made before the folder was replaced")
        self.assertServerWhole("Work")
        self.assertNoPartialFiles()
        stdout, _ = self.sync()
        self.assertIn("personal: Work: up to date", stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
