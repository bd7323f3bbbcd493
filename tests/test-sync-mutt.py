"""`ferry sync` beside a mail reader that works on the Maildir at the same
time: mutt renaming files in cur/ while a sync runs, a reader moving new
mail from new/ to cur/, and mu or notmuch moving or copying files to
another folder without renaming them."""

import os
import random
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from imap_script_server import ImapScriptServer  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402
from ferry_env import (EX_OK, EX_TEMPFAIL, FERRY, FerryEnv, imap_letters, local_view,  # noqa: E402
                       maildir_files, server_view)


class MuttTestCase(unittest.TestCase):
    def setUp(self):
        self.env = FerryEnv(prefix="ferry-mutt-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"))
        self.addCleanup(self.server.stop)
        self.maildir = self.env.path("mail")
        self.env.write_sync_config(self.env.dovecot_account(self.server, maildir=self.maildir))

    def sync(self):
        result = self.env.sync()
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_OK, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        return stdout, stderr

    def folder(self, name):
        return os.path.join(self.maildir, name)

    def remote_ids(self, folder):
        return sorted(m.message_id for m in self.server.messages(folder).values())

    def local_ids(self, folder):
        return sorted(f.message_id for f in maildir_files(self.folder(folder)))


class RenameDuringSyncTest(MuttTestCase):
    def test_renames_while_syncing(self):
        ids = mail_corpus.fill(self.server, "INBOX", 2000, flags="S")
        self.sync()
        uids = {m.message_id: uid for uid, m in self.server.messages("INBOX").items()}
        # Work for the next sync: new mail, and \Answered set on the server
        # for half of the messages the reader is about to flag.
        mail_corpus.fill(self.server, "INBOX", 200, start=2000, flags="S")
        answered = set(ids[:500])
        with self.server.imap() as conn:
            conn.select("INBOX")
            conn.uid("STORE", ",".join(str(uids[mid]) for mid in answered), "+FLAGS.SILENT",
                     "(\\Answered)")
        touched = ids[:1000]
        by_id = {f.message_id: os.path.basename(f.path).partition(":2,")[0]
                 for f in maildir_files(self.folder("INBOX"))}
        cur = os.path.join(self.folder("INBOX"), "cur")
        flagged = {}
        stop = threading.Event()
        renames_during_sync = [0]
        rng = random.Random(5)

        def current_name(unique):
            for name in os.listdir(cur):
                if name.partition(":2,")[0] == unique:
                    return name
            return None

        def reader():
            # Toggle \Flagged as mutt does, from each file's current name,
            # a few messages at a time (mutt writes its changes when it
            # syncs the mailbox).
            while not stop.wait(0.02):
                for _ in range(5):
                    toggle(rng.choice(touched))

        def toggle(mid):
            unique = by_id[mid]
            while True:
                name = current_name(unique)
                letters = set(name.partition(":2,")[2]) ^ {"F"}
                try:
                    os.rename(os.path.join(cur, name),
                              os.path.join(cur, unique + ":2," + "".join(sorted(letters))))
                    break
                except FileNotFoundError:
                    continue  # Ferry renamed it first: read its name again
            flagged[mid] = "F" in letters
            if ferry.poll() is None:
                renames_during_sync[0] += 1

        # Through a slow link, so that the sync lasts while the reader works.
        proxy = TcpProxy(self.server.imap_port, latency_ms=5)
        self.addCleanup(proxy.stop)
        self.env.write_sync_config(self.env.imap_account(
            "personal", self.server.tls_host, proxy.port, self.server.user, self.server.password,
            maildir=self.maildir, ca_file=self.server.ca_file))
        ferry = self.env.spawn([FERRY, "sync"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        thread = threading.Thread(target=reader)
        thread.start()
        try:
            stdout, stderr = ferry.communicate(timeout=120)
        finally:
            stop.set()
            thread.join()
        # A folder that never holds still may be left for the next sync, saying so.
        if ferry.returncode == EX_TEMPFAIL:
            self.assertIn(b"the next sync tries again", stderr)
        else:
            self.assertEqual(ferry.returncode, EX_OK, stderr.decode())
        self.assertGreater(renames_during_sync[0], 50, "the reader did not run during the sync")

        stdout, stderr = self.sync()
        self.sync()  # flags the first pass saw change go across
        view = local_view(self.maildir)
        self.assertEqual(view, server_view(self.server))
        self.assertEqual([mid for mid, _ in view["INBOX"]],
                         sorted(mail_corpus.message_id(1, "INBOX", i) for i in range(2200)))
        letters = dict(view["INBOX"])
        for mid in ids:
            want = {"S"}
            if mid in answered:
                want.add("R")
            if flagged.get(mid):
                want.add("F")
            self.assertEqual(letters[mid], "".join(sorted(want)), mid)


class FlagsChangedMidSyncTest(unittest.TestCase):
    """The race above, made certain: the reader changes a message's flags
    after Ferry read them and before Ferry writes the merged ones."""

    def test_reader_change_during_sync_survives(self):
        env = FerryEnv(prefix="ferry-mutt-")
        self.addCleanup(env.cleanup)
        messages = [{"uid": uid, "flags": ["\\Seen"],
                     "data": mail_corpus.make_message(4, "INBOX", uid, crlf=True).decode()}
                    for uid in (1, 2)]
        server = ImapScriptServer({"tls": "starttls", "folders": [
            {"name": "INBOX", "uidvalidity": 7, "messages": messages}]}, env.path("script"))
        self.addCleanup(server.stop)
        maildir = env.path("mail")
        env.write_sync_config(env.imap_account(
            "personal", server.host, server.port, server.user, server.password,
            maildir=maildir, ca_file=server.ca_file))
        self.assertEqual(env.sync().returncode, EX_OK)
        cur = os.path.join(maildir, "INBOX", "cur")
        mid = mail_corpus.message_id(4, "INBOX", 1)
        (path,) = [f.path for f in maildir_files(os.path.join(maildir, "INBOX"))
                   if f.message_id == mid]
        unique = os.path.basename(path).partition(":2,")[0]

        # Answered on the server, flagged here: the merge is F R S, and
        # Ferry stores \Flagged on the server before it renames the file.
        server.folders[b"INBOX"].messages[0].flags.add("\\Answered")
        os.rename(path, os.path.join(cur, unique + ":2,FS"))
        server.add_fault("UID STORE", "delay", seconds=2)
        ferry = env.spawn([FERRY, "sync"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not any(b"STORE" in c.upper() for _, c in server.commands()[-3:]):
            self.assertIsNone(ferry.poll(), "ferry sync ended without storing flags")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        # Meanwhile the user takes the flag off again.
        os.rename(os.path.join(cur, unique + ":2,FS"), os.path.join(cur, unique + ":2,S"))
        _, stderr = ferry.communicate(timeout=60)
        self.assertEqual(ferry.returncode, EX_OK, stderr.decode())
        self.assertEqual(env.sync().returncode, EX_OK)

        (letters,) = [f.letters for f in maildir_files(os.path.join(maildir, "INBOX"))
                      if f.message_id == mid]
        self.assertEqual(letters, "RS", "the reader's latest change was lost")
        self.assertEqual(server.folders[b"INBOX"].messages[0].flags, {"\\Seen", "\\Answered"})


class ReaderMovesTest(MuttTestCase):
    def setUp(self):
        super().setUp()
        self.ids = mail_corpus.fill(self.server, "INBOX", 5, flags="S")
        self.archived = mail_corpus.fill(self.server, "Archive", 2, flags="S")
        self.sync()

    def file_of(self, folder, mid):
        return next(f.path for f in maildir_files(self.folder(folder)) if f.message_id == mid)

    def test_moved_without_renaming(self):
        # As mu and notmuch move mail: the same file name, another folder.
        moved = self.ids[1]
        path = self.file_of("INBOX", moved)
        os.rename(path, os.path.join(self.folder("Archive"), "cur", os.path.basename(path)))
        stdout, stderr = self.sync()
        # A notice at most, never an error.
        self.assertEqual([line for line in stderr.splitlines() if ": warning: " not in line], [])
        self.assertNotIn(moved, self.local_ids("INBOX"))
        self.assertNotIn(moved, self.remote_ids("INBOX"))
        self.assertEqual(self.local_ids("Archive"), sorted(self.archived + [moved]))
        self.assertEqual(self.remote_ids("Archive"), sorted(self.archived + [moved]))
        self.assertEqual(local_view(self.maildir), server_view(self.server))
        stdout, stderr = self.sync()
        self.assertEqual(stderr, "")
        self.assertEqual(local_view(self.maildir), server_view(self.server))

    def test_moved_into_new_without_renaming(self):
        moved = self.ids[2]
        path = self.file_of("INBOX", moved)
        unique = os.path.basename(path).partition(":2,")[0]
        os.rename(path, os.path.join(self.folder("Archive"), "new", unique))
        self.sync()
        self.assertEqual(self.remote_ids("INBOX"), sorted(set(self.ids) - {moved}))
        self.assertEqual(self.remote_ids("Archive"), sorted(self.archived + [moved]))
        self.assertEqual(local_view(self.maildir), server_view(self.server))

    def test_copied_without_renaming(self):
        copied = self.ids[3]
        path = self.file_of("INBOX", copied)
        shutil.copy2(path, os.path.join(self.folder("Archive"), "cur", os.path.basename(path)))
        stdout, stderr = self.sync()
        self.assertEqual(stderr, "")
        self.assertEqual(self.local_ids("INBOX"), sorted(self.ids))
        self.assertEqual(self.remote_ids("INBOX"), sorted(self.ids))
        self.assertEqual(self.local_ids("Archive"), sorted(self.archived + [copied]))
        self.assertEqual(self.remote_ids("Archive"), sorted(self.archived + [copied]))
        self.sync()
        self.assertEqual(local_view(self.maildir), server_view(self.server))

    def test_new_to_cur_is_a_flag_change(self):
        uid = self.server.append("INBOX", mail_corpus.make_message(3, "INBOX", 50, crlf=True))
        self.sync()
        new_dir = os.path.join(self.folder("INBOX"), "new")
        (name,) = os.listdir(new_dir)
        # A reader shows the message: new/ to cur/, marked seen.
        os.rename(os.path.join(new_dir, name),
                  os.path.join(self.folder("INBOX"), "cur", name + ":2,S"))
        stdout, _ = self.sync()
        self.assertIn("personal: INBOX: 0 fetched, 0 uploaded, 1 flag changes", stdout)
        self.assertEqual(imap_letters(self.server.messages("INBOX")[uid].flags), "S")
        self.assertEqual(len(self.local_ids("INBOX")), 6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
