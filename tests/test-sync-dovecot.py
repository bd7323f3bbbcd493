"""`ferry sync` against a real Dovecot: the first sync, new messages, flags
and deletions both ways under every policy, conflicts, folders made and
removed, dry runs, one folder, two accounts at once, refused logins and
certificates, file modes, max-size, both Maildir layouts, strip-prefix
and folder-map.

The core tests run four times: over STARTTLS and over IMAPS, each with a
server that offers CONDSTORE and one that does not."""

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import (EX_CONFIG, EX_NOPERM, EX_OK, FerryEnv, as_imap, as_maildir,  # noqa: E402
                       imap_letters, local_view, maildir_deliver, maildir_files,
                       maildir_folders, maildir_set_flags, server_view)
from imap_script_server import ImapScriptServer  # noqa: E402

POLICIES = ("none", "local", "remote", "both")


def message(index, folder="test", seed=7):
    """A corpus message with LF line ends, as a Maildir holds them."""
    return mail_corpus.make_message(seed, folder, index)


def message_id(index, folder="test", seed=7):
    return mail_corpus.message_id(seed, folder, index)


def spki_pin(cert_file):
    """The documented imap-tls-fingerprint of a certificate: sha256// and
    the base64 SHA-256 of its DER SubjectPublicKeyInfo."""
    pem = subprocess.run(["openssl", "x509", "-in", cert_file, "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def tree_snapshot(root):
    """Every path under root with its mode and, for files, a digest."""
    snapshot = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            digest = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            snapshot[os.path.relpath(path, root)] = (stat.S_IMODE(st.st_mode), digest)
    return snapshot


class SyncTestCase(unittest.TestCase):
    security = "starttls"
    condstore = True
    separator = "/"

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-sync-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"), condstore=self.condstore,
                                    imaps=self.security == "tls", separator=self.separator)
        self.addCleanup(self.server.stop)
        self.maildir = self.env.path("mail")
        self.configure()

    def configure(self, **keys):
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, security=self.security, maildir=self.maildir, **keys))

    def sync(self, *args, status=EX_OK):
        result = self.env.sync(*args)
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, status,
                         f"ferry sync {' '.join(args)}\nstdout:\n{stdout}\nstderr:\n{stderr}")
        return stdout, stderr

    def server_log(self):
        with open(self.server.log_path) as f:
            return f.read()

    def folder_dir(self, name):
        return os.path.join(self.maildir, name)

    def local(self, folder):
        """{Message-ID: MaildirFile} of a local folder; fails on duplicates."""
        files = maildir_files(self.folder_dir(folder))
        by_id = {f.message_id: f for f in files}
        self.assertEqual(len(by_id), len(files), f"duplicates in {folder}: {files}")
        return by_id

    def remote(self, folder, bodies=False):
        """{Message-ID: (uid, Message)} of a server folder; fails on duplicates."""
        messages = self.server.messages(folder, bodies=bodies)
        by_id = {m.message_id: (uid, m) for uid, m in messages.items()}
        self.assertEqual(len(by_id), len(messages), f"duplicates in {folder} on the server")
        return by_id

    def remote_letters(self, folder):
        return {mid: imap_letters(m.flags) for mid, (_, m) in self.remote(folder).items()}

    def local_letters(self, folder):
        return {mid: f.letters for mid, f in self.local(folder).items()}

    maxDiff = None

    def assertInSync(self, strip_prefix="", subfolders="verbatim"):
        self.assertEqual(local_view(self.maildir, subfolders), server_view(self.server, strip_prefix))

    def assertUpToDate(self, *args):
        stdout, _ = self.sync(*args)
        folder_lines = [line for line in stdout.splitlines() if line.startswith("personal: ")]
        self.assertTrue(folder_lines, stdout)
        for line in folder_lines:
            self.assertTrue(line.endswith(": up to date"), stdout)
        return stdout


class CoreSync:
    """Run for every transport and CONDSTORE variant."""

    def test_initial_sync(self):
        mail_corpus.fill(self.server, "INBOX", 40)
        mail_corpus.fill(self.server, "Archive/2024", 30)
        self.server.create_folder("Sent")
        mail_corpus.fill(self.server, "Sent", 10)
        self.server.append("Sent", message(1, "Sent"), flags=["\\Draft", "\\Flagged"])

        stdout, stderr = self.sync()
        self.assertIn("personal: INBOX: 40 fetched, 0 uploaded, 0 flag changes, 0 deleted, "
                      "0 skipped", stdout)
        self.assertIn("personal: Archive/2024: 30 fetched,", stdout)
        self.assertIn("personal: Sent: 11 fetched,", stdout)
        self.assertRegex(stdout, r"\n3 folders in 1 accounts?: 81 fetched, 0 uploaded")
        self.assertEqual(stderr, "")
        self.assertInSync()
        self.assertEqual(self.local_letters("Sent")[message_id(1, "Sent")], "DF")

        # Every body of the INBOX, byte for byte but for LF line ends here.
        local = self.local("INBOX")
        for mid, (uid, m) in self.remote("INBOX", bodies=True).items():
            self.assertIn(b"\r\n", m.rfc822)
            with open(local[mid].path, "rb") as f:
                self.assertEqual(f.read(), as_maildir(m.rfc822), f"body of {mid} (UID {uid})")

        self.assertUpToDate()
        self.assertInSync()

    def test_new_messages_both_ways(self):
        mail_corpus.fill(self.server, "INBOX", 10)
        mail_corpus.fill(self.server, "Archive", 5)
        self.sync()

        for i in range(3):
            self.server.append("INBOX", message(100 + i), flags=["\\Seen"] if i else [])
        unseen = maildir_deliver(self.folder_dir("INBOX"), message(200), "")
        flagged = maildir_deliver(self.folder_dir("INBOX"), message(201), "FS")
        archived = maildir_deliver(self.folder_dir("Archive"), message(202), "S")
        stdout, _ = self.sync()
        self.assertIn("personal: INBOX: 3 fetched, 2 uploaded, 0 flag changes", stdout)
        self.assertIn("personal: Archive: 0 fetched, 1 uploaded, 0 flag changes", stdout)
        self.assertInSync()

        remote = self.remote("INBOX", bodies=True)
        local = self.local("INBOX")
        for path, index in ((unseen, 200), (flagged, 201)):
            with open(path, "rb") as f:
                self.assertEqual(f.read(), message(index))
            self.assertEqual(remote[message_id(index)][1].rfc822, as_imap(message(index)))
        self.assertEqual(imap_letters(remote[message_id(200)][1].flags), "")
        self.assertEqual(imap_letters(remote[message_id(201)][1].flags), "FS")
        for i in range(3):
            with open(local[message_id(100 + i)].path, "rb") as f:
                self.assertEqual(f.read(), as_maildir(remote[message_id(100 + i)][1].rfc822))
                self.assertEqual(as_maildir(remote[message_id(100 + i)][1].rfc822),
                                 message(100 + i))
        with open(archived, "rb") as f:
            self.assertEqual(self.remote("Archive", bodies=True)[message_id(202)][1].rfc822,
                             as_imap(f.read()))
        self.assertUpToDate()

    def test_flags_both_ways(self):
        ids = mail_corpus.fill(self.server, "INBOX", 12, flags="S")
        self.sync()
        remote = {mid: uid for mid, (uid, _) in self.remote("INBOX").items()}
        local = self.local("INBOX")

        def on_server(i, flags):
            self.server.set_flags("INBOX", remote[ids[i]], flags)

        def here(i, letters):
            maildir_set_flags(local[ids[i]].path, letters)

        on_server(0, ["\\Seen", "\\Flagged"])
        on_server(1, [])
        on_server(2, ["\\Seen", "\\Answered"])
        here(3, "FS")
        here(4, "")
        here(5, "DS")
        # Both sides changed: each flag takes the value of the side that changed it.
        on_server(6, ["\\Seen", "\\Flagged"])
        here(6, "RS")
        on_server(7, [])
        here(7, "FS")
        on_server(8, ["\\Seen", "\\Flagged"])
        here(8, "FS")
        on_server(9, ["\\Flagged"])
        here(9, "R")
        # A keyword Ferry does not map stays on the server.
        on_server(10, ["\\Seen", "$Label1"])
        here(10, "FS")

        stdout, _ = self.sync()
        self.assertNotIn("personal: INBOX: up to date", stdout)
        expected = ["FS", "", "RS", "FS", "", "DS", "FRS", "F", "FS", "FR", "FS", "S"]
        self.assertEqual(self.local_letters("INBOX"), dict(zip(ids, expected)))
        self.assertEqual(self.remote_letters("INBOX"), dict(zip(ids, expected)))
        self.assertIn("$Label1", self.remote("INBOX")[ids[10]][1].flags)
        self.assertInSync()
        self.assertUpToDate()

    def test_deletions_under_each_expunge_policy(self):
        ids = {}
        for policy in POLICIES:
            self.server.create_folder(f"exp-{policy}")
            ids[policy] = mail_corpus.fill(self.server, f"exp-{policy}", 6, flags="S")
        self.sync()

        for policy in POLICIES:
            folder = f"exp-{policy}"
            local = self.local(folder)
            remote = {mid: uid for mid, (uid, _) in self.remote(folder).items()}
            m = ids[policy]
            os.unlink(local[m[0]].path)                       # deleted here
            maildir_set_flags(local[m[1]].path, "ST")         # marked deleted here
            self.server.expunge(folder, [remote[m[2]]])       # deleted on the server
            self.server.set_flags(folder, remote[m[3]], ["\\Seen", "\\Deleted"])

        for policy in POLICIES:
            folder = f"exp-{policy}"
            m = ids[policy]
            self.configure(expunge=policy)
            stdout, _ = self.sync(f"personal:{folder}")
            self.assertNotIn("personal: INBOX", stdout)
            remote_gone = policy in ("remote", "both")
            local_gone = policy in ("local", "both")
            want_remote = {m[4]: "S", m[5]: "S"}
            want_local = {m[4]: "S", m[5]: "S"}
            if not remote_gone:
                want_remote.update({m[0]: "ST", m[1]: "ST", m[3]: "ST"})
            if not local_gone:
                want_local.update({m[1]: "ST", m[2]: "ST", m[3]: "ST"})
            with self.subTest(expunge=policy):
                self.assertEqual(self.remote_letters(folder), want_remote)
                self.assertEqual(self.local_letters(folder), want_local)
                # Nothing comes back.
                self.assertUpToDate(f"personal:{folder}")
                self.assertEqual(self.remote_letters(folder), want_remote)
                self.assertEqual(self.local_letters(folder), want_local)

        # Taking the mark off a kept copy sends it back as a new message.
        self.configure(expunge="none")
        uid = self.remote("exp-none")[ids["none"][0]][0]
        self.server.set_flags("exp-none", uid, ["\\Seen"])
        self.sync("personal:exp-none")
        self.assertEqual(self.local_letters("exp-none")[ids["none"][0]], "S")
        self.assertEqual(self.remote_letters("exp-none")[ids["none"][0]], "S")

    def test_new_messages_marked_deleted_under_one_sided_expunge(self):
        """A new message marked deleted is copied, marked, to the side that
        keeps such messages, and removed where it was: the copy's record
        remembers that, so it does not go back even when nothing is
        expunged any more."""
        base = {}
        for policy in ("remote", "local"):
            folder = f"new-{policy}"
            self.server.create_folder(folder)
            base[policy] = {mid: "S" for mid in mail_corpus.fill(self.server, folder, 2, flags="S")}
        self.sync()

        for policy in ("remote", "local"):
            folder = f"new-{policy}"
            want_remote, want_local = dict(base[policy]), dict(base[policy])
            if policy == "remote":
                self.server.append(folder, message(300, folder), flags=["\\Seen", "\\Deleted"])
                want_local[message_id(300, folder)] = "ST"
            else:
                maildir_deliver(self.folder_dir(folder), message(300, folder), "ST")
                want_remote[message_id(300, folder)] = "ST"
            self.configure(expunge=policy)
            self.sync(f"personal:{folder}")
            with self.subTest(expunge=policy):
                self.assertEqual(self.remote_letters(folder), want_remote)
                self.assertEqual(self.local_letters(folder), want_local)
                self.configure(expunge="none")
                self.assertUpToDate(f"personal:{folder}")
                self.assertEqual(self.remote_letters(folder), want_remote)
                self.assertEqual(self.local_letters(folder), want_local)

    def test_change_wins_over_deletion(self):
        ids = mail_corpus.fill(self.server, "INBOX", 4, flags="S")
        self.sync()
        remote = {mid: uid for mid, (uid, _) in self.remote("INBOX").items()}
        local = self.local("INBOX")
        # Deleted on the server, flagged here.
        self.server.expunge("INBOX", [remote[ids[0]]])
        maildir_set_flags(local[ids[0]].path, "FS")
        # Deleted here, flagged on the server.
        os.unlink(local[ids[1]].path)
        self.server.set_flags("INBOX", remote[ids[1]], ["\\Seen", "\\Flagged"])

        self.sync()
        want = {ids[0]: "FS", ids[1]: "FS", ids[2]: "S", ids[3]: "S"}
        self.assertEqual(self.local_letters("INBOX"), want)
        self.assertEqual(self.remote_letters("INBOX"), want)
        self.assertNotEqual(self.remote("INBOX")[ids[0]][0], remote[ids[0]],
                            "the message deleted on the server comes back as a new one")
        self.assertInSync()
        self.assertUpToDate()
        self.assertEqual(self.local_letters("INBOX"), want)


class CoreStartTlsCondstore(CoreSync, SyncTestCase):
    security = "starttls"
    condstore = True


class CoreStartTlsPlain(CoreSync, SyncTestCase):
    security = "starttls"
    condstore = False


class CoreImapsCondstore(CoreSync, SyncTestCase):
    security = "tls"
    condstore = True


class CoreImapsPlain(CoreSync, SyncTestCase):
    security = "tls"
    condstore = False


class FolderPolicyTest(SyncTestCase):
    def test_create_under_each_policy(self):
        for policy in POLICIES:
            self.server.create_folder(f"srv-{policy}")
            mail_corpus.fill(self.server, f"srv-{policy}", 2, flags="S")
            for i in range(2):
                maildir_deliver(self.folder_dir(f"loc-{policy}"), message(i, f"loc-{policy}"))

        for policy in POLICIES:
            self.configure(create=policy)
            stdout, stderr = self.sync(f"personal:srv-{policy}", f"personal:loc-{policy}")
            with self.subTest(create=policy):
                local_made = policy in ("local", "both")
                remote_made = policy in ("remote", "both")
                self.assertEqual(os.path.isdir(self.folder_dir(f"srv-{policy}")), local_made)
                self.assertEqual(f"loc-{policy}" in self.server.list_folders(), remote_made)
                if local_made:
                    self.assertEqual(len(self.local(f"srv-{policy}")), 2)
                else:
                    self.assertRegex(stderr, rf"ferry: personal: srv-{policy}: warning: .*create")
                if remote_made:
                    self.assertEqual(len(self.remote(f"loc-{policy}")), 2)
                else:
                    self.assertRegex(stderr, rf"ferry: personal: loc-{policy}: warning: .*create")

    def test_remove_under_each_policy(self):
        for policy in POLICIES:
            for case in ("A", "B", "C", "D"):
                self.server.create_folder(f"{case}-{policy}")
            # B and D hold messages; A and C are empty.
            mail_corpus.fill(self.server, f"B-{policy}", 2, flags="S")
            mail_corpus.fill(self.server, f"D-{policy}", 2, flags="S")
        self.sync()
        for policy in POLICIES:
            shutil.rmtree(self.folder_dir(f"A-{policy}"))   # empty, deleted here
            shutil.rmtree(self.folder_dir(f"B-{policy}"))   # not empty, deleted here
            self.server.delete_folder(f"C-{policy}")        # empty, deleted on the server
            self.server.delete_folder(f"D-{policy}")        # not empty, deleted on the server

        for policy in POLICIES:
            self.configure(remove=policy)
            folders = [f"{case}-{policy}" for case in "ABCD"]
            with self.subTest(remove=policy):
                self.sync(*(f"personal:{f}" for f in folders))
                on_server = set(self.server.list_folders())
                here = set(maildir_folders(self.maildir))
                a_removed = policy in ("remote", "both")
                c_removed = policy in ("local", "both")
                self.assertEqual(f"A-{policy}" in on_server, not a_removed)
                self.assertEqual(f"A-{policy}" in here, not a_removed)
                self.assertEqual(f"C-{policy}" in on_server, not c_removed)
                self.assertEqual(f"C-{policy}" in here, not c_removed)
                # A folder that still holds messages is never deleted.
                for folder in (f"B-{policy}", f"D-{policy}"):
                    self.assertIn(folder, on_server)
                    self.assertIn(folder, here)
                    self.assertEqual(len(self.local(folder)), 2)
                    self.assertEqual(len(self.remote(folder)), 2)
        self.configure()
        self.assertUpToDate()
        self.assertInSync()


class SyncFeaturesTest(SyncTestCase):
    def test_dry_run_changes_nothing(self):
        ids = mail_corpus.fill(self.server, "INBOX", 10, flags="S")
        mail_corpus.fill(self.server, "Archive", 5, flags="S")
        self.sync()
        remote = {mid: uid for mid, (uid, _) in self.remote("INBOX").items()}
        local = self.local("INBOX")
        self.server.append("INBOX", message(100), flags=["\\Seen"])
        self.server.append("INBOX", message(101))
        self.server.set_flags("INBOX", remote[ids[0]], ["\\Seen", "\\Flagged"])
        self.server.expunge("INBOX", [remote[ids[1]]])
        maildir_deliver(self.folder_dir("INBOX"), message(102), "S")
        maildir_set_flags(local[ids[2]].path, "RS")
        os.unlink(local[ids[3]].path)
        self.server.create_folder("NewRemote")
        self.server.append("NewRemote", message(103))
        maildir_deliver(self.folder_dir("NewLocal"), message(104))

        state_dir = os.path.dirname(self.env.sync_state_path())
        before = (tree_snapshot(self.maildir), server_view(self.server),
                  tree_snapshot(state_dir))
        stdout, _ = self.sync("--dry-run")
        after = (tree_snapshot(self.maildir), server_view(self.server), tree_snapshot(state_dir))
        self.assertEqual(before[0], after[0], "the Maildir changed")
        self.assertEqual(before[1], after[1], "the server changed")
        self.assertEqual(before[2], after[2], "the sync state changed")
        for plan in ("would fetch 2 new messages", "would upload 1 new messages",
                     "would change the flags", "would create the folder"):
            self.assertIn(plan, stdout)
        self.assertIn("Dry run, nothing changed", stdout)
        stdout_n, _ = self.sync("-n")
        self.assertEqual(tree_snapshot(self.maildir), before[0])

        stdout, _ = self.sync()
        self.assertIn("personal: INBOX: 2 fetched, 1 uploaded", stdout)
        self.assertInSync()

    def test_one_folder(self):
        mail_corpus.fill(self.server, "INBOX", 5)
        mail_corpus.fill(self.server, "Archive", 5)
        mail_corpus.fill(self.server, "Sent", 3)
        self.sync()
        self.server.append("INBOX", message(100))
        self.server.append("Archive", message(101))
        maildir_deliver(self.folder_dir("INBOX"), message(102))
        maildir_deliver(self.folder_dir("Sent"), message(103))
        self.server.create_folder("Other")
        self.server.append("Other", message(104))

        stdout, _ = self.sync("personal:Archive")
        self.assertIn("personal: Archive: 1 fetched, 0 uploaded", stdout)
        self.assertNotRegex(stdout, r"personal: (INBOX|Sent|Other):")
        self.assertRegex(stdout, r"\n1 folders? in 1 accounts?")
        self.assertIn(message_id(101), self.local("Archive"))
        self.assertNotIn(message_id(100), self.local("INBOX"))
        self.assertNotIn(message_id(102), self.remote("INBOX"))
        self.assertNotIn(message_id(103), self.remote("Sent"))
        self.assertFalse(os.path.exists(self.folder_dir("Other")))

        stdout, _ = self.sync("personal:INBOX")
        self.assertIn("personal: INBOX: 1 fetched, 1 uploaded", stdout)
        self.assertNotIn(message_id(103), self.remote("Sent"))
        self.sync()
        self.assertInSync()

    def two_accounts(self, parallel):
        other_maildir = self.env.path("mail-work")
        self.env.write_sync_config(
            self.env.dovecot_account(self.server, maildir=self.maildir),
            self.env.imap_account("work", self.server.tls_host, self.server.imap_port, "other",
                                  self.server.users["other"], maildir=other_maildir,
                                  ca_file=self.server.ca_file),
            general=f"max-parallel-accounts = {parallel}")
        with open(self.server.log_path) as f:
            f.seek(0, 2)
            start = f.tell()
        stdout, _ = self.sync()
        with open(self.server.log_path) as f:
            f.seek(start)
            log = f.read().splitlines()
        self.assertIn("personal: INBOX: 400 fetched", stdout)
        self.assertIn("work: INBOX: 300 fetched", stdout)
        self.assertRegex(stdout, r"\n2 folders in 2 accounts: 700 fetched")
        self.assertEqual(local_view(self.maildir), server_view(self.server))
        self.assertEqual(len(local_view(other_maildir)["INBOX"]), 300)
        sessions = {}
        for number, line in enumerate(log):
            m = re.search(r"imap-login: (?:Info: )?Login: user=<(\w+)>", line) or \
                re.search(r"imap\((\w+)\).*Disconnected", line)
            if m:
                first, _ = sessions.get(m.group(1), (number, number))
                sessions[m.group(1)] = (first, number)
        self.assertEqual(set(sessions), {"ferry", "other"}, log)
        for user, (first, last) in sessions.items():
            self.assertIn("Login", log[first], log)
            self.assertIn("Disconnected", log[last], log)
        (a_start, a_end), (b_start, b_end) = sessions["ferry"], sessions["other"]
        return a_start < b_end and b_start < a_end

    def test_two_accounts_in_parallel(self):
        mail_corpus.fill(self.server, "INBOX", 400)
        mail_corpus.fill(self.server, "INBOX", 300, seed=2, user="other")
        self.assertTrue(self.two_accounts(parallel=2), "the two accounts were not synced at once")

    def test_two_accounts_one_at_a_time(self):
        mail_corpus.fill(self.server, "INBOX", 400)
        mail_corpus.fill(self.server, "INBOX", 300, seed=2, user="other")
        self.assertFalse(self.two_accounts(parallel=1),
                         "max-parallel-accounts = 1 synced two accounts at once")

    def test_wrong_password(self):
        mail_corpus.fill(self.server, "INBOX", 3)
        secret = "wrong-Secret-83a1"
        self.env.write_sync_config(self.env.imap_account(
            "personal", self.server.tls_host, self.server.imap_port, self.server.user, secret,
            maildir=self.maildir, ca_file=self.server.ca_file))
        stdout, stderr = self.sync(status=EX_NOPERM)
        self.assertNotIn(secret, stdout + stderr)
        self.assertIn("personal", stderr)
        # The password comes from password-command: that is what to fix.
        self.assertIn("password-command", stderr)
        self.assertEqual(local_view(self.maildir).get("INBOX", []), [])

    def test_wrong_pin_refused(self):
        mail_corpus.fill(self.server, "INBOX", 3)
        wrong = "sha256//" + base64.b64encode(b"\0" * 32).decode()
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, maildir=self.maildir, trusted=False, imap_tls_fingerprint=wrong))
        result = self.env.sync()
        stderr = result.stderr.decode()
        # Refused for not matching, not as a malformed setting.
        self.assertNotIn(result.returncode, (EX_OK, EX_CONFIG), stderr)
        self.assertIn("imap-tls-fingerprint", stderr)
        self.assertNotIn("Login: user=<ferry>", self.server_log())

    def test_modes(self):
        os.umask(0o022)
        mail_corpus.fill(self.server, "INBOX", 3)
        mail_corpus.fill(self.server, "Archive/2024", 2)
        self.sync()
        self.assertEqual(stat.S_IMODE(os.stat(self.maildir).st_mode), 0o700)
        maildir_deliver(self.env.path("mail", "Made", "Here"), message(1))
        self.sync()
        self.assertIn("Made/Here", self.server.list_folders())
        state = self.env.sync_state_path()
        self.assertEqual(stat.S_IMODE(os.stat(state).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(state)).st_mode), 0o700)
        for directory, subdirs, files in os.walk(self.maildir):
            for name in subdirs:
                path = os.path.join(directory, name)
                if path == self.env.path("mail", "Made"):
                    continue  # made by the test (Made/Here is 0700 too)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700, path)
            for name in files:
                path = os.path.join(directory, name)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o077, 0, path)

    def test_max_size(self):
        mail_corpus.fill(self.server, "INBOX", 3)
        big_remote = mail_corpus.make_large_message(200 * 1024, seed=1)
        mail_corpus.deliver(self.server, "INBOX", big_remote, flags="S")
        big_local = mail_corpus.make_large_message(300 * 1024, seed=2)
        self.configure(max_size="100K")
        stdout, stderr = self.sync()  # makes the local INBOX
        self.assertEqual(len(self.local("INBOX")), 3)
        self.assertIn("1 skipped", stdout.splitlines()[-1])
        maildir_deliver(self.folder_dir("INBOX"), big_local, "S")
        again, again_stderr = self.sync()
        # The message skipped on the server is said again only where the
        # server is listed whole (no CONDSTORE); with it, only what
        # changed is listed.
        skipped = 1 if self.condstore else 2
        self.assertIn("personal: INBOX: 0 fetched, 0 uploaded, 0 flag changes, 0 deleted, "
                      f"{skipped} skipped", again)
        warnings = [line for line in (stderr + again_stderr).splitlines() if "max-size" in line]
        self.assertEqual(len(warnings), 1 + skipped, stderr + again_stderr)
        for line in warnings:
            self.assertTrue(line.startswith("ferry: personal: INBOX: warning: "), line)
        self.assertEqual(len(self.remote("INBOX")), 4)
        self.assertEqual(len(self.local("INBOX")), 4)
        self.assertNotIn("<large-2-307200@corpus.ferry.test>", self.remote("INBOX"))
        self.assertNotIn("<large-1-204800@corpus.ferry.test>", self.local("INBOX"))

    def test_maildirpp_layout(self):
        mail_corpus.fill(self.server, "INBOX", 2)
        mail_corpus.fill(self.server, "Archive/2024", 2)
        mail_corpus.fill(self.server, "Lists/ferry", 2)
        self.configure(subfolders="maildir++")
        self.sync()
        for path in ("cur", ".Archive.2024/cur", ".Lists.ferry/cur"):
            self.assertTrue(os.path.isdir(os.path.join(self.maildir, path)), path)
        self.assertFalse(os.path.exists(os.path.join(self.maildir, "INBOX")))
        self.assertFalse(os.path.exists(os.path.join(self.maildir, "Archive")))
        self.assertInSync(subfolders="maildir++")
        maildir_deliver(os.path.join(self.maildir, ".Projects.x"), message(1))
        self.sync()
        self.assertIn("Projects/x", self.server.list_folders())
        self.assertInSync(subfolders="maildir++")

    def test_verbatim_layout(self):
        mail_corpus.fill(self.server, "INBOX", 2)
        mail_corpus.fill(self.server, "Archive/2024", 2)
        self.sync()
        for path in ("INBOX/cur", "Archive/2024/cur"):
            self.assertTrue(os.path.isdir(os.path.join(self.maildir, path)), path)
        self.assertFalse(os.path.exists(os.path.join(self.maildir, "Archive", "cur")))
        self.assertFalse(os.path.exists(os.path.join(self.maildir, "cur")))
        maildir_deliver(self.folder_dir("Projects/x"), message(1))
        self.sync()
        self.assertIn("Projects/x", self.server.list_folders())
        self.assertInSync()

    def test_folder_map(self):
        mail_corpus.fill(self.server, "INBOX", 1)
        mail_corpus.fill(self.server, "Lists/ferry", 2)
        mail_corpus.fill(self.server, "Lists/gtk", 1)
        self.server.create_folder("Sent")
        mail_corpus.fill(self.server, "Sent", 1)
        self.configure(folder_map="Lists = Mailing lists; Sent = Sent Items")
        self.sync()
        self.assertEqual(set(maildir_folders(self.maildir)),
                         {"INBOX", "Mailing lists/ferry", "Mailing lists/gtk", "Sent Items"})
        self.assertEqual(len(self.local("Mailing lists/ferry")), 2)
        maildir_deliver(self.folder_dir("Mailing lists/fresh"), message(1))
        maildir_deliver(self.folder_dir("Sent Items"), message(2))
        self.sync()
        self.assertIn("Lists/fresh", self.server.list_folders())
        self.assertNotIn("Mailing lists/fresh", self.server.list_folders())
        self.assertNotIn("Sent Items", self.server.list_folders())
        self.assertIn(message_id(2), self.remote("Sent"))
        self.assertIn(message_id(1), self.remote("Lists/fresh"))

    def test_folder_map_collision_syncs_neither(self):
        mail_corpus.fill(self.server, "Archive", 1)
        mail_corpus.fill(self.server, "Old", 1)
        self.configure(folder_map="Old = Archive")
        stdout, stderr = self.sync()
        self.assertRegex(stderr, r"warning: .*Old.*Archive|warning: .*Archive.*Old")
        self.assertNotIn("Archive", maildir_folders(self.maildir))
        self.assertNotIn("Old", maildir_folders(self.maildir))


class CertificateTest(SyncTestCase):
    """An untrusted certificate, over STARTTLS (and IMAPS in the subclass)."""

    def test_untrusted_certificate_names_its_pin(self):
        mail_corpus.fill(self.server, "INBOX", 3)
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, security=self.security, maildir=self.maildir, trusted=False))
        result = self.env.sync()
        stderr = result.stderr.decode()
        self.assertNotEqual(result.returncode, EX_OK, stderr)
        self.assertIn("imap-tls-fingerprint", stderr)
        self.assertIn(spki_pin(self.server.ca_file), stderr)
        self.assertNotIn("Login: user=<ferry>", self.server_log())
        self.assertEqual(local_view(self.maildir).get("INBOX", []), [])

    def test_pinned_key_is_accepted(self):
        mail_corpus.fill(self.server, "INBOX", 3)
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, security=self.security, maildir=self.maildir, trusted=False,
            imap_tls_fingerprint=spki_pin(self.server.ca_file)))
        self.sync()
        self.assertInSync()

    def test_pin_shown_in_refusal_is_accepted(self):
        mail_corpus.fill(self.server, "INBOX", 3)
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, security=self.security, maildir=self.maildir, trusted=False))
        stderr = self.env.sync().stderr.decode()
        m = re.search(r"imap-tls-fingerprint = (\S+?)[ ,;]", stderr)
        self.assertTrue(m, stderr)
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, security=self.security, maildir=self.maildir, trusted=False,
            imap_tls_fingerprint=m.group(1)))
        self.sync()
        self.assertInSync()


class CertificateImapsTest(CertificateTest):
    security = "tls"


class StartTlsMissingTest(unittest.TestCase):
    def test_refused_never_plain(self):
        with FerryEnv(prefix="ferry-sync-") as env:
            server = ImapScriptServer({"tls": "none", "folders": [
                {"name": "INBOX", "messages": [
                    {"uid": 1, "flags": ["\\Seen"], "data": message(1).decode()}]}]},
                env.path("script"))
            try:
                env.write_sync_config(env.imap_account(
                    "personal", server.host, server.port, server.user, server.password,
                    security="starttls", maildir=env.path("mail"), ca_file=server.ca_file))
                result = env.sync()
                stderr = result.stderr.decode()
                self.assertNotEqual(result.returncode, EX_OK, stderr)
                self.assertIn("STARTTLS", stderr)
                sent = b"".join(command for _, command in server.commands()).upper()
                self.assertNotIn(b"LOGIN", sent)
                self.assertNotIn(b"AUTHENTICATE", sent)
                self.assertNotIn(server.password.encode().upper(), sent)
                self.assertEqual(local_view(env.path("mail")).get("INBOX", []), [])
            finally:
                server.stop()


class StripPrefixTest(SyncTestCase):
    separator = "."

    def test_strip_prefix(self):
        mail_corpus.fill(self.server, "INBOX", 2)
        self.server.create_folder("INBOX.Archive.2024")
        mail_corpus.fill(self.server, "INBOX.Archive.2024", 2)
        self.server.create_folder("INBOX.Lists")
        mail_corpus.fill(self.server, "INBOX.Lists", 1)
        self.configure(strip_prefix="INBOX.")
        self.sync()
        self.assertEqual(set(maildir_folders(self.maildir)), {"INBOX", "Archive/2024", "Lists"})
        self.assertInSync(strip_prefix="INBOX.")
        maildir_deliver(self.folder_dir("Projects/x"), message(1))
        self.sync()
        self.assertIn("INBOX.Projects.x", self.server.list_folders())
        self.assertInSync(strip_prefix="INBOX.")
        self.assertUpToDate()


if __name__ == "__main__":
    unittest.main(verbosity=2)
