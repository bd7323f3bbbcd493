# Copyright 2026 The Ferry authors
# SPDX-License-Identifier: GPL-2.0-or-later
"""Does a contender's Maildir tree hold exactly the server's mail?

Server side: `doveadm fetch 'mailbox flags hdr.message-id' all` (no IMAP
session, so nothing shows in the byte counts) and `doveadm mailbox status`
for folders with no messages. Local side: ROOT/NAME for every server folder
(INBOX in ROOT/INBOX, "/" between levels: the verbatim layout all three
contenders are configured for); every file in cur/ and new/ is a message,
its flags the letters after ":2,", its Message-ID from its header.

Per folder: the Message-IDs with their counts equal the server's (none
missing, none extra, no duplicate), and every message's system flags equal
the server's. A folder found locally that the server lacks is a failure
when it holds messages.
"""

import collections
import os

LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
SYSTEM_FLAGS = frozenset(LETTERS.values())
HEAD_BYTES = 65536
EXAMPLES = 3


def server_view(server):
    """{folder: [(Message-ID, frozenset of system flags)]}."""
    out = server.doveadm("-f", "tab", "fetch", "-u", server.user, "mailbox flags hdr.message-id",
                         "all")
    view = collections.defaultdict(list)
    for line in out.splitlines()[1:]:
        folder, flags, message_id = (line.split("\t") + ["", ""])[:3]
        view[folder].append((message_id.strip(), frozenset(flags.split()) & SYSTEM_FLAGS))
    status = server.doveadm("-f", "tab", "mailbox", "status", "-u", server.user, "messages", "*")
    for line in status.splitlines()[1:]:
        view.setdefault(line.split("\t")[0], [])
    return dict(view)


def header_message_id(path):
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES).replace(b"\r\n", b"\n")
    head = head.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\n")
    for k, line in enumerate(lines):
        if line[:11].lower() == "message-id:":
            value = line[11:]
            for more in lines[k + 1:]:
                if more[:1] not in (" ", "\t"):
                    break
                value += more
            return value.strip()
    return ""


def file_flags(name):
    _, sep, letters = name.rpartition(":2,")
    return frozenset(LETTERS[c] for c in letters if c in LETTERS) if sep else frozenset()


def local_messages(directory):
    """[(Message-ID, flags)] of the messages in one Maildir folder."""
    found = []
    for sub in ("cur", "new"):
        path = os.path.join(directory, sub)
        for name in os.listdir(path) if os.path.isdir(path) else ():
            found.append((header_message_id(os.path.join(path, name)), file_flags(name)))
    return found


def local_folders(root):
    """{folder name: directory} of every Maildir (a directory with cur/) under root."""
    found = {}
    for directory, subdirs, _ in os.walk(root):
        if "cur" in subdirs and directory != root:
            found[os.path.relpath(directory, root)] = directory
        subdirs[:] = [d for d in subdirs if d not in ("cur", "new", "tmp")]
    return found


def _compare_folder(folder, wanted, got):
    problems = []
    want_ids = collections.Counter(mid for mid, _ in wanted)
    got_ids = collections.Counter(mid for mid, _ in got)
    missing = sorted((want_ids - got_ids).elements())
    extra = sorted((got_ids - want_ids).elements())
    duplicates = sorted(mid for mid, n in got_ids.items() if n > 1)
    if len(got) != len(wanted):
        problems.append(f"{folder}: {len(got)} messages, the server has {len(wanted)}")
    if missing:
        problems.append(f"{folder}: {len(missing)} missing, e.g. {missing[:EXAMPLES]}")
    if extra:
        problems.append(f"{folder}: {len(extra)} not on the server (or extra copies), "
                        f"e.g. {extra[:EXAMPLES]}")
    if duplicates:
        problems.append(f"{folder}: {len(duplicates)} Message-IDs more than once, "
                        f"e.g. {duplicates[:EXAMPLES]}")
    server_flags = dict(wanted)
    wrong = [(mid, flags) for mid, flags in got
             if mid in server_flags and flags != server_flags[mid]]
    if wrong:
        mid, flags = wrong[0]
        problems.append(f"{folder}: flags differ on {len(wrong)} messages, e.g. {mid}: "
                        f"local {sorted(flags)}, server {sorted(server_flags[mid])}")
    return problems


def verify(server, root):
    """(problems, summary): problems is empty when the tree is right."""
    view = server_view(server)
    found = local_folders(root)
    problems = []
    local_total = 0
    for folder, wanted in sorted(view.items()):
        got = local_messages(os.path.join(root, *folder.split("/")))
        local_total += len(got)
        problems += _compare_folder(folder, wanted, got)
    for folder in sorted(set(found) - set(view)):
        stray = local_messages(found[folder])
        if stray:
            problems.append(f"{folder}: a local folder with {len(stray)} messages that the "
                            "server does not have")
    server_total = sum(len(m) for m in view.values())
    summary = (f"{len(view)} folders, {server_total} messages on the server, {local_total} "
               "local, Message-IDs and flags of every message compared")
    return problems, summary
