"""Folders unchanged on both sides are not even selected
(src/sync/sync-messages.c, peek()): the server's STATUS with CONDSTORE
and the Maildir's directory times, against the stamps recorded at the
last sync. Whatever changes on either side, in whatever order, is still
synced: the stamps only ever skip a folder that is the same.

Plain IMAP through tcp_proxy.py, which counts the bytes of each sync."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import EX_OK, FerryEnv, local_view, maildir_files, maildir_set_flags, \
    server_view  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402

# A Maildir change younger than this is not trusted to a stamp.
MARGIN = 2.2


class UnchangedFoldersTest(unittest.TestCase):
    condstore = True

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-unchanged-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"), condstore=self.condstore)
        self.addCleanup(self.server.stop)
        self.proxy = TcpProxy(self.server.imap_port)
        self.addCleanup(self.proxy.stop)
        self.maildir = self.env.path("mail")
        self.env.write_sync_config(self.env.imap_account(
            "personal", self.server.host, self.proxy.port, self.server.user,
            self.server.password, security="none", maildir=self.maildir))
        mail_corpus.fill(self.server, "INBOX", 600)
        mail_corpus.fill(self.server, "Archive", 400)

    def sync(self):
        self.proxy.reset_counters()
        result = self.env.sync()
        self.assertEqual(result.returncode, EX_OK, result.stderr.decode())
        return self.proxy.stats()["bytes_to_client"]

    def settled(self):
        """Syncs until the stamps are recorded: the first sync's own
        writes are too young to be trusted to one."""
        self.sync()
        time.sleep(MARGIN)
        full = self.sync()
        return full

    def test_unchanged_folders_cost_almost_nothing(self):
        full = self.settled()
        quiet = self.sync()
        print(f"bytes from the server: full listing {full}, unchanged {quiet}")
        self.assertGreater(full, 20_000)
        self.assertLess(quiet, 3_000)
        self.assertEqual(local_view(self.maildir), server_view(self.server))

    def test_server_changes_are_seen(self):
        self.settled()
        uid = min(self.server.messages("INBOX"))
        self.server.set_flags("INBOX", uid, ["\\Flagged", "\\Seen"])
        self.server.append("Archive", mail_corpus.make_message(9, "Archive", 1))
        self.sync()
        self.assertEqual(local_view(self.maildir), server_view(self.server))

    def test_local_changes_are_seen(self):
        self.settled()
        inbox = maildir_files(os.path.join(self.maildir, "INBOX"))
        # Right after the stamp (within the margin) and well after it.
        maildir_set_flags(inbox[0].path, "FS")
        self.sync()
        self.assertEqual(local_view(self.maildir), server_view(self.server))
        time.sleep(MARGIN)
        self.sync()
        time.sleep(MARGIN)
        maildir_set_flags(maildir_files(os.path.join(self.maildir, "INBOX"))[1].path, "RS")
        os.unlink(maildir_files(os.path.join(self.maildir, "Archive"))[0].path)
        time.sleep(MARGIN)
        self.sync()
        self.assertEqual(local_view(self.maildir), server_view(self.server))


class WithoutCondstoreTest(UnchangedFoldersTest):
    """Without CONDSTORE no STATUS item shows a flag change, so every
    folder is listed each time; nothing is skipped, nothing missed."""
    condstore = False

    def test_unchanged_folders_cost_almost_nothing(self):
        full = self.settled()
        again = self.sync()
        self.assertGreater(again, full // 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
