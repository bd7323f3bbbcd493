# Copyright 2026 The Ferry authors
# SPDX-License-Identifier: GPL-2.0-or-later
"""The mail bench-sync syncs: folders of deterministic messages with a
realistic size mix, written straight into a DovecotServer's Maildir; the
server-side change every contender syncs after; and a snapshot of the
server's Maildir from which each contender starts.

Messages are tests/fixtures/mail_corpus.py's (headers, text, one in five
with a small attachment), grown to a size drawn for each message from
(seed, folder, index): 88% log-uniform in 2-20 kB (more text), 10% in
20-100 kB and 2% in 100 kB-1 MB (a base64 attachment makes up the size).
A 5,000-message corpus is about 100 MB. Flags: 97% of older mail \\Seen,
55% of the newest 5% of each folder; 8% of seen mail \\Answered; 4%
\\Flagged.
"""

import base64
import collections
import math
import os
import random
import re
import shutil
import time

import mail_corpus

SIZE_CLASSES = (  # (share, smallest, largest) in bytes
    (0.88, 2_000, 20_000),
    (0.10, 20_000, 100_000),
    (0.02, 100_000, 1_000_000),
)
ATTACHMENT_ABOVE = 20_000
LINE_WIDTH = 72

CORPORA = {
    "tiny": {"INBOX": 200, "Archive": 200},
    "small": {"INBOX": 1000, "Archive": 1000, "Sent": 1000, "Lists/ferry-devel": 1000,
              "Work": 1000},
    "large": {"INBOX": 2000, "Archive-old": 50_000, "Sent": 2000, "Work": 2000,
              "Lists/ferry-devel": 2000, "Lists/announce": 2000, "Family": 2000,
              "Receipts": 2000, "Travel": 2000, "Newsletters": 2000, "Projects": 2000},
}

Mutation = collections.namedtuple("Mutation", "new flag_changes expunges")
MUTATIONS = {
    "tiny": Mutation(20, 50, 20),
    "small": Mutation(100, 500, 100),
    "large": Mutation(100, 500, 100),
}
NEW_MAIL_FOLDER = "INBOX-new"  # the corpus "folder" new mail is drawn from


def _rng(*parts):
    return random.Random("ferry-bench/" + "/".join(str(p) for p in parts))


def target_size(seed, folder, index):
    rng = _rng("size", seed, folder, index)
    x = rng.random()
    for share, low, high in SIZE_CLASSES:
        if x < share:
            break
        x -= share
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _text(rng, nbytes):
    lines, total = [], 0
    while total < nbytes:
        words = []
        while sum(len(w) + 1 for w in words) < LINE_WIDTH - 8:
            words.append(rng.choice(mail_corpus.WORDS))
        line = " ".join(words).encode() + b"\n"
        lines.append(line)
        total += len(line)
    return b"".join(lines)


def _boundary(head):
    m = re.search(rb'boundary="([^"]+)"', head)
    return m.group(1) if m else None


def _attachment_part(rng, boundary, nbytes, index):
    kind, extension = rng.choice(mail_corpus.ATTACHMENTS)
    name = f"document-{index}.{extension}".encode()
    # base64.encodebytes: 57 bytes make a line of 76 characters and "\n".
    data = base64.encodebytes(rng.randbytes(max(57, nbytes * 57 // 77)))
    return (b"--" + boundary + b"\nContent-Type: " + kind.encode() + b'; name="' + name + b'"\n'
            b"Content-Transfer-Encoding: base64\n"
            b'Content-Disposition: attachment; filename="' + name + b'"\n\n' + data)


def _with_text(message, nbytes, rng):
    head, body = message.split(b"\n\n", 1)
    boundary = _boundary(head)
    if boundary is None:
        return message + _text(rng, nbytes)
    # Into the text part, before the boundary that starts the attachment.
    marker = b"\n--" + boundary + b"\n"
    first = body.find(marker)
    second = body.find(marker, first + 1)
    cut = second + 1
    return head + b"\n\n" + body[:cut] + _text(rng, nbytes) + body[cut:]


def _with_attachment(message, nbytes, rng, index):
    head, body = message.split(b"\n\n", 1)
    boundary = _boundary(head)
    if boundary is not None:
        close = b"--" + boundary + b"--\n"
        cut = body.rfind(close)
        part = _attachment_part(rng, boundary, nbytes, index)
        return head + b"\n\n" + body[:cut] + part + body[cut:]
    boundary = f"=_bench_{rng.getrandbits(64):016x}".encode()
    plain = b"Content-Type: text/plain; charset=us-ascii"
    head = head.replace(plain, b'Content-Type: multipart/mixed; boundary="' + boundary + b'"')
    return (head + b"\n\nThis is a multi-part message in MIME format.\n\n--" + boundary + b"\n"
            + plain + b"\n\n" + body + b"\n"
            + _attachment_part(rng, boundary, nbytes, index) + b"--" + boundary + b"--\n")


def make_message(seed, folder, index):
    """Message index of folder, LF line ends, about target_size() long."""
    message = mail_corpus.make_message(seed, folder, index)
    size = target_size(seed, folder, index)
    rng = _rng("body", seed, folder, index)
    if size > ATTACHMENT_ABOVE:
        return _with_attachment(message, size - len(message), rng, index)
    if size > len(message):
        return _with_text(message, size - len(message), rng)
    return message


def initial_flags(seed, folder, index, count):
    """Maildir letters of message index of a folder of count messages."""
    rng = _rng("flags", seed, folder, index)
    newest = index >= count * 0.95
    letters = ""
    if rng.random() < (0.55 if newest else 0.97):
        letters += "S"
        if rng.random() < 0.08:
            letters += "R"
    if rng.random() < 0.04:
        letters += "F"
    return "".join(sorted(letters))


class MaildirWriter:
    """Writes messages into one folder of the server's Maildir++ as a
    delivery agent would: into tmp/, then renamed into cur/ (with flags) or
    new/; S= and W= sizes in the name, the Date as mtime (which Dovecot
    takes as INTERNALDATE)."""

    def __init__(self, server, folder):
        self.server = server
        self.path = server.maildir_path(folder)
        for sub in ("cur", "new", "tmp"):
            self._mkdir(os.path.join(self.path, sub))
        if folder != "INBOX":
            marker = os.path.join(self.path, "maildirfolder")
            if not os.path.exists(marker):
                open(marker, "w").close()
                server.chown(marker)

    def _mkdir(self, path):
        if not os.path.isdir(path):
            self._mkdir(os.path.dirname(path))
            os.mkdir(path, 0o700)
            self.server.chown(path)

    def write(self, data, timestamp, unique, letters=None):
        """letters None: into new/, as unseen new mail."""
        virtual_size = len(data) + data.count(b"\n")
        name = f"{timestamp}.M{unique}P{os.getpid()}.ferrybench,S={len(data)},W={virtual_size}"
        tmp = os.path.join(self.path, "tmp", name)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(data)
        self.server.chown(tmp)
        os.utime(tmp, (timestamp, timestamp))
        if letters is None:
            os.rename(tmp, os.path.join(self.path, "new", name))
        else:
            os.rename(tmp, os.path.join(self.path, "cur", f"{name}:2,{letters}"))
        return len(data)


def fill(server, folders, seed):
    """Writes the corpus ({folder: count}) and lets Dovecot index each
    folder; returns {"folders", "messages", "bytes", "seconds"}."""
    started = time.monotonic()
    total = 0
    for folder, count in folders.items():
        writer = MaildirWriter(server, folder)
        for index in range(count):
            total += writer.write(make_message(seed, folder, index),
                                  mail_corpus.message_date(index), index,
                                  initial_flags(seed, folder, index, count))
        server.doveadm("force-resync", "-u", server.user, folder)
    return {"folders": dict(folders), "messages": sum(folders.values()), "bytes": total,
            "seconds": round(time.monotonic() - started, 1)}


# The server-side change.

def _uid_set(uids):
    uids = sorted(uids)
    ranges, start = [], 0
    for k in range(1, len(uids) + 1):
        if k == len(uids) or uids[k] != uids[k - 1] + 1:
            ranges.append(str(uids[start]) if start == k - 1 else f"{uids[start]}:{uids[k - 1]}")
            start = k
    return ",".join(ranges)


def _server_flags(server):
    """[(folder, uid, set of flags)] of every message, sorted."""
    out = server.doveadm("-f", "tab", "fetch", "-u", server.user, "mailbox uid flags", "all")
    found = []
    for line in out.splitlines()[1:]:
        folder, uid, flags = (line.split("\t") + [""])[:3]
        found.append((folder, int(uid), set(flags.split()) - {"\\Recent"}))
    return sorted(found, key=lambda m: (m[0], m[1]))


def plan_mutation(server, mutation, seed):
    """Which messages change and how, drawn from seed and the server's UIDs
    (the same on every restored copy): {"flags": [(folder, "add"|"remove",
    flag, [uids])], "expunge": [(folder, [uids])], "new": count}. Flag
    changes toggle \\Seen (60%), \\Flagged (25%) or \\Answered (15%);
    expunged messages are others than those."""
    messages = _server_flags(server)
    wanted = mutation.flag_changes + mutation.expunges
    if wanted > len(messages):
        raise ValueError(f"the mutation needs {wanted} messages, the corpus has {len(messages)}")
    rng = _rng("mutation", seed)
    picked = rng.sample(messages, wanted)
    ops = collections.defaultdict(list)
    for folder, uid, flags in picked[:mutation.flag_changes]:
        x = rng.random()
        flag = "\\Seen" if x < 0.60 else "\\Flagged" if x < 0.85 else "\\Answered"
        ops[(folder, "remove" if flag in flags else "add", flag)].append(uid)
    expunges = collections.defaultdict(list)
    for folder, uid, _ in picked[mutation.flag_changes:]:
        expunges[folder].append(uid)
    return {"flags": [(f, op, fl, sorted(u)) for (f, op, fl), u in sorted(ops.items())],
            "expunge": [(f, sorted(u)) for f, u in sorted(expunges.items())],
            "new": mutation.new}


def apply_mutation(server, plan, seed, corpus):
    """Applies plan with doveadm (flags, expunges) and delivers the new
    mail into INBOX's new/; the same bytes every time."""
    for folder, op, flag, uids in plan["flags"]:
        server.doveadm("flags", op, "-u", server.user, flag, "mailbox", folder, "uid",
                       _uid_set(uids))
    for folder, uids in plan["expunge"]:
        server.doveadm("expunge", "-u", server.user, "mailbox", folder, "uid", _uid_set(uids))
    writer = MaildirWriter(server, "INBOX")
    after = mail_corpus.message_date(max(corpus.values())) + 86_400
    for index in range(plan["new"]):
        writer.write(make_message(seed, NEW_MAIL_FOLDER, index), after + 60 * index,
                     10_000_000 + index)
    server.doveadm("force-resync", "-u", server.user, "INBOX")


def describe_mutation(plan):
    return (f"{plan['new']} new messages in INBOX, "
            f"{sum(len(u) for *_, u in plan['flags'])} flag changes, "
            f"{sum(len(u) for _, u in plan['expunge'])} expunges")


# Snapshot and restore of the server's Maildir (Dovecot stopped).

def snapshot(maildir, destination):
    shutil.copytree(maildir, destination, symlinks=True)


def restore(snapshot_dir, maildir):
    """Makes maildir the snapshot again: message files as hard links
    (Dovecot never rewrites one, it renames and unlinks), everything else
    (indexes, uidlist, which Dovecot changes in place) copied."""
    shutil.rmtree(maildir)
    for directory, _, files in os.walk(snapshot_dir):
        target = os.path.join(maildir, os.path.relpath(directory, snapshot_dir))
        os.makedirs(target, mode=0o700, exist_ok=True)
        linked = os.path.basename(directory) in ("cur", "new")
        for name in files:
            source = os.path.join(directory, name)
            if linked:
                os.link(source, os.path.join(target, name))
            else:
                shutil.copy2(source, os.path.join(target, name))
