"""SSH user keys of every type and size, made offline with ssh-keygen.

Security-key (FIDO) public keys are built from a software key's point: authorized_keys holds only
the public half, and that is what the lockout guard reads.
"""

from __future__ import annotations

import base64
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

# (ssh-keygen -t, -b): every type ssh-keygen makes without an authenticator, RSA around the floor.
SOFTWARE_KEYS = [
    ("ed25519", None),
    ("ecdsa", 256),
    ("ecdsa", 384),
    ("ecdsa", 521),
    ("rsa", 1024),
    ("rsa", 2048),
    ("rsa", 3071),
    ("rsa", 3072),
    ("rsa", 4096),
]


@dataclass(frozen=True)
class Key:
    type: str  # the key type as authorized_keys names it
    bits: int
    public_line: str
    private: Path | None  # None for the security-key public halves (no authenticator here)

    @property
    def label(self) -> str:
        return f"{self.type} {self.bits}"


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _fields(blob: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(blob):
        (n,) = struct.unpack(">I", blob[i : i + 4])
        out.append(blob[i + 4 : i + 4 + n])
        i += 4 + n
    return out


def _bits(public_line: str) -> int:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", "-"],
        input=public_line,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[0])


def make_keys(directory: Path) -> list[Key]:
    keys = []
    for kind, size in SOFTWARE_KEYS:
        path = directory / f"id_{kind}{size or ''}"
        cmd = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", path.name, "-f", str(path)]
        subprocess.run(cmd + (["-b", str(size)] if size else []), check=True)
        line = path.with_suffix(".pub").read_text().strip()
        keys.append(Key(line.split()[0], _bits(line), line, path))
    ed25519 = next(k for k in keys if k.type == "ssh-ed25519")
    ecdsa = next(k for k in keys if k.type == "ecdsa-sha2-nistp256")
    _, pk = _fields(base64.b64decode(ed25519.public_line.split()[1]))
    _, curve, point = _fields(base64.b64decode(ecdsa.public_line.split()[1]))
    application = b"ssh:"
    for type_, fields in [
        ("sk-ssh-ed25519@openssh.com", [pk]),
        ("sk-ecdsa-sha2-nistp256@openssh.com", [curve, point]),
    ]:
        blob = b"".join(_string(f) for f in [type_.encode(), *fields, application])
        line = f"{type_} {base64.b64encode(blob).decode()} {type_.split('-')[1]}-sk"
        keys.append(Key(type_, _bits(line), line, None))
    return keys
