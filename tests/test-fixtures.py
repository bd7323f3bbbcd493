"""The test fixtures themselves: the private Dovecot in its variants, the
mail corpus, the scripted IMAP server and the TCP proxy, from Python and
through their command-line modes. The sync tests build on these, so a
fixture that silently did less than it claims would make them meaningless."""

import contextlib
import email
import email.policy
import imaplib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
sys.path.insert(0, FIXTURES)
import mail_corpus  # noqa: E402
from dovecot_server import (DovecotServer, DovecotError, decode_mailbox_name,  # noqa: E402
                            encode_mailbox_name)
from imap_script_server import ImapScriptServer  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"
UTF8_NAMES = ["Entwürfe", "日本語", "with space", "a&b"]


def make_tmpdir(test):
    # Dovecot runs as another user when the test runs as root: it must be
    # able to reach the directory.
    path = tempfile.mkdtemp(prefix="ferry-fixtures-")
    os.chmod(path, 0o755)
    test.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def post_login_capabilities(conn):
    typ, data = conn.capability()
    assert typ == "OK", data
    return set(data[0].decode().upper().split())


def descendants(pid):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found += [int(entry)] + descendants(int(entry))
    return found


def running(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids, timeout=10):
    deadline = time.monotonic() + timeout
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if running(p)]


def close_quietly(conn):
    """Closes an imaplib connection whose other end is already gone."""
    with contextlib.suppress(OSError):
        conn.shutdown()


def spawn_json_line(test, argv):
    """Starts a fixture's command-line mode; returns (process, its JSON line)."""
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)

    def cleanup():
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if not stream.closed:
                stream.close()

    test.addCleanup(cleanup)
    line = process.stdout.readline()
    if not line:
        test.fail(f"{argv[1]} printed nothing: {process.stderr.read().decode()}")
    return process, json.loads(line)


class ModifiedUtf7Test(unittest.TestCase):
    def test_round_trip(self):
        cases = {"Entwürfe": "Entw&APw-rfe", "a&b": "a&-b", "with space": "with space",
                 "日本語": "&ZeVnLIqe-", "INBOX": "INBOX", "😀": "&2D3eAA-"}
        for name, wire in cases.items():
            self.assertEqual(encode_mailbox_name(name), wire)
            self.assertEqual(decode_mailbox_name(wire), name)
            self.assertEqual(decode_mailbox_name(wire.encode()), name)

    def test_invalid_names_are_refused(self):
        for wire in ("Entw&APw", "caf\u00e9", "&A-"):
            with self.assertRaises(ValueError, msg=wire):
                decode_mailbox_name(wire)


class DovecotVariantTests:
    """Run for each variant by the subclasses below."""

    condstore = True
    separator = "/"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry-fixtures-")
        os.chmod(cls.tmp, 0o755)
        cls.server = DovecotServer(os.path.join(cls.tmp, "dovecot"), condstore=cls.condstore,
                                   separator=cls.separator)

    @classmethod
    def tearDownClass(cls):
        pids = cls.server.process_ids()
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert pids and not wait_gone(pids), "Dovecot processes outlived stop()"

    def folder(self, name):
        return self.server.prefix + name

    def test_imaps_login_and_capabilities(self):
        with self.server.imap() as conn:
            self.assertIsInstance(conn.sock, ssl.SSLSocket)
            capabilities = post_login_capabilities(conn)
        self.assertIn("IMAP4REV1", capabilities)
        self.assertIn("UIDPLUS", capabilities)
        self.assertIn("SPECIAL-USE", capabilities)
        self.assertEqual("CONDSTORE" in capabilities, self.condstore)
        self.assertEqual("QRESYNC" in capabilities, self.condstore)

    def test_starttls_login(self):
        conn = imaplib.IMAP4(self.server.tls_host, self.server.imap_port, timeout=10)
        self.assertIn("STARTTLS", conn.capabilities)
        conn.starttls(ssl.create_default_context(cafile=self.server.ca_file))
        self.assertIsInstance(conn.sock, ssl.SSLSocket)
        self.assertEqual(conn.login(self.server.user, self.server.password)[0], "OK")
        self.assertEqual("CONDSTORE" in post_login_capabilities(conn), self.condstore)
        conn.logout()

    def test_tls_is_checked_against_the_ca_file(self):
        conn = imaplib.IMAP4(self.server.tls_host, self.server.imap_port, timeout=10)
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.starttls(ssl.create_default_context())
        conn.file.close()
        conn.sock.close()

    def test_plaintext_login_and_wrong_password(self):
        conn = imaplib.IMAP4(self.server.host, self.server.imap_port, timeout=10)
        self.assertEqual(conn.login("other", "other-password")[0], "OK")
        conn.logout()
        conn = imaplib.IMAP4(self.server.host, self.server.imap_port, timeout=10)
        with self.assertRaises(imaplib.IMAP4.error):
            conn.login("ferry", "not-the-password")
        conn.shutdown()

    def test_folders_with_utf8_names(self):
        names = [self.folder(f"{self.id().rsplit('.', 1)[1]}-{n}") for n in UTF8_NAMES]
        for name in names:
            self.server.create_folder(name)
        listed = self.server.list_folders()
        for name in names:
            self.assertIn(name, listed)
        # On disk Dovecot keeps them in modified UTF-7, as maildir_path says.
        for name in names:
            self.assertTrue(os.path.isdir(self.server.maildir_path(name)), name)
        self.server.delete_folder(names[0])
        self.assertNotIn(names[0], self.server.list_folders())
        # The other user sees none of them.
        self.assertEqual(self.server.list_folders(user="other"), ["INBOX"])

    def test_special_use_without_autocreate(self):
        self.assertNotIn(self.folder("Trash"), self.server.list_folders())
        self.server.create_folder(self.folder("Trash"))
        attributes = dict(self.server.list_folders_with_attributes())
        self.assertIn("\\Trash", attributes[self.folder("Trash")])

    def test_hierarchy_separator(self):
        nested = self.folder("Parent") + self.separator + "Child"
        self.server.create_folder(nested)
        with self.server.imap() as conn:
            typ, data = conn.list('""', '"*"')
        self.assertEqual(typ, "OK")
        self.assertTrue(any(line.endswith(f' "{self.separator}" "{nested}"'.encode()) or
                            line.endswith(f' "{self.separator}" {nested}'.encode())
                            for line in data), data)

    def test_append_read_flags_expunge(self):
        folder = self.folder("Entwürfe")
        if folder not in self.server.list_folders():
            self.server.create_folder(folder)
        first = mail_corpus.make_message(7, folder, 0, crlf=True)
        second = mail_corpus.make_message(7, folder, 1)
        uid1 = self.server.append(folder, first, flags=["\\Seen", "$Label1"], date=1700000000)
        uid2 = self.server.append(folder, second)
        messages = self.server.messages(folder, bodies=True)
        self.assertEqual(messages[uid1].flags, {"\\Seen", "$Label1"})
        self.assertEqual(messages[uid1].message_id, mail_corpus.message_id(7, folder, 0))
        self.assertEqual(messages[uid1].rfc822, first)
        self.assertEqual(messages[uid1].size, len(first))
        # Sent with LF line ends, stored and served with CRLF.
        self.assertEqual(messages[uid2].rfc822, second.replace(b"\n", b"\r\n"))
        self.assertIsNone(self.server.messages(folder)[uid2].rfc822)
        self.server.set_flags(folder, uid2, ["\\Flagged", "\\Answered"])
        self.assertEqual(self.server.messages(folder)[uid2].flags, {"\\Flagged", "\\Answered"})
        self.server.set_flags(folder, uid1, ["\\Deleted"])
        self.server.expunge(folder, [uid2])
        remaining = self.server.messages(folder)
        self.assertIn(uid1, remaining)
        self.assertNotIn(uid2, remaining)

    def test_fill_thousands_quickly(self):
        folder = self.folder("Bulk")
        started = time.monotonic()
        ids = mail_corpus.fill(self.server, folder, 2000, seed=3)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 15, "filling 2,000 messages took too long")
        messages = self.server.messages(folder)
        self.assertEqual([m.message_id for _, m in sorted(messages.items())], ids)
        self.assertEqual(len(set(ids)), 2000)
        self.assertEqual(self.server.status(folder)["MESSAGES"], 2000)
        seen = sum(1 for m in messages.values() if "\\Seen" in m.flags)
        self.assertTrue(1500 < seen < 2000, seen)
        # More messages later go after the first ones.
        more = mail_corpus.fill(self.server, folder, 10, seed=3, start=2000, flags="")
        messages = self.server.messages(folder)
        self.assertEqual([m.message_id for _, m in sorted(messages.items())][-10:], more)
        self.assertTrue(all(not messages[u].flags for u in sorted(messages)[-10:]))

    def test_recreate_changes_uidvalidity(self):
        for folder in (self.folder("Recreated"), "INBOX"):
            if folder != "INBOX":
                self.server.create_folder(folder)
            mail_corpus.fill(self.server, folder, 5, seed=11)
            before = self.server.messages(folder)
            old = self.server.uidvalidity(folder)
            new = self.server.recreate_folder_same_messages(folder)
            self.assertNotEqual(old, new, folder)
            self.assertEqual(self.server.uidvalidity(folder), new)
            after = self.server.messages(folder)
            self.assertEqual(sorted((m.message_id, m.flags) for m in before.values()),
                             sorted((m.message_id, m.flags) for m in after.values()), folder)

    def test_doveadm(self):
        folder = self.folder("Doveadm")
        self.server.doveadm("mailbox", "create", "-u", "ferry", folder)
        self.assertIn(folder, self.server.list_folders())
        with self.assertRaises(DovecotError):
            self.server.doveadm("mailbox", "create", "-u", "ferry", folder)


class DovecotCondstoreTest(DovecotVariantTests, unittest.TestCase):
    condstore = True


class DovecotNoCondstoreTest(DovecotVariantTests, unittest.TestCase):
    condstore = False


class DovecotDotSeparatorTest(DovecotVariantTests, unittest.TestCase):
    separator = "."

    def test_everything_is_below_inbox(self):
        self.assertEqual(self.server.prefix, "INBOX.")
        with self.assertRaises(DovecotError):
            self.server.create_folder("Outside")


class DovecotLifecycleTest(unittest.TestCase):
    def test_stop_ends_every_process_and_imaps_can_be_off(self):
        server = DovecotServer(os.path.join(make_tmpdir(self), "dc"), imaps=False)
        pids = server.process_ids()
        self.assertGreater(len(pids), 2)
        self.assertIsNone(server.imaps_port)
        with server.imap() as conn:  # STARTTLS on the plain port
            self.assertIsInstance(conn.sock, ssl.SSLSocket)
        server.stop()
        server.stop()
        self.assertEqual(wait_gone(pids), [])
        with self.assertRaises(OSError):
            socket.create_connection((server.host, server.imap_port), timeout=2).close()

    def test_unreachable_directory_is_refused_when_root(self):
        if os.geteuid() != 0:
            self.skipTest("only root runs Dovecot as another user")
        private = tempfile.mkdtemp(prefix="ferry-fixtures-private-")
        self.addCleanup(shutil.rmtree, private, ignore_errors=True)
        with self.assertRaisesRegex(DovecotError, "chmod o\\+x"):
            DovecotServer(os.path.join(private, "dc"))


class MailCorpusTest(unittest.TestCase):
    def test_messages_are_deterministic_and_varied(self):
        messages = [mail_corpus.make_message(1, "INBOX", i) for i in range(60)]
        self.assertEqual(messages, [mail_corpus.make_message(1, "INBOX", i) for i in range(60)])
        self.assertNotEqual(messages[0], mail_corpus.make_message(2, "INBOX", 0))
        parsed = [email.message_from_bytes(m, policy=email.policy.default) for m in messages]
        self.assertEqual(len({p["Message-ID"] for p in parsed}), 60)
        self.assertTrue(any(p.is_multipart() for p in parsed))
        self.assertTrue(any("=?UTF-8?" in str(p.get("Subject", "")) or
                            not p["Subject"].isascii() for p in parsed))
        self.assertTrue(all(b"\r\n" not in m for m in messages))
        self.assertIn(b"\r\n", mail_corpus.make_message(1, "INBOX", 0, crlf=True))
        for size in (700, 701, 4096):
            for crlf in (False, True):
                self.assertEqual(len(mail_corpus.make_message(1, "X", 3, size=size, crlf=crlf)), size)

    def test_large_message(self):
        size = 30 * 1024 * 1024
        started = time.monotonic()
        data = mail_corpus.make_large_message(size)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(len(data), size)
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        attachment = next(parsed.iter_attachments()).get_content()
        self.assertGreater(len(attachment), size * 0.7)
        self.assertEqual(mail_corpus.make_large_message(100000, crlf=False).count(b"\r"), 0)


class ImapScriptServerTest(unittest.TestCase):
    HOSTILE = ["../../x", ".", "..", "a/b", "nul\0x", "Entw&APw-rfe", "ctl\x01"]
    MESSAGE = b"Message-ID: <m1@example.org>\r\nSubject: s\r\n\r\n" + b"body line\r\n" * 200

    def script(self, **extra):
        script = {"delimiter": ".",
                  "folders": [{"name": "INBOX", "messages": [
                      {"uid": 4, "flags": ["\\Seen"], "data": self.MESSAGE.decode()}]}]
                  + [{"name": n} for n in self.HOSTILE]}
        script.update(extra)
        return script

    def connect(self, server):
        conn = imaplib.IMAP4(server.host, server.port, timeout=5)
        conn.login(server.user, server.password)
        return conn

    def test_hostile_list_reaches_the_client_verbatim(self):
        with ImapScriptServer(self.script()) as server:
            conn = self.connect(server)
            typ, data = conn.list()
            self.assertEqual(typ, "OK")
            wire = b"\n".join(b"|".join(d) if isinstance(d, tuple) else d for d in data)
            for quoted in (b'"." "../../x"', b'"." "."', b'"." ".."', b'"." "a/b"',
                           b'"." "Entw&APw-rfe"'):
                self.assertIn(quoted, wire)
            self.assertIn(b'"." {5}|nul\x00x', wire)
            self.assertIn(b'"." {4}|ctl\x01', wire)
            self.assertEqual(conn.select("INBOX"), ("OK", [b"1"]))
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            self.assertIn(b"UID 4", data[0][0])
            self.assertTrue(data[0][1].startswith(b"Message-ID: <m1@example.org>"))
            conn.logout()
            self.assertEqual(server.command_names(),
                             ["CAPABILITY", "LOGIN", "LIST", "SELECT", "UID FETCH", "LOGOUT"])

    def test_raw_list_lines(self):
        lines = [b'* LIST () "/" {3}', b'* LIST (\\Noselect) NIL ""', b"* LIST () \"/\" \"unterminated"]
        script = self.script(list=[line.decode() for line in lines])
        with ImapScriptServer(script) as server, \
                socket.create_connection((server.host, server.port), timeout=5) as sock:
            stream = sock.makefile("rwb")
            self.assertTrue(stream.readline().startswith(b"* OK"))
            stream.write(b'a LOGIN ferry ferry-password\r\nb LIST "" *\r\n')
            stream.flush()
            self.assertTrue(stream.readline().startswith(b"a OK"))
            received = [stream.readline() for _ in lines]
            self.assertEqual(received, [line + b"\r\n" for line in lines])
            self.assertTrue(stream.readline().startswith(b"b OK"))

    def test_faults(self):
        cases = [
            dict(action="close_in_literal", bytes=100),
            dict(action="bye", after=0),
            dict(action="short_literal", missing=50, then="close"),
            dict(action="close_after_bytes", bytes=10),
            dict(action="stall"),
        ]
        for fault in cases:
            with self.subTest(fault=fault["action"]):
                script = self.script(faults=[dict(fault, command="UID FETCH", match="BODY.PEEK[]")])
                with ImapScriptServer(script) as server:
                    conn = self.connect(server)
                    conn.select("INBOX")
                    # The same command without BODY.PEEK[] is left alone.
                    self.assertEqual(conn.uid("FETCH", "4", "(FLAGS)")[0], "OK")
                    conn.sock.settimeout(1)
                    with self.assertRaises((imaplib.IMAP4.abort, OSError)):
                        conn.uid("FETCH", "4", "(BODY.PEEK[])")
                    close_quietly(conn)
                    # Faults fire once; a new connection gets the real answer.
                    conn = self.connect(server)
                    conn.select("INBOX")
                    typ, data = conn.uid("FETCH", "4", "(BODY.PEEK[])")
                    self.assertEqual(typ, "OK")
                    self.assertEqual(data[0][1], self.MESSAGE)
                    conn.logout()

    def test_reply_fault_and_tls(self):
        script = self.script(tls="implicit", faults=[
            {"command": "SELECT", "action": "reply",
             "lines": ["* 1 EXISTS", "* OK [UIDVALIDITY 0] zero", "{tag} OK [READ-WRITE] done"]}])
        with ImapScriptServer(script) as server:
            conn = imaplib.IMAP4_SSL("localhost", server.port, timeout=5,
                                     ssl_context=ssl.create_default_context(cafile=server.ca_file))
            conn.login(server.user, server.password)
            self.assertEqual(conn.select("INBOX")[0], "OK")
            self.assertEqual(conn.response("UIDVALIDITY"), ("UIDVALIDITY", [b"0"]))
            conn.logout()


class TcpProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry-fixtures-")
        os.chmod(cls.tmp, 0o755)
        cls.server = DovecotServer(os.path.join(cls.tmp, "dovecot"))
        cls.server.create_folder("Big")
        mail_corpus.deliver(cls.server, "Big", mail_corpus.make_large_message(300000), "S")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def login_through(self, proxy):
        conn = imaplib.IMAP4(proxy.host, proxy.port, timeout=10)
        conn.login(self.server.user, self.server.password)
        return conn

    def test_forwards_and_counts(self):
        with TcpProxy(self.server.imap_port) as proxy:
            conn = self.login_through(proxy)
            conn.select("Big")
            typ, data = conn.uid("FETCH", "1", "(BODY.PEEK[])")
            self.assertEqual(len(data[0][1]), 300000)
            conn.logout()
            self.assertGreater(proxy.bytes_to_client, 300000)
            self.assertGreater(proxy.bytes_to_server, 50)
            self.assertEqual(proxy.connections, 1)
            self.assertEqual(proxy.drops, 0)

    def test_drop_after_bytes_to_client(self):
        with TcpProxy(self.server.imap_port) as proxy:
            conn = self.login_through(proxy)
            conn.select("Big")
            cut = proxy.bytes_to_client + 5000
            proxy.add_drop("to_client", after_bytes=cut)
            with self.assertRaises(imaplib.IMAP4.abort):
                conn.uid("FETCH", "1", "(BODY.PEEK[])")
            close_quietly(conn)
            self.assertEqual(proxy.bytes_to_client, cut)
            self.assertEqual(proxy.drops, 1)
            conn = self.login_through(proxy)
            conn.logout()
            self.assertEqual(proxy.drops, 1)

    def test_drop_in_append_literal(self):
        with TcpProxy(self.server.imap_port) as proxy:
            proxy.add_drop("to_server", pattern=b"APPEND", extra_bytes=20000, reset=True)
            conn = self.login_through(proxy)
            before = proxy.bytes_to_server
            with self.assertRaises((imaplib.IMAP4.abort, OSError)):
                conn.append("Big", None, None, mail_corpus.make_large_message(200000))
            close_quietly(conn)
            self.assertLess(proxy.bytes_to_server - before, 25000)
        self.assertEqual(len(self.server.messages("Big")), 1)

    def test_settle_waits_for_what_a_client_said_before_hanging_up(self):
        """A client that sends LOGOUT and hangs up at once, as Ferry does,
        is counted in full once settle() returns, even though its words
        are still on their way to the server."""
        with TcpProxy(self.server.imap_port, latency_ms_to_server=300) as proxy:
            client = socket.create_connection((proxy.host, proxy.port), timeout=10)
            self.assertTrue(client.recv(1024).startswith(b"* OK"))
            self.assertFalse(proxy.settle(timeout=0.2), "settled with a client connected")
            client.sendall(b"a1 LOGOUT\r\n")
            client.close()
            self.assertTrue(proxy.settle())
            self.assertEqual(proxy.bytes_to_server, len(b"a1 LOGOUT\r\n"))
            self.assertEqual(proxy.client_turns, 1)

    def test_latency_and_bandwidth(self):
        with TcpProxy(self.server.imap_port, latency_ms=100) as proxy:
            conn = self.login_through(proxy)
            started = time.monotonic()
            conn.noop()
            self.assertGreaterEqual(time.monotonic() - started, 0.2)
            conn.logout()
        with TcpProxy(self.server.imap_port, bandwidth_bps=4_000_000) as proxy:
            conn = self.login_through(proxy)
            conn.select("Big")
            started = time.monotonic()
            conn.uid("FETCH", "1", "(BODY.PEEK[])")
            elapsed = time.monotonic() - started
            conn.logout()
        # 300,000 bytes at 4 Mbit/s: 0.6 s.
        self.assertGreater(elapsed, 0.5)
        self.assertLess(elapsed, 3)


class CommandLineTest(unittest.TestCase):
    def test_dovecot_server(self):
        directory = os.path.join(make_tmpdir(self), "dc")
        process, info = spawn_json_line(self, [SYSTEM_PYTHON, os.path.join(FIXTURES, "dovecot_server.py"),
                                               "--dir", directory, "--no-condstore",
                                               "--separator", "."])
        for key in ("imap_port", "imaps_port", "ca_file", "user", "password", "dir", "log"):
            self.assertIn(key, info)
        self.assertEqual((info["user"], info["password"]), ("ferry", "ferry-password"))
        self.assertEqual(info["dir"], directory)
        self.assertTrue(os.path.isfile(info["log"]))
        conn = imaplib.IMAP4_SSL("localhost", info["imaps_port"], timeout=10,
                                 ssl_context=ssl.create_default_context(cafile=info["ca_file"]))
        conn.login(info["user"], info["password"])
        self.assertNotIn("CONDSTORE", post_login_capabilities(conn))
        conn.logout()
        filled = subprocess.run([SYSTEM_PYTHON, os.path.join(FIXTURES, "mail_corpus.py"), "fill",
                                 "--dir", directory, "--folder", "INBOX.Work", "--count", "3"],
                                capture_output=True, check=True)
        ids = json.loads(filled.stdout)["message_ids"]
        attached = DovecotServer.attach(directory)
        self.assertEqual(sorted(m.message_id for m in attached.messages("INBOX.Work").values()),
                         sorted(ids))
        pids = [info["pid"]] + descendants(info["pid"])
        self.assertGreater(len(pids), 2)
        process.stdin.close()
        self.assertEqual(process.wait(timeout=20), 0, process.stderr.read().decode())
        self.assertEqual(wait_gone(pids), [])

    def test_dovecot_server_sigterm(self):
        directory = os.path.join(make_tmpdir(self), "dc")
        process, info = spawn_json_line(self, [SYSTEM_PYTHON, os.path.join(FIXTURES, "dovecot_server.py"),
                                               "--dir", directory])
        pids = [info["pid"]] + descendants(info["pid"])
        process.terminate()
        self.assertEqual(process.wait(timeout=20), 0)
        self.assertEqual(wait_gone(pids), [])

    def test_script_server_and_proxy(self):
        tmp = make_tmpdir(self)
        script_path = os.path.join(tmp, "script.json")
        with open(script_path, "w") as f:
            json.dump({"folders": [{"name": "INBOX"}, {"name": "../../x"}], "tls": "starttls"}, f)
        server, server_info = spawn_json_line(self, [
            SYSTEM_PYTHON, os.path.join(FIXTURES, "imap_script_server.py"),
            "--script", script_path, "--dir", os.path.join(tmp, "script")])
        proxy, proxy_info = spawn_json_line(self, [
            SYSTEM_PYTHON, os.path.join(FIXTURES, "tcp_proxy.py"),
            "--target-port", str(server_info["port"]), "--latency-ms", "5",
            "--drop", '{"direction": "to_client", "pattern": "LIST", "times": 0}'])
        self.assertEqual(proxy_info["target_port"], server_info["port"])
        conn = imaplib.IMAP4("localhost", proxy_info["port"], timeout=10)
        conn.starttls(ssl.create_default_context(cafile=server_info["ca_file"]))
        conn.login(server_info["user"], server_info["password"])
        conn.logout()
        proxy.stdin.write(b"stats\n")
        proxy.stdin.flush()
        stats = json.loads(proxy.stdout.readline())
        self.assertEqual(stats["connections"], 1)
        self.assertGreater(stats["bytes_to_client"], 500)  # TLS handshake included
        conn = imaplib.IMAP4("127.0.0.1", proxy_info["port"], timeout=10)
        conn.login(server_info["user"], server_info["password"])
        with self.assertRaises(imaplib.IMAP4.abort):
            conn.list()
        close_quietly(conn)
        proxy.stdin.close()
        self.assertEqual(proxy.wait(timeout=10), 0)
        final = json.loads(proxy.stdout.readline())
        self.assertEqual((final["connections"], final["drops"]), (2, 1))
        server.stdin.close()
        self.assertEqual(server.wait(timeout=10), 0)
        with open(server_info["log"]) as f:
            logged = [json.loads(line) for line in f]
        self.assertEqual([entry["connection"] for entry in logged], [1] * 5 + [2] * 3)
        self.assertTrue(logged[-1]["command"].endswith("LIST \"\" *\r\n"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
