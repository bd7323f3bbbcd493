# Copyright 2026 The Ferry authors
# SPDX-License-Identifier: GPL-2.0-or-later
"""The sync tools bench-sync compares, each configured the same way:

- every folder (`*`), into one Maildir tree in the verbatim layout
  (ROOT/INBOX, ROOT/Lists/ferry-devel);
- two-way sync, as Ferry always does: new mail, flag changes and expunges
  go both ways, missing folders are created on both sides, no folder is
  ever removed (mbsync's Sync All, Create Both, Expunge Both, Remove None,
  which are also Ferry's defaults; OfflineIMAP syncs both ways by default);
- the password read from a 0600 file (Ferry's password-command and
  mbsync's PassCmd run `cat FILE`, OfflineIMAP reads remotepassfile);
- the same transport: plain IMAP or STARTTLS with the server's
  certificate as the only CA;
- each tool's own default durability (all three fsync what they store);
- config and state in the contender's own directory, fresh for each repetition.

A Link says where the server is: host, port, security ("none" or
"starttls"), ca_file, user, password_file, and whether it stands for a
distant server (the slow link), which Ferry compresses its session to.
"""

import collections
import os
import subprocess

Link = collections.namedtuple("Link", "host port security ca_file user password_file distant")

BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError as e:
        return f"unknown ({e})"
    return ((out.stdout or out.stderr).strip().splitlines() or ["unknown"])[0]


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


class Contender:
    name = ""
    binary = ""

    def missing(self):
        """Why it cannot run here, or None."""
        return None if os.access(self.binary, os.X_OK) else f"{self.binary} not found"

    def env(self, cdir):
        home = os.path.join(cdir, "home")
        os.makedirs(home, exist_ok=True)
        return dict(BASE_ENV, HOME=home)


class Ferry(Contender):
    name = "ferry"

    def __init__(self, binary, connections=None, source_dir=None):
        self.binary = binary
        self.connections = connections
        self.source_dir = source_dir

    def version(self):
        line = _first_line([self.binary, "version"])
        if self.source_dir:
            commit = _first_line(["git", "-C", self.source_dir, "rev-parse", "--short", "HEAD"])
            line += f" (commit {commit})"
        if self.connections:
            line += f", max-connections {self.connections}"
        return line

    def setup(self, cdir, local, link):
        lines = ["[account bench]", f"maildir = {local}", f"imap-host = {link.host}",
                 f"imap-port = {link.port}", f"imap-security = {link.security}",
                 f"imap-user = {link.user}", f"password-command = cat {link.password_file}",
                 "folders = *"]
        if link.security != "none":
            lines.append(f"imap-ca-file = {link.ca_file}")
        if self.connections:
            lines.append(f"max-connections = {self.connections}")
        # The proxy is on loopback, where `auto` would not compress.
        if link.distant:
            lines.append("imap-compress = yes")
        _write(os.path.join(cdir, "ferry.conf"), "\n".join(lines) + "\n")

    def env(self, cdir):
        env = super().env(cdir)
        for variable, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                              ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "run")):
            env[variable] = os.path.join(cdir, sub)
            os.makedirs(env[variable], mode=0o700, exist_ok=True)
        return env

    def argv(self, cdir):
        return [self.binary, "--config", os.path.join(cdir, "ferry.conf"), "sync"]


class Mbsync(Contender):
    name = "mbsync"
    binary = "/usr/bin/mbsync"

    def version(self):
        return _first_line([self.binary, "--version"])

    def setup(self, cdir, local, link):
        ssl = {"none": "SSLType None",
               "starttls": f"SSLType STARTTLS\nCertificateFile {link.ca_file}"}[link.security]
        _write(os.path.join(cdir, "mbsyncrc"), f"""\
IMAPAccount bench
Host {link.host}
Port {link.port}
User {link.user}
PassCmd "cat {link.password_file}"
{ssl}
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel bench
Far :bench-far:
Near :bench-near:
Patterns *
Sync All
Create Both
Expunge Both
Remove None
SyncState *
""")

    def argv(self, cdir):
        return [self.binary, "-q", "-c", os.path.join(cdir, "mbsyncrc"), "-a"]


class OfflineImap(Contender):
    binary = "/usr/bin/offlineimap"

    def __init__(self, connections):
        self.connections = connections
        self.name = "offlineimap" if connections == 1 else f"offlineimap{connections}"

    def version(self):
        return (f"offlineimap {_first_line([self.binary, '--version'])}, "
                f"maxconnections {self.connections}")

    def setup(self, cdir, local, link):
        tls = {"none": "ssl = no\nstarttls = no",
               "starttls": f"ssl = no\nstarttls = yes\nsslcacertfile = {link.ca_file}",
               }[link.security]
        _write(os.path.join(cdir, "offlineimaprc"), f"""\
[general]
accounts = bench
metadata = {cdir}/metadata
maxsyncaccounts = 1
ui = quiet

[Account bench]
localrepository = bench-near
remoterepository = bench-far

[Repository bench-near]
type = Maildir
localfolders = {local}
sep = /

[Repository bench-far]
type = IMAP
remotehost = {link.host}
remoteport = {link.port}
remoteuser = {link.user}
remotepassfile = {link.password_file}
{tls}
maxconnections = {self.connections}
holdconnectionopen = no
""")

    def argv(self, cdir):
        return [self.binary, "-o", "-u", "quiet", "-c", os.path.join(cdir, "offlineimaprc")]


def all_contenders(ferry_binary, ferry_connections, source_dir):
    return [Ferry(ferry_binary, ferry_connections, source_dir), Mbsync(), OfflineImap(1),
            OfflineImap(4)]
