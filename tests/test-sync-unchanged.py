"""A resync asks the server only for what changed
(src/sync/sync-messages.c): a folder unchanged on both sides is not even
selected (peek(): the server's STATUS with CONDSTORE and the Maildir's
directory times, against the stamps recorded at the last sync); one that
changed on the server is asked for what changed since the last sync's
HIGHESTMODSEQ (RFC 7162: CHANGEDSINCE, and VANISHED with QRESYNC or a UID
SEARCH without). Whatever changes on either side, in whatever order, is
still synced: the stamps only ever spare what is the same.

Plain IMAP through tcp_proxy.py, which counts the bytes of each sync;
against Dovecot with QRESYNC, with CONDSTORE alone, and with neither."""

import contextlib
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import EX_NOPERM, EX_OK, FerryEnv, local_view, maildir_files, \
    maildir_set_flags, server_view  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402

# A Maildir change younger than this is not trusted to a stamp.
MARGIN = 2.2


class UnchangedFoldersTest(unittest.TestCase):
    condstore = True
    qresync = True

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-unchanged-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"), condstore=self.condstore,
                                    qresync=self.qresync)
        self.addCleanup(self.server.stop)
        self.proxy = TcpProxy(self.server.imap_port)
        self.addCleanup(self.proxy.stop)
        self.maildir = self.env.path("mail")
        self.configure()
        mail_corpus.fill(self.server, "INBOX", 600)
        mail_corpus.fill(self.server, "Archive", 400)

    def configure(self, **keys):
        self.env.write_sync_config(self.env.imap_account(
            "personal", self.server.host, self.proxy.port, self.server.user,
            self.server.password, security="none", maildir=self.maildir, **keys))

    def sync(self, stat="bytes_to_client"):
        self.proxy.reset_counters()
        result = self.env.sync()
        self.assertEqual(result.returncode, EX_OK, result.stderr.decode())
        self.assertTrue(self.proxy.settle(), "Ferry's connections did not close")
        return self.proxy.stats()[stat]

    def sync_turns(self):
        """The round trips of one sync, and what began each, for the
        failure message: a lost or extra turn says which it was."""
        turns = self.sync("client_turns")
        return turns, f"{turns} turns: {self.proxy.client_turn_starts!r}"

    def settle_behind_latency(self, latency_ms):
        """From now on through a proxy whose answers reach Ferry
        @latency_ms late, so that pieces of one flight are not taken for
        two; synced twice, the margin apart, so that every stamp holds."""
        self.proxy = TcpProxy(self.server.imap_port, latency_ms_to_client=latency_ms)
        self.addCleanup(self.proxy.stop)
        self.configure()
        self.sync()
        time.sleep(MARGIN)
        self.sync()

    CAPABILITIES_NOTE = "imap-capabilities"

    def capabilities_note(self):
        with contextlib.closing(sqlite3.connect(self.env.sync_state_path())) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?",
                             (self.CAPABILITIES_NOTE,)).fetchone()
        return row[0] if row else None

    def set_capabilities_note(self, value):
        with contextlib.closing(sqlite3.connect(self.env.sync_state_path())) as db, db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (self.CAPABILITIES_NOTE,))
            else:
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           (self.CAPABILITIES_NOTE, value))

    def assertInSync(self):
        self.assertEqual(local_view(self.maildir), server_view(self.server))

    def test_unchanged_folders_cost_almost_nothing(self):
        full = self.sync()
        # The first sync wrote every local folder, and proved their new
        # stamps when it was done: the next sync, at once, selects none.
        at_once = self.sync()
        time.sleep(MARGIN)
        quiet = self.sync()
        print(f"bytes from the server: full listing {full}, right after {at_once}, "
              f"unchanged {quiet}")
        self.assertGreater(full, 50_000)
        self.assertLess(at_once, 3_000)
        self.assertLess(quiet, 3_000)
        self.assertInSync()

    def test_login_and_listing_share_a_round_trip(self):
        """With the server's capabilities known from the last sync, the
        login, ENABLE and LIST go out together: one round trip less than
        when they are not known, which a resync of unchanged folders
        over a slow link mostly is."""
        self.settle_behind_latency(30)
        known = self.capabilities_note()
        before, after = known.split("\n")
        self.assertIn("AUTH=PLAIN", before.split())
        self.assertIn("SASL-IR", before.split())
        self.assertNotIn("AUTH=PLAIN", after.split())
        self.set_capabilities_note(None)
        unknown_turns, unknown_said = self.sync_turns()
        self.assertEqual(self.capabilities_note(), known)
        known_turns, known_said = self.sync_turns()
        self.assertEqual(known_turns, unknown_turns - 1,
                         f"known: {known_said}; unknown: {unknown_said}")
        if self.condstore:
            # The login with ENABLE and LIST, then LOGOUT.
            self.assertEqual(known_turns, 2, known_said)
        self.assertInSync()

    def test_a_changed_folder_costs_one_round_trip(self):
        """A folder the server changed is selected and asked what changed
        since the last sync in one flight (RFC 7162 CHANGEDSINCE, sent
        behind the SELECT): the login, that one flight, and LOGOUT."""
        self.settle_behind_latency(30)
        inbox = sorted(self.server.messages("INBOX"))
        self.server.set_flags("INBOX", inbox[5], ["\\Flagged"])
        self.server.expunge("INBOX", [inbox[6]])
        turns, said = self.sync_turns()
        if self.condstore:
            self.assertEqual(turns, 3, said)
        self.assertInSync()

    def test_new_mail_comes_with_its_message_id(self):
        """Mail that arrived since the last sync (from its UIDNEXT on) is
        told with its Message-ID by the changes asked with the SELECT,
        so that its bodies are asked for next: the login, that flight,
        the bodies, and LOGOUT."""
        self.settle_behind_latency(30)
        mail_corpus.fill(self.server, "INBOX", 5, start=600)
        turns, said = self.sync_turns()
        if self.condstore:
            self.assertEqual(turns, 4, said)
        self.assertInSync()

    def test_batches_of_new_mail_are_asked_for_ahead(self):
        """New mail comes in batches of 64 messages, each asked for
        before the one before has arrived: the server sends one after
        the other without waiting for a round trip (src/sync/
        sync-messages.c, copy_batches()). Of three batches, the first
        two go out together."""
        self.settle_behind_latency(30)
        mail_corpus.fill(self.server, "INBOX", 150, start=600)
        turns, said = self.sync_turns()
        body_turns = [start for start in self.proxy.client_turn_starts
                      if b"BODY.PEEK[])" in start]
        self.assertEqual(len(body_turns), 2, said)
        self.assertInSync()

    def test_a_folder_made_anew_is_listed_whole(self):
        """The changes asked with the SELECT are for the folder the last
        sync knew; a folder of the same name made anew (another
        UIDVALIDITY) answers them too, and that answer is dropped."""
        self.sync()
        time.sleep(MARGIN)
        self.sync()
        before = self.server.uidvalidity("Archive")
        self.assertNotEqual(self.server.recreate_folder_same_messages("Archive"), before)
        archive = sorted(self.server.messages("Archive"))
        self.server.set_flags("Archive", archive[0], ["\\Answered"])
        self.server.expunge("Archive", [archive[1]])
        self.sync()
        self.assertInSync()
        time.sleep(MARGIN)
        self.sync()
        if self.condstore:
            self.assertLess(self.sync(), 3_000)
        self.assertInSync()

    def test_capabilities_other_than_known_are_learnt_again(self):
        """A server that changed since the last sync (an upgrade, another
        server behind the name) answers commands built for what it had:
        they are sent again for what it has, and nothing is missed."""
        self.sync()
        known = self.capabilities_note()
        before, after = known.split("\n")
        self.server.append("INBOX", mail_corpus.make_message(9, "INBOX", 3))
        for wrong in (after + " XFERRY-GONE", "IMAP4REV1", after.replace(" LIST-STATUS", "")):
            with self.subTest(after_login=wrong):
                self.set_capabilities_note(before + "\n" + wrong)
                log = self.sync_logged()
                self.assertIn("not those of the last session", log)
                sent = [line.split(" C: ", 1)[1] for line in log.splitlines() if " C: " in line]
                lists = [c for c in sent if c.split()[1:2] == ["LIST"]]
                # The listing the sync went by is the one made for what
                # the server has.
                self.assertIn("RETURN (CHILDREN SPECIAL-USE", lists[-1])
                self.assertIn("STATUS (MESSAGES UIDNEXT UIDVALIDITY", lists[-1])
                self.assertEqual("HIGHESTMODSEQ" in lists[-1], self.condstore, lists)
                self.assertEqual(any(c.endswith(" ENABLE QRESYNC") for c in sent),
                                 self.condstore and self.qresync, sent)
                self.assertEqual(self.capabilities_note(), known)
                self.assertInSync()

    def test_refused_login_with_commands_after_it(self):
        """A login refused with ENABLE and LIST in flight behind it is
        told as the login's refusal; nothing local is touched."""
        self.sync()
        self.assertIsNotNone(self.capabilities_note())
        before = local_view(self.maildir)
        self.configure()
        password_file = self.env.path("imap-password-personal")
        with open(password_file, "w") as f:
            f.write("not-the-Password-4c2\n")
        result = self.env.sync()
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, EX_NOPERM, stderr)
        self.assertIn("refused the login", stderr)
        self.assertIn("password-command", stderr)
        self.assertNotIn("not-the-Password", stderr + result.stdout.decode())
        self.assertEqual(local_view(self.maildir), before)

    def test_local_change_right_after_a_sync_is_seen(self):
        self.sync()
        inbox = maildir_files(os.path.join(self.maildir, "INBOX"))
        maildir_set_flags(inbox[0].path, "FRS")
        os.unlink(inbox[1].path)
        self.sync()
        self.assertInSync()

    def test_server_changes_are_seen(self):
        self.sync()
        time.sleep(MARGIN)
        self.sync()
        inbox = sorted(self.server.messages("INBOX"))
        self.server.set_flags("INBOX", inbox[0], ["\\Flagged", "\\Seen"])
        self.server.set_flags("INBOX", inbox[1], [])
        self.server.expunge("INBOX", [inbox[2], inbox[-1]])
        self.server.append("Archive", mail_corpus.make_message(9, "Archive", 1))
        changed = self.sync()
        print(f"bytes from the server after 2 flag changes, 2 expunges, 1 new: {changed}")
        self.assertLess(changed, 10_000)
        self.assertInSync()
        # Ferry's own changes on the server come back as changes once.
        self.sync()
        time.sleep(MARGIN)
        self.assertLess(self.sync(), 3_000)
        self.assertInSync()

    def sync_logged(self):
        result = self.env.ferry("sync", env=dict(self.env.env, G_MESSAGES_DEBUG="all"))
        self.assertEqual(result.returncode, EX_OK, result.stderr.decode())
        # GLib writes debug messages to standard output.
        return result.stdout.decode()

    def test_server_changes_alone_read_only_what_changed(self):
        """With the local folder as the last sync left it, only the
        records of what the server changed are read (with QRESYNC, which
        tells all of it), and the local folder is not listed: a file is
        found by the name its flags give it, also one a mail reader named
        in its own way."""
        self.sync()
        inbox_dir = os.path.join(self.maildir, "INBOX")
        # As mutt leaves a message it showed in the index, still unread.
        unread = next(f for f in maildir_files(inbox_dir) if "/new/" in f.path)
        os.rename(unread.path, os.path.join(inbox_dir, "cur", os.path.basename(unread.path) + ":2,"))
        self.sync()
        time.sleep(MARGIN)
        self.sync()
        uids = {m.message_id: uid for uid, m in self.server.messages("INBOX").items()}
        inbox = sorted(uids.values())
        self.server.set_flags("INBOX", uids[unread.message_id], ["\\Seen"])
        self.server.set_flags("INBOX", inbox[3], ["\\Flagged", "\\Answered"])
        self.server.expunge("INBOX", [inbox[4]])
        self.server.append("INBOX", mail_corpus.make_message(9, "INBOX", 2))
        log = self.sync_logged()
        self.assertEqual("INBOX: only what changed on the server" in log,
                         self.condstore and self.qresync, log)
        self.assertInSync()
        # And the folder settles as ever.
        time.sleep(MARGIN)
        self.sync()
        if self.condstore:
            self.assertLess(self.sync(), 3_000)
        self.assertInSync()

    def test_every_connection_asks_as_enabled(self):
        """A second connection (max-connections) asks for a folder's
        changes as its ENABLE allows: with QRESYNC, VANISHED, never the
        UID SEARCH of every UID that stands in for it without (RFC 7162
        3.2.6). That ENABLE goes out with the login, unanswered; the
        question waits for its answer. INBOX gets new mail, fetched in two
        more round trips, so that Archive falls to the second connection."""
        self.settle_behind_latency(50)
        for folder in ("INBOX", "Archive"):
            uids = sorted(self.server.messages(folder))
            self.server.set_flags(folder, uids[3], ["\\Flagged"])
            self.server.expunge(folder, [uids[4]])
        for i in range(3):
            self.server.append("INBOX", mail_corpus.make_message(20 + i, "INBOX", 3))
        log = self.sync_logged()
        self.assertEqual(log.count("C: F1 AUTHENTICATE"), 2, log)
        for folder in ("INBOX", "Archive"):
            self.assertEqual(f"{folder}: only what changed on the server" in log,
                             self.condstore and self.qresync, log)
        self.assertEqual("UID SEARCH" in log, self.condstore and not self.qresync, log)
        self.assertInSync()

    def test_local_changes_are_seen(self):
        self.sync()
        time.sleep(MARGIN)
        self.sync()
        inbox = maildir_files(os.path.join(self.maildir, "INBOX"))
        # Right after the stamp (within the margin) and well after it.
        maildir_set_flags(inbox[0].path, "FS")
        self.sync()
        self.assertInSync()
        time.sleep(MARGIN)
        self.sync()
        time.sleep(MARGIN)
        maildir_set_flags(maildir_files(os.path.join(self.maildir, "INBOX"))[1].path, "RS")
        os.unlink(maildir_files(os.path.join(self.maildir, "Archive"))[0].path)
        time.sleep(MARGIN)
        self.sync()
        self.assertInSync()

    def test_a_larger_max_size_brings_in_what_it_left_out(self):
        big = mail_corpus.make_large_message(200 * 1024, seed=3)
        mail_corpus.deliver(self.server, "Archive", big, flags="S")
        self.configure(max_size="100K")
        self.sync()
        time.sleep(MARGIN)
        self.sync()
        archive = [message_id for message_id, _ in local_view(self.maildir)["Archive"]]
        self.assertNotIn("<large-3-204800@corpus.ferry.test>", archive)
        # Nothing changed on either side, yet the folder is looked at again.
        self.configure(max_size="1M")
        self.sync()
        self.assertInSync()


class CondstoreWithoutQresyncTest(UnchangedFoldersTest):
    """CONDSTORE alone: CHANGEDSINCE tells the flag changes and arrivals,
    and a UID SEARCH (ESEARCH) what is left, which tells the expunges."""
    qresync = False


class WithoutCondstoreTest(UnchangedFoldersTest):
    """Without CONDSTORE no STATUS item shows a flag change, so every
    folder is listed each time; nothing is skipped, nothing missed."""
    condstore = False

    def test_unchanged_folders_cost_almost_nothing(self):
        full = self.sync()
        time.sleep(MARGIN)
        again = self.sync()
        print(f"bytes from the server: first sync {full}, resync {again}")
        # Every UID and its flags, about 50 bytes a message.
        self.assertGreater(again, 40_000)
        self.assertInSync()

    def test_server_changes_are_seen(self):
        self.sync()
        inbox = sorted(self.server.messages("INBOX"))
        self.server.set_flags("INBOX", inbox[0], ["\\Flagged", "\\Seen"])
        self.server.expunge("INBOX", [inbox[2]])
        self.sync()
        self.assertInSync()


if __name__ == "__main__":
    unittest.main(verbosity=2)
