"""COMPRESS=DEFLATE (RFC 4978), `imap-compress` in ferry.conf(5): a sync
through a compressed session moves the same mail both ways, byte for
byte, in a fraction of the bytes on the wire; `auto` leaves a server on
this machine uncompressed, and `no` any server.

Plain IMAP through tcp_proxy.py, which counts the bytes on the wire, to
a Dovecot with its imap_zlib plugin."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import EX_OK, FerryEnv, as_imap, local_view, maildir_deliver, maildir_files, \
    server_view  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402

# A Maildir change younger than this is not trusted to a change stamp.
STAMP_MARGIN = 2.2


class CompressTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-compress-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"), compress=True)
        self.addCleanup(self.server.stop)
        self.proxy = TcpProxy(self.server.imap_port)
        self.addCleanup(self.proxy.stop)
        mail_corpus.fill(self.server, "INBOX", 300)
        mail_corpus.fill(self.server, "Archive", 100)

    def sync_with(self, compress, maildir):
        self.env.write_sync_config(self.env.imap_account(
            "personal", self.server.host, self.proxy.port, self.server.user,
            self.server.password, security="none", maildir=maildir, imap_compress=compress))
        self.proxy.reset_counters()
        result = self.env.sync()
        self.assertEqual(result.returncode, EX_OK, result.stderr.decode())
        self.assertTrue(self.proxy.settle(), "Ferry's connections did not close")
        return self.proxy.stats()

    def test_compressed_sync_is_the_same_sync_in_fewer_bytes(self):
        plain = self.sync_with("no", self.env.path("plain"))
        # Not a new state: a second account's worth of the same download.
        os.remove(self.env.sync_state_path())
        compressed = self.sync_with("yes", self.env.path("compressed"))
        print(f"bytes from the server: plain {plain['bytes_to_client']}, "
              f"compressed {compressed['bytes_to_client']}")
        self.assertLess(compressed["bytes_to_client"], plain["bytes_to_client"] * 0.7)
        self.assertEqual(local_view(self.env.path("compressed")), server_view(self.server))
        for name in ("INBOX", "Archive"):
            self.assertEqual(self.bodies_here(self.env.path("compressed"), name),
                             self.bodies_here(self.env.path("plain"), name))

        # Uploads and flag changes go through the compressed session too.
        inbox = os.path.join(self.env.path("compressed"), "INBOX")
        sent = [mail_corpus.make_message(31, "INBOX", i, size=30_000) for i in range(20)]
        for data in sent:
            maildir_deliver(inbox, data, "S")
        compressed_up = self.sync_with("yes", self.env.path("compressed"))
        self.assertLess(compressed_up["bytes_to_server"], 20 * 30_000 * 0.7)
        on_server = {m.rfc822 for m in self.server.messages("INBOX", bodies=True).values()}
        for data in sent:
            self.assertIn(as_imap(data), on_server)
        self.assertEqual(local_view(self.env.path("compressed")), server_view(self.server))

    def test_compression_costs_no_round_trip(self):
        # No command may follow COMPRESS before its answer (RFC 4978 3):
        # it goes last in the login's flight, so that a compressed sync
        # takes as many round trips as a plain one, whether it selects a
        # folder or finds nothing to do. Answers reach Ferry late, so
        # that the pieces of one flight are not taken for two.
        self.proxy = TcpProxy(self.server.imap_port, latency_ms_to_client=30)
        self.addCleanup(self.proxy.stop)
        maildir = self.env.path("compressed")
        self.sync_with("yes", maildir)
        # The folder written last may be too fresh for a stamp at first.
        time.sleep(STAMP_MARGIN)
        self.sync_with("yes", maildir)
        turns = {}
        for compress in ("no", "yes"):
            quiet = self.sync_with(compress, maildir)
            self.assertLess(quiet["bytes_to_client"], 3_000)
            turns[compress, "quiet"] = quiet["client_turns"]
        for compress, start in (("no", 300), ("yes", 305)):
            mail_corpus.fill(self.server, "INBOX", 5, start=start)
            turns[compress, "new mail"] = self.sync_with(compress, maildir)["client_turns"]
        self.assertEqual(turns["yes", "quiet"], turns["no", "quiet"], turns)
        self.assertEqual(turns["yes", "new mail"], turns["no", "new mail"], turns)
        self.assertEqual(local_view(maildir), server_view(self.server))

    def test_auto_leaves_a_server_on_this_machine_alone(self):
        auto = self.sync_with("auto", self.env.path("auto"))
        os.remove(self.env.sync_state_path())
        plain = self.sync_with("no", self.env.path("plain"))
        self.assertGreater(auto["bytes_to_client"], plain["bytes_to_client"] * 0.95)
        self.assertEqual(local_view(self.env.path("auto")), server_view(self.server))

    @staticmethod
    def bodies_here(root, folder):
        result = []
        for f in maildir_files(os.path.join(root, folder)):
            with open(f.path, "rb") as fh:
                result.append(fh.read())
        return sorted(result)


if __name__ == "__main__":
    unittest.main(verbosity=2)
