"""Password hashing with scrypt (stdlib): memory-hard, so a stolen hash is costly to brute-force.

The stored form ``scrypt$n$r$p$salt$hash`` carries its parameters, so they can be raised later without
invalidating existing passwords.

scrypt costs ~75 ms of CPU, so it never runs on the event loop (the engine, AMI link and FastAGI share
it): ``hash_async``/``verify_async`` run it in a small dedicated pool that leaves the loop a core, and a
login with an unknown name verifies against a fixed dummy hash, so it costs exactly what a known name
costs and timing can not tell which names exist.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

N, R, P = 2**14, 8, 1
MIN_LENGTH = 8

# at most half the cores hash at once: a burst of logins queues here instead of starving the event loop
HASHER = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="scrypt")

# The commonest passwords of at least MIN_LENGTH characters (public breach lists); compared lower-cased.
_COMMON_LIST = """
    12345678 123456789 1234567890 0123456789 87654321 11111111 00000000 88888888 12341234 11223344
    123123123 1q2w3e4r 1q2w3e4r5t 1qaz2wsx qwertyui qwertyuiop qwerty123 qwerty12 qweqweqwe asdfghjk
    asdfasdf zxcvbnm1 zaq12wsx password password1 password12 password123 passw0rd p@ssw0rd p@ssword
    iloveyou princess sunshine football baseball superman batman123 welcome1 welcome123 letmein1
    trustno1 abc12345 abcd1234 aa123456 a1234567 qwe12345 admin123 administrator changeme changeme1
    computer internet starwars whatever dragon12 monkey12 michael1 jennifer shadow12 master12
    1234qwer q1w2e3r4 q1w2e3r4t5 987654321 999999999 555555555 7777777777 qazwsxedc 123qweasd
    1qazxsw2 secret12 secret123 default1 pa55word pa$$word qwerty1234 password1234 11111111111
    123456789a 12345678a 123456abc 1234567a parolparol parol123 privet123 ytrewq12 zxcvbnm123
    dialer505 passport qwertyqwerty 123456123456 asdasdasd 1111111111 0987654321 66666666 12344321
"""
COMMON = frozenset(_COMMON_LIST.split())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@cache
def dummy_hash() -> str:
    """A hash of a random password, made once: what an unknown user name is checked against."""
    return hash_password(base64.b64encode(os.urandom(18)).decode())


async def hash_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(HASHER, hash_password, password)


async def verify_async(password: str, stored: str | None) -> bool:
    """Check ``password`` against ``stored`` off the loop; None (no such user) costs the same and fails."""

    def run() -> bool:
        ok = verify_password(password, stored if stored is not None else dummy_hash())
        return ok and stored is not None

    if stored is None and dummy_hash.cache_info().currsize == 0:
        # the one-time dummy hash is made in the pool too (the first unknown name pays one extra run)
        await asyncio.get_running_loop().run_in_executor(HASHER, dummy_hash)
    return await asyncio.get_running_loop().run_in_executor(HASHER, run)


def check_strength(password: str, username: str = "") -> None:
    """Reject passwords too weak to protect an account (raised as ValueError with the reason)."""
    if "\x00" in password:
        raise ValueError("password must not contain NUL characters")
    if not password.strip():
        raise ValueError("password must not be only spaces")
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > 1000:
        raise ValueError("password must be at most 1000 characters")
    if password.lower() in COMMON or len(set(password)) < 3:
        raise ValueError("password is one of the commonest passwords; choose another")
    if username and password.strip().lower() == username.strip().lower():
        raise ValueError("password must differ from the user name")
