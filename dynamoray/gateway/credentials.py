"""Root credentials: from ``DYNAMORAY_ROOT_CREDENTIALS`` or generated once into the data directory."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "DYNAMORAY_ROOT_CREDENTIALS"
FILE_NAME = "root-credentials.json"


@dataclass(frozen=True, slots=True)
class RootCredentials:
    access_key: str
    secret_key: str
    generated: bool = False  # True when made on this start (the server prints them once)


def _generate() -> RootCredentials:
    upper = string.ascii_uppercase + string.digits
    access = "AKDR" + "".join(secrets.choice(upper) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    return RootCredentials(access, secret, generated=True)


def load_root_credentials(data_dir: Path, environ: dict[str, str] | None = None) -> RootCredentials:
    """The root key pair: the environment wins; else the data dir's file; else a new pair saved there."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR)
    if value:
        access, sep, secret = value.partition(":")
        if not sep or not access or not secret:
            raise ValueError(f"{ENV_VAR} must be ACCESS_KEY:SECRET")
        return RootCredentials(access, secret)
    path = Path(data_dir) / FILE_NAME
    if path.exists():
        stored = json.loads(path.read_text())
        return RootCredentials(stored["access_key"], stored["secret_key"])
    creds = _generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"access_key": creds.access_key, "secret_key": creds.secret_key}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return creds
