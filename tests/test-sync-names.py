"""Folder names through `ferry sync`: a zoo of real names on Dovecot (spaces,
UTF-8, "&", nesting, both hierarchy delimiters) synced down and up, the
server's spelling decoding back exactly; and hostile names from a scripted
server (leaving the Maildir root, hitting Maildir structure, NUL and
control characters, invalid modified UTF-7), each refused with a warning
that names it while nothing is written outside the Maildir root and the
other folders are still synced."""

import base64
import os
import shutil
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from ferry_env import (EX_OK, FerryEnv, local_view, maildir_deliver, maildir_files,  # noqa: E402
                       maildir_folders, server_view)
from imap_script_server import ImapScriptServer  # noqa: E402

# Ferry names, "/" between levels.
ZOO = ["with space", "Entwürfe", "日本語", "&", "a&b", "Lists/ferry/devel",
       "Ünïcödé/Sub Folder", "a&b/日本語/x y", "trailing &-", "emoji 📬"]


def message(folder, index=0):
    return mail_corpus.make_message(11, folder, index, crlf=True)


def message_id(folder, index=0):
    return mail_corpus.message_id(11, folder, index)


def tree(root, skip=()):
    """Every path under root (type, size), leaving out the subtrees in skip."""
    found = {}
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if os.path.join(directory, d) not in skip]
        for name in subdirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            found[path] = (stat.S_IFMT(st.st_mode), st.st_size if stat.S_ISREG(st.st_mode) else 0)
    return found


class NameZooTest(unittest.TestCase):
    separator = "/"

    def setUp(self):
        self.env = FerryEnv(prefix="ferry-names-")
        self.addCleanup(self.env.cleanup)
        self.server = DovecotServer(self.env.path("dovecot"), separator=self.separator)
        self.addCleanup(self.server.stop)
        self.maildir = self.env.path("mail")
        self.prefix = self.server.prefix
        self.env.write_sync_config(self.env.dovecot_account(
            self.server, maildir=self.maildir, strip_prefix=self.prefix or None))

    def server_name(self, name):
        return self.prefix + name.replace("/", self.separator)

    def sync(self, *args):
        result = self.env.sync(*args)
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_OK, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        return stdout, stderr

    def test_server_names_sync_down(self):
        for name in ZOO:
            self.server.create_folder(self.server_name(name))
            self.server.append(self.server_name(name), message(name), flags=["\\Seen"])
        stdout, stderr = self.sync()
        self.assertEqual(stderr, "")
        local = maildir_folders(self.maildir)
        self.assertEqual(set(local), set(ZOO) | {"INBOX"})
        for name in ZOO:
            self.assertEqual(os.path.join(self.maildir, *name.split("/")), local[name])
            self.assertEqual([f.message_id for f in maildir_files(local[name])],
                             [message_id(name)], name)
            self.assertIn(f"personal: {name}: 1 fetched", stdout)
        self.assertEqual(local_view(self.maildir), server_view(self.server, self.prefix))
        stdout, _ = self.sync()
        self.assertNotIn("fetched", stdout.replace("0 fetched", ""))

    def test_local_names_sync_up(self):
        self.sync()
        for name in ZOO:
            maildir_deliver(os.path.join(self.maildir, "Up", *name.split("/")), message(name))
        stdout, stderr = self.sync()
        self.assertEqual(stderr, "")
        on_server = self.server.list_folders()
        for name in ZOO:
            wanted = self.server_name("Up/" + name)
            self.assertIn(wanted, on_server)
            self.assertEqual([m.message_id for m in self.server.messages(wanted).values()],
                             [message_id(name)], wanted)
            # Dovecot keeps it where its own encoding of the name says.
            self.assertTrue(os.path.isdir(self.server.maildir_path(wanted)), wanted)
        self.assertEqual(local_view(self.maildir), server_view(self.server, self.prefix))
        # Synced back, the names meet themselves: nothing is made twice.
        self.sync()
        self.assertEqual(set(maildir_folders(self.maildir)),
                         {"INBOX"} | {"Up/" + name for name in ZOO})


class NameZooDotTest(NameZooTest):
    separator = "."

    def test_level_holding_the_server_delimiter_is_not_split(self):
        self.sync()
        maildir_deliver(os.path.join(self.maildir, "v1.2"), message("v1.2"))
        stdout, stderr = self.sync()
        self.assertIn("v1.2", stderr)
        self.assertIn("warning", stderr)
        self.assertNotIn("INBOX.v1.2", self.server.list_folders())
        self.assertNotIn("INBOX.v1", self.server.list_folders())


class HostileNamesTest(unittest.TestCase):
    """Names no sane server sends, from the scripted server."""

    def run_hostile(self, delimiter, good, hostile, strip_prefix=None, subfolders=None):
        """good: {name on the wire: Ferry name}; hostile: [(wire bytes,
        text that the warning must hold)]."""
        env = FerryEnv(prefix="ferry-hostile-")
        self.addCleanup(env.cleanup)
        script_dir = tempfile.mkdtemp(prefix="ferry-hostile-server-")
        self.addCleanup(shutil.rmtree, script_dir, True)
        folders = []
        for index, wire in enumerate(list(good) + [w for w, _ in hostile]):
            wire_bytes = wire.encode() if isinstance(wire, str) else wire
            folders.append({"name_base64": base64.b64encode(wire_bytes).decode(),
                            "uidvalidity": 100 + index,
                            "messages": [{"uid": 1, "flags": ["\\Seen"],
                                          "data": message(f"f{index}").decode()}]})
        server = ImapScriptServer({"tls": "starttls", "delimiter": delimiter,
                                   "folders": folders}, script_dir)
        self.addCleanup(server.stop)
        # Deep enough that "../../x" would still land in the temporary tree.
        maildir = env.path("deep", "er", "mail")
        os.makedirs(os.path.dirname(maildir))
        env.write_sync_config(env.imap_account(
            "personal", server.host, server.port, server.user, server.password,
            security="starttls", maildir=maildir, ca_file=server.ca_file,
            strip_prefix=strip_prefix, subfolders=subfolders))
        state_dir = os.path.join(env.state_home, "ferry")
        before = tree(env.tmp)
        result = env.sync()
        after = tree(env.tmp)
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, EX_OK, f"stdout:\n{stdout}\nstderr:\n{stderr}")

        # Nothing written outside the Maildir root (but Ferry's state, and
        # GLib's own settings cache in the runtime directory).
        allowed = (maildir, state_dir, env.runtime_dir)
        outside = sorted(p for p in set(after) - set(before)
                         if not any(p == a or p.startswith(a + os.sep) for a in allowed))
        self.assertEqual(outside, [], stderr)
        changed = sorted(p for p in set(before) & set(after) if before[p] != after[p]
                         and not any(p == a or p.startswith(a + os.sep) for a in allowed))
        self.assertEqual(changed, [])
        # Inside it, exactly the good folders, each with its message.
        local = maildir_folders(maildir, subfolders or "verbatim")
        self.assertEqual(set(local), set(good.values()), stderr)
        for index, (wire, name) in enumerate(good.items()):
            self.assertEqual([f.message_id for f in maildir_files(local[name])],
                             [message_id(f"f{index}")], name)
        # And no message of a hostile folder anywhere at all.
        hostile_ids = {message_id(f"f{len(good) + i}") for i in range(len(hostile))}
        for directory, _, files in os.walk(env.tmp):
            for name in files:
                with open(os.path.join(directory, name), "rb") as f:
                    data = f.read()
                for mid in hostile_ids:
                    self.assertNotIn(mid.encode(), data, os.path.join(directory, name))
        # Each refused with a warning naming it.
        warnings = [line for line in stderr.splitlines() if "warning" in line]
        for wire, shown in hostile:
            with self.subTest(name=wire):
                self.assertTrue(any(shown in line for line in warnings),
                                f"no warning names {wire!r} ({shown!r}):\n{stderr}")
        self.assertGreaterEqual(len(warnings), len(hostile), stderr)
        return stdout, stderr

    def test_slash_delimiter(self):
        good = {"INBOX": "INBOX", "Good": "Good", "Good/Child": "Good/Child",
                "Entw&APw-rfe": "Entwürfe"}
        hostile = [
            ("../../x", "“../../x”"),
            (".", "“.”"),
            ("..", "“..”"),
            ("../sibling", "“../sibling”"),
            ("Good/../../escape", "“Good/../../escape”"),
            ("/absolute", "“/absolute”"),
            ("a//b", "“a//b”"),
            (".hidden", "“.hidden”"),
            ("cur", "“cur”"),
            ("Good/new", "“Good/new”"),
            ("INBOX/tmp", "“INBOX/tmp”"),
            (b"nul\x00byte", "nul"),
            ("tab\there", "tab"),
            ("bell\x07", "bell"),
            ("&AGE-", "&AGE-"),           # an encoded printable character
            ("&Jjo", "&Jjo"),             # an unterminated run
            ("&AOQ-&APw-", "&AOQ-&APw-"),  # a run right after a run
            ("&2D0-", "&2D0-"),           # a lone surrogate
            ("Entw\u00fcrfe raw".encode(), "raw"),  # 8-bit, not modified UTF-7
        ]
        self.run_hostile("/", good, hostile)

    def test_dot_delimiter(self):
        good = {"INBOX": "INBOX", "INBOX.Good": "Good", "INBOX.Good.Child": "Good/Child"}
        hostile = [
            ("INBOX.a/b", "a/b"),
            ("INBOX.../x", "/x"),
            ("INBOX..", "INBOX.."),
            ("INBOX...x", "INBOX...x"),
            ("INBOX.Good.cur", "“Good/cur”"),
        ]
        self.run_hostile(".", good, hostile, strip_prefix="INBOX.")

    def test_maildirpp_dot_inside_a_level(self):
        # Maildir++ writes levels with "." between them: "v1.2" would be
        # the folder "v1/2".
        good = {"INBOX": "INBOX", "v1/2": "v1/2"}
        hostile = [("v1.2", "“v1.2”"), ("Good/.x", "“Good/.x”")]
        self.run_hostile("/", good, hostile, subfolders="maildir++")


if __name__ == "__main__":
    unittest.main(verbosity=2)
