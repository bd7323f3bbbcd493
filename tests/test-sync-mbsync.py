"""`ferry sync` and mbsync (isync) agree: the same Dovecot folders (nested,
UTF-8, a parent that does not exist on the server) with a realistic flag
mix are pulled into two Maildir roots, one by each, and per folder both
hold the same messages by Message-ID with the same flag letters and the
same bytes. Then the server changes (flags, new mail, expunged mail, a new
folder), both sync again and must still agree.

Each policy pair runs once: mbsync's Expunge None against Ferry's
expunge = none (what the server expunges stays here, marked T), and
Expunge Near against expunge = local (it goes here too, and a message the
server marks deleted is not kept). mbsync pulls only (Sync Pull); Ferry,
which always syncs both ways, has nothing local to push, and neither may
change the server.

Two things mbsync 1.4 does that are its own and are evened out before
comparing: it writes an X-TUID header into every message it stores, and
it keeps non-ASCII folder names in modified UTF-7 on disk
(Entw&APw-rfe), where Ferry writes them in UTF-8."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer, decode_mailbox_name  # noqa: E402
from ferry_env import (EX_OK, FerryEnv, as_maildir, local_view, maildir_files,  # noqa: E402
                       maildir_folders, server_view)

MBSYNC = "/usr/bin/mbsync"
EX_SKIP = 77
SEED = 41

# Server folder -> how many corpus messages it starts with.
FOLDERS = {
    "INBOX": 150,
    "Archive": 40,
    "Archive/2024": 80,
    "Lists/ferry-devel": 30,   # "Lists" itself does not exist
    "Entwürfe": 12,
    "Listen/Привет": 15,
}

# mbsync's own header, which it adds to each message it stores.
X_TUID = re.compile(rb"^X-TUID: [^\n]*\n", re.M)


def extra_message(index, folder="extra"):
    return mail_corpus.make_message(SEED + 1, folder, index, crlf=True)


def extra_id(index, folder="extra"):
    return mail_corpus.message_id(SEED + 1, folder, index)


def bodies(root, decode_names=False):
    """{folder: {Message-ID: bytes}} of every Maildir under root."""
    found = {}
    for name, path in maildir_folders(root).items():
        messages = {}
        for f in maildir_files(path):
            with open(f.path, "rb") as fh:
                messages[f.message_id] = fh.read()
        found[decode_mailbox_name(name) if decode_names else name] = messages
    return found


class MbsyncAgreementTest(unittest.TestCase):
    ferry_expunge = "none"
    mbsync_expunge = "None"
    maxDiff = None

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-mbsync-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"))
        self.addCleanup(self.server.stop)
        self.ferry_root = self.env.path("ferry-mail")
        self.mbsync_root = self.env.path("mbsync-mail")
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, maildir=self.ferry_root, expunge=self.ferry_expunge))
        os.makedirs(self.mbsync_root)
        self.mbsyncrc = self.write_mbsyncrc()

    def write_mbsyncrc(self):
        password_file = self.env.write_file("mbsync-password", self.server.password + "\n")
        return self.env.write_file("mbsyncrc", f"""\
IMAPAccount dovecot
Host {self.server.tls_host}
Port {self.server.imap_port}
User {self.server.user}
PassCmd "cat {password_file}"
SSLType STARTTLS
CertificateFile {self.server.ca_file}

IMAPStore dovecot-remote
Account dovecot

MaildirStore dovecot-local
Path {self.mbsync_root}/
Inbox {self.mbsync_root}/INBOX
SubFolders Verbatim

Channel dovecot
Far :dovecot-remote:
Near :dovecot-local:
Patterns *
Create Near
Sync Pull
Expunge {self.mbsync_expunge}
SyncState *
""")

    # Running both.

    def run_mbsync(self):
        result = self.env.run([MBSYNC, "-c", self.mbsyncrc, "-a"], timeout=120)
        self.assertEqual(result.returncode, 0, "mbsync failed:\n" + result.stdout.decode()
                         + result.stderr.decode())

    def run_ferry(self):
        result = self.env.sync()
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_OK, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        self.assertEqual(stderr, "")
        return stdout

    def sync_both(self):
        """mbsync, then Ferry; the server must come out as it went in."""
        before = server_view(self.server)
        self.run_mbsync()
        self.run_ferry()
        self.assertEqual(server_view(self.server), before, "a pull changed the server")

    # Comparing.

    def ferry_view(self):
        return local_view(self.ferry_root)

    def mbsync_view(self):
        return {decode_mailbox_name(name): messages
                for name, messages in local_view(self.mbsync_root).items()}

    def assertViewsEqual(self, got, wanted, what):
        """Views equal, or a failure that lists only the differences."""
        differences = []
        for folder in sorted(set(got) | set(wanted)):
            if folder not in got or folder not in wanted:
                differences.append(f"{folder}: only in {'the first' if folder in got else 'the second'}")
                continue
            extra = sorted(set(got[folder]) - set(wanted[folder]))
            missing = sorted(set(wanted[folder]) - set(got[folder]))
            if extra or missing or len(got[folder]) != len(wanted[folder]):
                differences.append(f"{folder}: has {extra}, lacks {missing}"
                                   f" ({len(got[folder])} messages, {len(wanted[folder])} wanted)")
        if differences:
            self.fail(what + ":\n  " + "\n  ".join(differences))

    def assertAgree(self, expected):
        ferry, mbsync = self.ferry_view(), self.mbsync_view()
        # Each against what the server says first, so that a disagreement
        # shows which of the two is off.
        self.assertViewsEqual(mbsync, expected, "mbsync's Maildir against the server")
        self.assertViewsEqual(ferry, expected, "Ferry's Maildir against the server")
        self.assertViewsEqual(ferry, mbsync, "Ferry's Maildir against mbsync's")
        self.assertSameBytes()

    def assertSameBytes(self):
        ferry = bodies(self.ferry_root)
        mbsync = bodies(self.mbsync_root, decode_names=True)
        on_server = {folder: {m.message_id: as_maildir(m.rfc822)
                              for m in self.server.messages(folder, bodies=True).values()}
                     for folder in server_view(self.server)}
        self.assertEqual(set(ferry), set(mbsync))
        for folder, messages in ferry.items():
            self.assertEqual(set(messages), set(mbsync[folder]), folder)
            for mid, data in messages.items():
                theirs = mbsync[folder][mid]
                self.assertEqual(len(X_TUID.findall(theirs)), 1, f"{folder} {mid}: X-TUID")
                self.assertNotIn(b"\r\n", data, f"{folder} {mid}: CRLF in Ferry's copy")
                self.assertNotIn(b"\r\n", theirs, f"{folder} {mid}: CRLF in mbsync's copy")
                self.assertEqual(data, X_TUID.sub(b"", theirs, count=1), f"{folder} {mid}")
                if mid in on_server.get(folder, {}):
                    self.assertEqual(data, on_server[folder][mid], f"{folder} {mid}")

    def expected_view(self, gone=None):
        """What both Maildirs should hold: the server's folders, without
        messages marked deleted where the Maildir side expunges, and with
        gone ({folder: {Message-ID: letters before}}: expunged on the
        server) kept, marked T, where it does not."""
        view = server_view(self.server)
        if self.ferry_expunge == "local":
            return {folder: [(mid, letters) for mid, letters in messages if "T" not in letters]
                    for folder, messages in view.items()}
        for folder, messages in (gone or {}).items():
            view[folder] = sorted(view[folder] + [
                (mid, "".join(sorted(set(letters) | {"T"}))) for mid, letters in messages.items()])
        return view

    # The corpus and its changes.

    def fill_server(self):
        for folder, count in FOLDERS.items():
            mail_corpus.fill(self.server, folder, count, seed=SEED)
        # Drafts, which the corpus's mix lacks.
        self.server.append("Entwürfe", extra_message(0), flags=["\\Draft"])
        self.server.append("Entwürfe", extra_message(1), flags=["\\Draft", "\\Seen"])
        self.server.append("INBOX", extra_message(3), flags=["\\Answered", "\\Flagged", "\\Seen"])

    def uids(self, folder):
        return {m.message_id: uid for uid, m in self.server.messages(folder).items()}

    def change_server(self):
        """Flag changes, new and expunged messages and a new folder;
        returns the expunged messages as expected_view() takes them."""
        before = server_view(self.server)
        inbox = self.uids("INBOX")
        ids = sorted(inbox)
        # Each of these is a message both have synced: T is set on some,
        # and taken off none (mbsync would not fetch again a message it
        # left out because it was marked deleted).
        changes = [[], ["\\Seen"], ["\\Seen", "\\Flagged"], ["\\Answered", "\\Seen"],
                   ["\\Draft"], ["\\Flagged"], ["\\Seen", "\\Deleted"],
                   ["\\Answered", "\\Flagged", "\\Seen", "\\Draft"]]
        for i, mid in enumerate(ids[:40]):
            self.server.set_flags("INBOX", inbox[mid], changes[i % len(changes)])

        gone = {}
        for folder, count in (("Archive/2024", 6), ("Entwürfe", 2), ("INBOX", 3)):
            uids = self.uids(folder)
            victims = sorted(uids)[-count:]
            letters = dict(before[folder])
            gone[folder] = {mid: letters[mid] for mid in victims}
            self.server.expunge(folder, [uids[mid] for mid in victims])

        mail_corpus.fill(self.server, "Lists/ferry-devel", 10, seed=SEED, start=30)
        for i in range(3):
            self.server.append("INBOX", extra_message(10 + i),
                               flags=[["\\Seen"], [], ["\\Flagged"]][i])
        self.server.create_folder("Neu/Ordner ä")
        for i in range(3):
            self.server.append("Neu/Ordner ä", extra_message(20 + i), flags=["\\Seen"] if i else [])
        return gone

    def test_agree_first_sync_and_after_changes(self):
        self.fill_server()
        self.sync_both()
        expected = self.expected_view()
        self.assertEqual(set(expected), set(FOLDERS))
        self.assertAgree(expected)

        gone = self.change_server()
        self.assertEqual({letter for messages in server_view(self.server).values()
                          for _, letters in messages for letter in letters}, set("DFRST"))
        self.sync_both()
        self.assertAgree(self.expected_view(gone))

        # Once more with nothing new: both stay where they are.
        self.sync_both()
        self.assertAgree(self.expected_view(gone))

    def test_agree_on_messages_marked_deleted_before_any_sync(self):
        """A message that is marked deleted on the server before either has
        seen it is copied, marked T, where the Maildir side keeps deleted
        messages (mbsync leaves it out only when it "would be expunged
        anyway"), and left out where it expunges them: in the first sync
        and as new mail later."""
        mail_corpus.fill(self.server, "INBOX", 10, seed=SEED)
        self.server.append("INBOX", extra_message(30), flags=["\\Seen", "\\Deleted"])
        self.server.append("INBOX", extra_message(31), flags=["\\Deleted"])
        self.sync_both()
        self.assertAgree(self.expected_view())
        self.server.append("INBOX", extra_message(32), flags=["\\Flagged", "\\Deleted"])
        self.sync_both()
        self.assertAgree(self.expected_view())


class MbsyncAgreementExpungeNearTest(MbsyncAgreementTest):
    ferry_expunge = "local"
    mbsync_expunge = "Near"


if __name__ == "__main__":
    if not os.access(MBSYNC, os.X_OK):
        print(f"{MBSYNC} is missing (Debian's package \"isync\"): nothing to compare Ferry "
              "with; skipped", file=sys.stderr)
        sys.exit(EX_SKIP)
    unittest.main(verbosity=2)
