"""Secrets handling: Argon2id password hashes, hashed visitor ids, signed browser ids (the
visitor cookie), client-address visitor ids (salted scrypt, never the address itself), the
admin secret check."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# A valid Argon2id hash of a random password, verified when a post has no hash (imported
# content) or the nickname is wrong, so a failed check costs the same time either way.
_DUMMY_PASSWORD = secrets.token_hex(16)


@dataclass(frozen=True)
class Visitor:
    """Who acts on the board, as the page knows it.

    ``id``: the visitor likes, reports and rate limits count for: normally a browser
    (``browser-`` + the random id in its signed cookie, :func:`browser_id_from_token`);
    ``network``: the client-address id (:func:`client_visitor_id`) when the server sees one,
    whose own limits hold on top (clearing cookies does not reset them);
    ``confirmed``: the browser sent its signed cookie back (False in a browser's first session,
    before the cookie made a round trip, and for clients that drop cookies: their reports do
    not count towards hiding a post).

    Board methods also take a plain string, read as ``Visitor(id)`` (tests, tools).
    """

    id: str
    network: str | None = None
    confirmed: bool = True


def as_visitor(visitor: Visitor | str) -> Visitor:
    return visitor if isinstance(visitor, Visitor) else Visitor(visitor)


#: the visitor cookie: ``v1.<32 hex: random id>.<32 hex: HMAC-SHA256 under the board's key>``
COOKIE_NAME = "drdc_visitor"
BROWSER_PREFIX = "browser-"
_TOKEN = re.compile(r"v1\.([0-9a-f]{32})\.([0-9a-f]{32})")


def _token_mac(key: bytes, browser: str) -> str:
    return hmac.new(key, b"drdc-visitor-cookie-v1\x00" + browser.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def new_browser_token(key: bytes) -> str:
    """A fresh visitor cookie value: 128 random bits signed with ``key`` (the board's
    ``cookie_key``, schema v7), so nobody can make up a valid one or pick its id."""
    browser = secrets.token_hex(16)
    return f"v1.{browser}.{_token_mac(key, browser)}"


def browser_id_from_token(key: bytes, token: object) -> str | None:
    """The visitor id a cookie value stands for (``browser-<id>``), or None when it is not a
    well-formed token signed with ``key`` (tampered, made up, from another installation)."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    match = _TOKEN.fullmatch(token.strip().strip('"'))
    if match is None:
        return None
    browser, mac = match.groups()
    if not hmac.compare_digest(mac, _token_mac(key, browser)):
        return None
    return BROWSER_PREFIX + browser


def new_visitor_id() -> str:
    """A random per-session visitor id (128 bits): pages keep it in session state and use it
    when the client address is unknown (see :func:`client_visitor_id`)."""
    return secrets.token_hex(16)


#: the bucket of whole-board limits (failed admin secrets from everyone)
GLOBAL_BUCKET = "global"
#: the one shared visitor of every session with no client address and no usable cookie (new ids
#: ran out, or the database could not issue one): it may not like or report
ANONYMOUS_VISITOR = "anonymous"
#: the network of sessions with no client address (they count as one network for new-browser likes)
NO_NETWORK = "network:none"


def visitor_hash(visitor_id: str) -> str:
    """The stored form of a visitor id: SHA-256 of a prefixed id (the id itself is random,
    so the hash cannot be reversed or linked to anything outside the board)."""
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ValueError("visitor_id must be a non-empty string")
    return hashlib.sha256(b"drdc-board-visitor\x00" + visitor_id.encode("utf-8")).hexdigest()


#: scrypt cost of a client-address visitor id (4 MiB, some 20-40 ms): computed once per client
#: and cached by the Board; it makes trying every IPv4 address against a leaked database
#: (salt included) take CPU-years instead of minutes.
CLIENT_SCRYPT = {"n": 2**12, "r": 8, "p": 1}
CLIENT_PREFIX = "client-"


def client_network(address: object) -> str | None:
    """The network a client address stands for: an IPv4 address itself (IPv4-mapped IPv6
    too), or the /64 prefix of an IPv6 address (one home or phone gets a whole /64 and may
    use any address in it). None when ``address`` is not an IP address."""
    if not isinstance(address, str) or not address.strip():
        return None
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_visitor_id(salt: str, address: object) -> str | None:
    """A visitor id that is the same for every session from one client address (see
    :func:`client_network`): ``client-`` + scrypt(network, salt). The address is never
    stored; the board stores only :func:`visitor_hash` of this id. None for a missing or
    malformed address (callers fall back to a per-session id)."""
    network = client_network(address)
    return None if network is None else network_visitor_id(salt, network)


def network_visitor_id(salt: str, network: str) -> str:
    """``client-`` + scrypt of a network from :func:`client_network` under ``salt``."""
    digest = hashlib.scrypt(network.encode("ascii"), salt=salt.encode("ascii"), dklen=32, **CLIENT_SCRYPT)
    return CLIENT_PREFIX + digest.hex()


def hash_password(hasher: PasswordHasher, password: str) -> str:
    """The Argon2id hash string (algorithm, parameters, salt and hash) of ``password``."""
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``. A missing or malformed hash never matches
    (and still costs one hash, so timing does not tell which case happened)."""
    if not stored:
        _burn(hasher)
        return False
    try:
        return hasher.verify(stored, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        return False


def needs_rehash(hasher: PasswordHasher, stored: str) -> bool:
    """True when ``stored`` was made with other parameters than ``hasher``'s."""
    try:
        return hasher.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return False


def _burn(hasher: PasswordHasher) -> None:
    hasher.hash(_DUMMY_PASSWORD)


def burn_password_check(hasher: PasswordHasher) -> None:
    """Spend the time of one password check (used when the nickname is already wrong)."""
    _burn(hasher)


def admin_secret_matches(candidate: object, expected: str | None) -> bool:
    """Constant-time comparison of a typed admin secret with the configured one.
    Moderation is off (always False) when no secret is configured."""
    if not expected or not isinstance(candidate, str) or not candidate:
        return False
    return hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
