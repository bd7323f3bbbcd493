"""`ferry sync` against IMAP servers that misbehave on purpose.

Each scenario runs a whole `ferry sync` against the scripted server
(imap_script_server.py), which breaks its answers in one way: cut off,
lying about a literal's size, saying BYE in the middle of a FETCH, giving
UIDs that go backwards or a UIDVALIDITY of 0, answering for messages
nobody asked for, announcing a 2 GB literal, asking for more input
forever, or going silent. For every one: Ferry exits within the timeout
with a sysexits code and an error that says what the server did, leaves
no partial file in the Maildir, holds only whole messages that are on the
server, changes nothing on the server, and a later sync against a server
that behaves brings the rest, each message once.
"""

import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import mail_corpus  # noqa: E402
from ferry_env import (EX_OK, FerryEnv, as_maildir, header_message_id,  # noqa: E402
                       imap_letters, local_view)
from imap_script_server import ImapScriptServer  # noqa: E402

EX_TEMPFAIL = 75
EX_PROTOCOL = 76
TIMEOUT = 3
# How long past the timeout a run may take: starting, logging in, and the
# few commands before the one that stalls.
SLACK = 10
FOLDERS = {"INBOX": 3, "Work": 2}
SIGNAL_EXIT = range(-64, 0)


def message(folder, index):
    return mail_corpus.make_message(5, folder, index, crlf=True)


def folder_spec(name, count, **keys):
    return dict({"name": name, "uidvalidity": 7,
                 "messages": [{"uid": i + 1, "flags": ["\\Seen"] if i % 2 else [],
                               "data": message(name, i).decode()} for i in range(count)]},
                **keys)


def listing_line(number, uid, data, flags=""):
    return f"* {number} FETCH (UID {uid} FLAGS ({flags}) RFC822.SIZE {len(data)})"


class HostileServerTest(unittest.TestCase):
    def setUp(self):
        self.env = FerryEnv(prefix="ferry-hostile-")
        self.addCleanup(self.env.cleanup)
        self.server = None
        self.local_messages = set()

    def start(self, faults=(), folders=None, capabilities=None, oauth2=False):
        script_dir = tempfile.mkdtemp(prefix="ferry-hostile-server-")
        self.addCleanup(shutil.rmtree, script_dir, True)
        script = {"tls": "starttls", "delimiter": "/", "faults": list(faults),
                  "folders": folders or [folder_spec(n, c) for n, c in FOLDERS.items()]}
        if capabilities is not None:
            script["capabilities"] = capabilities
        self.server = ImapScriptServer(script, script_dir)
        self.addCleanup(self.server.stop)
        self.maildir = self.env.path("mail")
        keys = {}
        if oauth2:
            token = self.env.write_file("token", self.server.password + "\n")
            keys["oauth2_token_command"] = f"cat {token}"
        self.env.write_sync_config(
            self.env.imap_account("personal", self.server.host, self.server.port,
                                  self.server.user, self.server.password, security="starttls",
                                  maildir=self.maildir, ca_file=self.server.ca_file, **keys),
            general=f"timeout = {TIMEOUT}\n")
        self.on_server = self.server_contents()

    def server_contents(self):
        return {name.decode(): sorted((m.uid, m.data, tuple(sorted(m.flags)))
                                      for m in folder.messages)
                for name, folder in self.server.folders.items()}

    def expected_view(self, only=None):
        return {name: sorted((header_message_id(data), imap_letters(flags))
                             for _, data, flags in messages)
                for name, messages in self.on_server.items() if only is None or name in only}

    def sync(self):
        started = time.monotonic()
        result = self.env.sync(timeout=TIMEOUT + SLACK + 30)
        took = time.monotonic() - started
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        self.assertNotIn(result.returncode, SIGNAL_EXIT, output)
        self.assertLess(took, TIMEOUT + SLACK, output)
        return result.returncode, output

    def assert_sound(self):
        """No partial file, only whole server messages, each at most once,
        and the server as it was."""
        whole = {as_maildir(data) for messages in self.on_server.values()
                 for _, data, _ in messages} | self.local_messages
        for directory, _, files in os.walk(self.maildir):
            where = os.path.basename(directory)
            for name in files:
                path = os.path.join(directory, name)
                self.assertNotEqual(where, "tmp", f"a partial file was left: {path}")
                if where in ("cur", "new"):
                    with open(path, "rb") as f:
                        self.assertIn(f.read(), whole, f"{path} is not a whole server message")
        for folder, messages in local_view(self.maildir).items():
            ids = [mid for mid, _ in messages]
            self.assertEqual(len(ids), len(set(ids)), f"a duplicate in {folder}")
        self.assertEqual(self.server_contents(), self.on_server)

    def assert_fails(self, code, *shown):
        status, output = self.sync()
        self.assertEqual(status, code, output)
        for text in shown:
            self.assertIn(text, output)
        self.assert_sound()
        return output

    def assert_recovers(self):
        """The fault has fired; the server now behaves."""
        status, output = self.sync()
        self.assertEqual(status, EX_OK, output)
        self.assertEqual(local_view(self.maildir), self.expected_view(), output)
        self.assert_sound()

    # Cut off and lying.

    def test_truncated_listing(self):
        self.start([{"command": "UID FETCH", "match": "RFC822.SIZE", "action": "close_after_bytes",
                     "bytes": 30}])
        self.assert_fails(EX_TEMPFAIL, "127.0.0.1", "closed the connection")
        self.assert_recovers()

    def test_truncated_message(self):
        self.start([{"command": "UID FETCH", "match": "BODY.PEEK[]", "action": "close_in_literal",
                     "bytes": 50}])
        self.assert_fails(EX_TEMPFAIL, "closed the connection")
        self.assert_recovers()

    def test_literal_longer_than_sent(self):
        self.start([{"command": "UID FETCH", "match": "BODY.PEEK[]", "action": "short_literal",
                     "missing": 100, "then": "close"}])
        self.assert_fails(EX_TEMPFAIL, "closed the connection")
        self.assert_recovers()

    def test_literal_swallowing_the_rest(self):
        # The announced size runs past the message into the responses
        # after it; then the server waits, as one that lied would.
        self.start([{"command": "UID FETCH", "match": "BODY.PEEK[]", "action": "short_literal",
                     "missing": 100000, "then": "continue"}])
        self.assert_fails(EX_TEMPFAIL, f"for {TIMEOUT} seconds")
        self.assert_recovers()

    def test_bye_in_the_middle_of_a_fetch(self):
        self.start([{"command": "UID FETCH", "match": "BODY.PEEK[]", "action": "bye", "after": 1,
                     "text": "Server shutting down for maintenance"}])
        self.assert_fails(EX_TEMPFAIL, "Server shutting down for maintenance")
        self.assert_recovers()

    def test_two_gigabyte_literal(self):
        # A FETCH announcing 2 GB for a message of a few kB, then silence:
        # Ferry neither holds 2 GB nor waits past the timeout.
        self.start([{"command": "UID FETCH", "match": "BODY.PEEK[]", "action": "reply",
                     "lines": ["* 1 FETCH (UID 1 BODY[] {2147483648}", "From: x"],
                     "then": "stall"}])
        self.assert_fails(EX_TEMPFAIL, f"for {TIMEOUT} seconds")
        self.assert_recovers()

    def test_two_gigabyte_literal_in_a_listing(self):
        self.start([{"command": "LIST", "action": "reply",
                     "lines": ['* LIST () "/" {2147483648}'], "then": "stall"}])
        self.assert_fails(EX_PROTOCOL, "2147483648")
        self.assert_recovers()

    # Wrong answers.

    def test_uids_going_backwards(self):
        inbox = [message("INBOX", i) for i in range(FOLDERS["INBOX"])]
        self.start([{"command": "UID FETCH", "match": "RFC822.SIZE", "action": "reply", "times": 0,
                     "lines": [listing_line(1, 3, inbox[2]), listing_line(2, 2, inbox[1]),
                               listing_line(3, 1, inbox[0]), "{tag} OK done"]}])
        output = self.assert_fails(EX_PROTOCOL, "UIDs must rise", "INBOX")
        # Work, listed the same way, is refused too; nothing was fetched.
        self.assertEqual(local_view(self.maildir).get("INBOX", []), [], output)

    def test_uidvalidity_zero(self):
        self.start(folders=[folder_spec("INBOX", 3, uidvalidity=0), folder_spec("Work", 2)])
        output = self.assert_fails(EX_PROTOCOL, "did not say the UIDVALIDITY of “INBOX”")
        view = local_view(self.maildir)
        self.assertEqual(view.get("INBOX", []), [], output)
        self.assertEqual(view["Work"], self.expected_view(["Work"])["Work"], output)

    def test_fetch_answers_for_uids_never_asked_for(self):
        stray = "From: stray@example.org\r\nMessage-ID: <stray@example.org>\r\n\r\nstray\r\n"
        self.start([{"command": "UID FETCH", "match": "BODY.PEEK[]", "action": "prepend",
                     "times": 0,
                     "lines": ["* 9 FETCH (UID 999 FLAGS (\\Seen))",
                               f"* 10 FETCH (UID 998 BODY[] {{{len(stray)}}}",
                               stray + ")"]}])
        status, output = self.sync()
        self.assertEqual(status, EX_OK, output)
        self.assertEqual(local_view(self.maildir), self.expected_view(), output)
        self.assert_sound()

    # Never done.

    def test_endless_continuation_requests_on_append(self):
        # No LITERAL+: an upload waits for "+", and this server never
        # stops sending them.
        self.start([{"command": "APPEND", "action": "continue_forever"}],
                   capabilities=["IMAP4rev1", "UIDPLUS", "AUTH=PLAIN"])
        status, output = self.sync()
        self.assertEqual(status, EX_OK, output)
        new = self.env.path("mail", "Work", "new")
        self.local_messages.add(as_maildir(message("local", 0)))
        with open(os.path.join(new, "1.local"), "wb") as f:
            f.write(as_maildir(message("local", 0)))
        self.assert_fails(EX_PROTOCOL, "continuation request")
        self.assertEqual(len(os.listdir(new)) + len(os.listdir(os.path.join(new, "..", "cur"))),
                         FOLDERS["Work"] + 1)

    def test_endless_continuation_requests_on_authenticate(self):
        self.start([{"command": "AUTHENTICATE", "action": "continue_forever"}],
                   capabilities=["IMAP4rev1", "LITERAL+", "UIDPLUS", "SASL-IR",
                                 "AUTH=XOAUTH2"], oauth2=True)
        self.assert_fails(EX_PROTOCOL, "asked for more", "AUTHENTICATE XOAUTH2")

    def test_silent_after_select(self):
        self.start([{"command": "SELECT", "action": "stall"}])
        self.assert_fails(EX_TEMPFAIL, f"no answer from 127.0.0.1 for {TIMEOUT} seconds")
        self.assert_recovers()

    def test_silent_greeting(self):
        self.start([{"command": "GREETING", "action": "stall"}])
        self.assert_fails(EX_TEMPFAIL, f"for {TIMEOUT} seconds")
        self.assert_recovers()


if __name__ == "__main__":
    unittest.main()
