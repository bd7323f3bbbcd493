"""`ferry queue` against a real SMTP server (aiosmtpd with STARTTLS and
AUTH): what the server receives, byte for byte and how many times, how
4xx, 5xx and dropped connections are recorded and retried, and that
concurrent or killed flushers never lose a message."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import unittest
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from ferry_env import (EX_DATAERR, EX_OK, EX_TEMPFAIL, EX_UNAVAILABLE, FERRY,  # noqa: E402
                       FerryEnv, make_message, wire_form)
from smtp_server import SmtpServer  # noqa: E402


def message_ids(received):
    ids = []
    for message in received:
        match = re.search(rb"^Message-ID: (<[^>]+>)", message["data"], re.M | re.I)
        ids.append(match.group(1).decode() if match else None)
    return ids


class DeliveryTest(unittest.TestCase):
    server_options = {}

    def setUp(self):
        self.env = FerryEnv()
        self.server = SmtpServer(self.env.path("smtp"), **self.server_options)
        self.env.smtp_config(self.server)

    def tearDown(self):
        self.server.stop()
        self.env.cleanup()

    def start_server(self, **options):
        self.server.stop()
        self.server = SmtpServer(self.env.path(f"smtp-{time.monotonic_ns()}"), **options)
        self.env.smtp_config(self.server)

    def queue_message(self, n=0, recipients=("bob@example.org",), **kwargs):
        message = make_message(n, **kwargs)
        result = self.env.sendmail("-oi", "-f", "me@example.org", "--", *recipients, input=message)
        self.assertEqual(result.returncode, 0, result.stderr)
        return message

    def flush(self, *ids):
        return self.env.ferry("queue", "flush", *ids)

    def entry(self, index=0):
        return self.env.queue()[index]


class AcceptTest(DeliveryTest):
    def test_delivered_byte_for_byte(self):
        message = self.queue_message(
            1, recipients=("bob@example.org", "hidden@example.org"),
            extra_headers="Bcc: Hidden <hidden@example.org>,\n  another@example.org\n",
            body="Dear Bob,\n.\n..leading dots\nGrüße\n\nlast line\n")
        result = self.flush()
        self.assertEqual(result.returncode, EX_OK, result.stderr)
        self.assertIn(b"1 sent, 0 deferred, 0 failed", result.stdout)

        received = self.server.received()
        self.assertEqual(len(received), 1)
        self.assertEqual(received[0]["mail_from"], "me@example.org")
        self.assertEqual(received[0]["rcpt_tos"], ["bob@example.org", "hidden@example.org"])
        self.assertEqual(received[0]["data"], wire_form(message))
        self.assertNotIn(b"hidden@example.org", received[0]["data"])
        self.assertEqual([user for mechanism, user in self.server.auth_seen()], ["ferry"])

        entry = self.entry()
        self.assertEqual(entry["state"], "sent")
        self.assertEqual(entry["attempts"], 1)
        self.assertTrue(entry["sent_at"])
        self.assertTrue(entry["last_reply"].startswith("250") or "250" in entry["last_reply"])

        # Sent means sent: another flush sends nothing.
        again = self.flush()
        self.assertEqual(again.returncode, EX_OK)
        self.assertIn(b"Nothing to send", again.stdout)
        self.assertEqual(len(self.server.received()), 1)

    def test_list_and_show(self):
        self.queue_message(2, subject="=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=")
        listing = self.env.ferry("queue", "list")
        self.assertEqual(listing.returncode, 0)
        text = listing.stdout.decode()
        self.assertIn("personal", text)
        self.assertIn("queued", text)
        self.assertIn("me@example.org -> bob@example.org", text)
        self.assertIn("Subject: Grüße aus Köln", text)

        entry = self.entry()
        self.assertEqual(entry["subject"], "Grüße aus Köln")
        show = self.env.ferry("queue", "show", entry["id"][:5])
        self.assertEqual(show.returncode, 0, show.stderr)
        self.assertIn(f"Id:           {entry['id']}".encode(), show.stdout)
        self.assertIn(b"Message-ID: <test-2-", show.stdout)

        missing = self.env.ferry("queue", "show", "ffffffffffff")
        self.assertEqual(missing.returncode, EX_DATAERR)
        self.assertIn(b"No queued message with id ffffffffffff", missing.stderr)
        hostile = self.env.ferry("queue", "show", "../../etc")
        self.assertEqual(hostile.returncode, EX_DATAERR)

    def test_remove(self):
        self.queue_message(3)
        self.queue_message(4)
        by_subject = {e["subject"]: e for e in self.env.queue()}
        first, second = by_subject["Test message 3"], by_subject["Test message 4"]
        result = self.env.ferry("queue", "remove", "--yes", first["id"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([e["id"] for e in self.env.queue()], [second["id"]])
        self.assertEqual(self.env.leftovers(), [])
        self.flush()
        self.assertEqual(message_ids(self.server.received()),
                         [f"<test-4-{os.getpid()}@example.org>"])

    def test_remove_asks_on_a_tty(self):
        import pty
        self.queue_message(7)
        entry_id = self.entry()["id"]
        for answer, kept in ((b"n\n", True), (b"y\n", False)):
            pid, fd = pty.fork()
            if pid == 0:
                os.execve(FERRY, [FERRY, "queue", "remove", entry_id], self.env.env)
            output = b""
            while b"[y/N]" not in output:
                output += os.read(fd, 1024)
            self.assertIn(b"Test message 7", output)
            os.write(fd, answer)
            try:
                while os.read(fd, 1024):
                    pass
            except OSError:
                pass
            os.waitpid(pid, 0)
            os.close(fd)
            self.assertEqual(bool(self.env.queue()), kept)

    def test_prune_sent(self):
        self.queue_message(5)
        self.flush()
        entry = self.entry()
        envelope = os.path.join(self.env.outbox, "queue", entry["id"], "envelope")
        with open(envelope) as f:
            text = f.read()
        with open(envelope, "w") as f:
            f.write(re.sub(r"sent-at=.*", "sent-at=2020-01-01T00:00:00Z", text))
        self.flush()
        self.assertEqual(self.env.queue(), [])

    def test_password_never_leaks(self):
        password = self.server.auth[1]
        self.queue_message(6)
        flusher = subprocess.Popen([FERRY, "queue", "flush"], env=self.env.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen_in_cmdline = False
        while flusher.poll() is None:
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            seen_in_cmdline |= password.encode() in f.read()
                    except OSError:
                        pass
        out, err = flusher.communicate()
        self.assertEqual(flusher.returncode, 0, err)
        self.assertFalse(seen_in_cmdline)
        self.assertNotIn(password.encode(), out + err)
        for root, dirs, files in os.walk(os.path.join(self.env.home, ".local")):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(password.encode(), f.read(), name)


class OAuth2Test(DeliveryTest):
    def test_xoauth2_token_command(self):
        user, token = self.server.auth
        token_file = self.env.write_file("token", token + "\n")
        with open(self.env.config_path) as f:
            text = f.read()
        text = re.sub(r"password-command = .*", f"oauth2-token-command = cat {token_file}", text)
        self.env.write_config(text)
        message = self.queue_message(8)
        result = self.flush()
        self.assertEqual(result.returncode, EX_OK, result.stdout + result.stderr)
        self.assertEqual(self.server.auth_seen(), [("XOAUTH2", user)])
        self.assertEqual([m["data"] for m in self.server.received()], [wire_form(message)])

    def test_refused_token(self):
        token_file = self.env.write_file("token", "expired-token\n")
        with open(self.env.config_path) as f:
            text = f.read()
        text = re.sub(r"password-command = .*", f"oauth2-token-command = cat {token_file}", text)
        self.env.write_config(text)
        self.queue_message(9)
        result = self.flush()
        self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stdout + result.stderr)
        entry = self.entry()
        self.assertEqual(entry["state"], "failed")
        self.assertNotIn("expired-token", json.dumps(entry))
        self.assertEqual(self.server.received(), [])


class TemporaryFailureTest(DeliveryTest):
    server_options = {"data_replies": ["451 4.3.0 Try again later"]}

    def test_deferred_then_sent(self):
        self.queue_message(10)
        result = self.flush()
        self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
        entry = self.entry()
        self.assertEqual(entry["state"], "queued")
        self.assertEqual(entry["attempts"], 1)
        self.assertIn("451 4.3.0 Try again later", entry["last_reply"])
        self.assertIsNotNone(entry["next_attempt"])
        self.assertEqual(self.server.received(), [])

        result = self.flush()
        self.assertEqual(result.returncode, EX_OK, result.stdout + result.stderr)
        self.assertEqual(self.entry()["state"], "sent")
        self.assertEqual(self.entry()["attempts"], 2)
        self.assertEqual(len(self.server.received()), 1)
        self.assertEqual(self.server.transactions(), 2)


class BackoffTest(DeliveryTest):
    def test_backoff_follows_retry_intervals(self):
        self.start_server(data_replies=["421 4.7.0 Busy"] * 3)
        with open(self.env.config_path) as f:
            text = f.read()
        self.env.write_config(text.replace("[general]\n", "[general]\nretry-intervals = 2;7\n"))
        self.queue_message(11)
        for attempt, minutes in ((1, 2), (2, 7), (3, 7)):
            before = time.time()
            self.flush()
            entry = self.entry()
            self.assertEqual(entry["attempts"], attempt)
            next_attempt = time.mktime(time.strptime(entry["next_attempt"], "%Y-%m-%dT%H:%M:%SZ")) \
                - time.timezone
            self.assertAlmostEqual(next_attempt - before, minutes * 60, delta=5)


class PermanentFailureTest(DeliveryTest):
    server_options = {"data_replies": ["554 5.7.1 Message rejected as spam"]}

    def test_failed_kept_and_not_retried(self):
        self.queue_message(20)
        result = self.flush()
        self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stderr)
        self.assertIn(b"554 5.7.1 Message rejected as spam", result.stdout)
        entry = self.entry()
        self.assertEqual(entry["state"], "failed")
        self.assertIn("554 5.7.1", entry["last_reply"])

        # Never retried silently.
        self.assertEqual(self.flush().returncode, EX_OK)
        self.assertEqual(self.server.transactions(), 1)

        # Only when the user says so; the server now accepts.
        result = self.env.ferry("queue", "retry", entry["id"])
        self.assertEqual(result.returncode, EX_OK, result.stdout + result.stderr)
        self.assertEqual(self.entry()["state"], "sent")
        self.assertEqual(len(self.server.received()), 1)


class OneRecipientRefusedTest(DeliveryTest):
    server_options = {"rcpt_replies": {"nobody@example.org": "550 5.1.1 No such user"}}

    def test_partial(self):
        message = self.queue_message(30, recipients=("bob@example.org", "nobody@example.org"))
        result = self.flush()
        self.assertEqual(result.returncode, EX_UNAVAILABLE)
        received = self.server.received()
        self.assertEqual(len(received), 1)
        self.assertEqual(received[0]["rcpt_tos"], ["bob@example.org"])
        self.assertEqual(received[0]["data"], wire_form(message))
        entry = self.entry()
        self.assertEqual(entry["state"], "failed")
        states = {r["address"]: (r["state"], r["reply"]) for r in entry["recipients"]}
        self.assertEqual(states["bob@example.org"][0], "sent")
        self.assertEqual(states["nobody@example.org"][0], "failed")
        self.assertIn("550 5.1.1 No such user", states["nobody@example.org"][1])

        # A retry goes to the refused recipient only, never to bob again:
        # nobody is refused again, so nothing more is received.
        result = self.env.ferry("queue", "retry", "--all")
        self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stdout + result.stderr)
        self.assertEqual(len(self.server.received()), 1)
        states = {r["address"]: r["state"] for r in self.entry()["recipients"]}
        self.assertEqual(states, {"bob@example.org": "sent", "nobody@example.org": "failed"})
        self.assertEqual(self.entry()["attempts"], 2)


class DroppedConnectionTest(DeliveryTest):
    server_options = {"drop_in_data": 1}

    def test_drop_in_data(self):
        message = self.queue_message(40, body=("z" * 76 + "\n") * 3000)
        result = self.flush()
        self.assertEqual(result.returncode, EX_TEMPFAIL, result.stdout + result.stderr)
        self.assertEqual(self.entry()["state"], "queued")
        self.assertEqual(self.server.received(), [])
        result = self.flush()
        self.assertEqual(result.returncode, EX_OK, result.stdout + result.stderr)
        self.assertEqual([m["data"] for m in self.server.received()], [wire_form(message)])


class StartTlsRequiredTest(DeliveryTest):
    server_options = {"tls": "none"}

    def test_never_sent_in_clear(self):
        self.queue_message(50)
        result = self.flush()
        self.assertEqual(result.returncode, EX_TEMPFAIL)
        self.assertEqual(self.server.transactions(), 0)
        self.assertEqual(self.server.auth_seen(), [])
        self.assertIn("TLS", self.entry()["last_reply"].upper())


class ConcurrencyTest(DeliveryTest):
    def queue_many(self, count):
        for n in range(count):
            self.queue_message(n)

    def test_two_flushers(self):
        self.queue_many(200)
        a = subprocess.Popen([FERRY, "queue", "flush"], env=self.env.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        b = subprocess.Popen([FERRY, "queue", "flush"], env=self.env.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        outputs = [a.communicate(timeout=300)[0], b.communicate(timeout=300)[0]]
        sent = [int(re.search(rb"(\d+) sent", out).group(1)) for out in outputs]
        self.assertEqual(sum(sent), 200, outputs)
        self.assertTrue(all(n > 0 for n in sent), f"both flushers delivered: {sent}")
        ids = message_ids(self.server.received())
        counts = Counter(ids)
        self.assertEqual(len(counts), 200, "every message delivered")
        self.assertEqual(max(counts.values()), 1, "no message delivered twice")
        self.assertTrue(all(e["state"] == "sent" for e in self.env.queue()))

    def test_sigkill_flusher(self):
        count = 60
        self.queue_many(count)
        rng = random.Random(2026)
        kills = 0
        for round_number in range(40):
            flusher = subprocess.Popen([FERRY, "queue", "flush"], env=self.env.env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, 0.15))
            if flusher.poll() is None:
                flusher.send_signal(signal.SIGKILL)
                kills += 1
            flusher.wait()
        final = self.flush()
        self.assertIn(final.returncode, (EX_OK,), final.stdout + final.stderr)

        counts = Counter(message_ids(self.server.received()))
        expected = {f"<test-{n}-{os.getpid()}@example.org>" for n in range(count)}
        self.assertEqual(set(counts), expected, "no message lost")
        duplicates = sum(c - 1 for c in counts.values())
        # Each kill can land in the one window (the server accepted, the
        # record was not yet written) at most once.
        self.assertLessEqual(duplicates, kills)
        queue = self.env.queue()
        self.assertEqual(len(queue), count)
        self.assertTrue(all(e["state"] == "sent" for e in queue))
        self.assertGreater(kills, 10)


class HostileServerTest(DeliveryTest):
    """Servers that misbehave: each attempt ends within the timeout with
    the entry intact and queued, an error that says what happened, and
    the message goes out exactly once when the server behaves."""

    TIMEOUT = 3

    def start_hostile(self, **options):
        self.start_server(**options)
        with open(self.env.config_path) as f:
            text = f.read()
        self.env.write_config(text.replace("[general]\n", f"[general]\ntimeout = {self.TIMEOUT}\n"))

    def assert_deferred_intact(self, message, result, *shown):
        output = (result.stdout + result.stderr).decode()
        self.assertEqual(result.returncode, EX_TEMPFAIL, output)
        entry = self.entry()
        self.assertEqual(entry["state"], "queued", entry)
        self.assertIsNotNone(entry["next_attempt"])
        for text in shown:
            self.assertIn(text, entry["last_reply"] + output)
        self.assertEqual(self.env.queued_message(entry["id"]), message)
        self.assertEqual(self.env.leftovers(), [])
        self.assertEqual(self.server.received(), [])

    def flush_timed(self):
        started = time.monotonic()
        result = self.flush()
        return result, time.monotonic() - started

    def assert_sent_once(self, message):
        result = self.flush()
        self.assertEqual(result.returncode, EX_OK, result.stdout + result.stderr)
        self.assertEqual(self.entry()["state"], "sent")
        self.assertEqual([m["data"] for m in self.server.received()], [wire_form(message)])

    def test_greeting_never_comes(self):
        self.start_hostile(greeting_delay=3600)
        message = self.queue_message(50)
        result, took = self.flush_timed()
        self.assertLess(took, self.TIMEOUT + 10)
        self.assert_deferred_intact(message, result, f"{self.TIMEOUT} s")
        self.assertEqual(self.server.transactions(), 0)

    def test_multiline_4xx_on_data(self):
        self.start_hostile(data_replies=["451-4.3.0 The spool is full,\r\n"
                                         "451-4.3.0 we are working on it;\r\n"
                                         "451 4.3.0 try again in an hour"])
        message = self.queue_message(51)
        result, _ = self.flush_timed()
        self.assert_deferred_intact(message, result, "The spool is full",
                                    "try again in an hour")
        self.assert_sent_once(message)

    def test_closes_after_rcpt(self):
        self.start_hostile(close_after_rcpt=1)
        message = self.queue_message(52)
        result, _ = self.flush_timed()
        self.assert_deferred_intact(message, result)
        self.assertEqual(self.server.transactions(), 0)
        self.assert_sent_once(message)


if __name__ == "__main__":
    unittest.main(verbosity=2)
