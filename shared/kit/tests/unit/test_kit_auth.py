"""JWT verification (SPEC 6 / issue 13 item 12): every bad token is 401, never a way in."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from communitykit.auth import ROLES, decode_token, make_token
from communitykit.problems import UnauthorizedError

SECRET = "unit-test-secret-" + "0123456789" * 5


def _sign(claims: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _rejected(token: str, **kw: Any) -> str:
    with pytest.raises(UnauthorizedError) as e:
        decode_token(token, SECRET, **kw)
    return e.value.detail


def test_a_token_from_make_token_is_accepted_with_its_roles() -> None:
    p = decode_token(make_token(SECRET, "alice", roles=["member", "staff"]), SECRET)
    assert (p.user_id, p.roles) == ("alice", frozenset({"member", "staff"}))
    assert decode_token(make_token(SECRET, "bob", roles=[]), SECRET).roles == {"member"}


def test_every_known_role_is_accepted() -> None:
    p = decode_token(make_token(SECRET, "sam", roles=sorted(ROLES)), SECRET)
    assert p.roles == ROLES


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "Bearer x.y.z", "...", "é.é.é"])
def test_malformed(token: str) -> None:
    _rejected(token)


def test_alg_none_is_rejected() -> None:
    now = int(time.time())
    claims = {"sub": "mallory", "roles": ["staff"], "iat": now, "exp": now + 60}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert "alg" in _rejected(unsigned).lower() or "algorithm" in _rejected(unsigned).lower()
    # even with the algorithm "configured" as none
    with pytest.raises(UnauthorizedError):
        decode_token(unsigned, SECRET, "none")


def test_another_algorithm_than_the_configured_one_is_rejected() -> None:
    now = int(time.time())
    token = _sign({"sub": "a", "iat": now, "exp": now + 60}, alg="HS512")
    _rejected(token)


def test_expired() -> None:
    now = int(time.time())
    assert "expired" in _rejected(_sign({"sub": "a", "iat": now - 120, "exp": now - 60}))


def test_wrong_secret() -> None:
    _rejected(make_token("another-secret-0123456789-0123456789", "alice"))


def test_exp_is_required() -> None:
    assert "exp" in _rejected(_sign({"sub": "alice", "iat": int(time.time())}))


def test_sub_is_required_and_non_empty() -> None:
    now = int(time.time())
    _rejected(_sign({"iat": now, "exp": now + 60}))
    _rejected(_sign({"sub": " ", "iat": now, "exp": now + 60}))
    _rejected(_sign({"sub": 5, "iat": now, "exp": now + 60}))


def test_lifetime_is_bounded() -> None:
    now = int(time.time())
    long_lived = _sign({"sub": "a", "iat": now, "exp": now + 86400 * 365})
    assert "lifetime" in _rejected(long_lived)
    assert "lifetime" in _rejected(_sign({"sub": "a", "exp": now + 86400 * 365}))  # no iat
    ok = _sign({"sub": "a", "iat": now, "exp": now + 600})
    assert decode_token(ok, SECRET, max_ttl_seconds=600).user_id == "a"
    _rejected(ok, max_ttl_seconds=599)


def test_iat_in_the_future_is_rejected() -> None:
    now = int(time.time())
    _rejected(_sign({"sub": "a", "iat": now + 3600, "exp": now + 7200}))


@pytest.mark.parametrize("roles", [["superadmin"], ["member", "root"], ["Staff"]])
def test_unknown_roles_are_rejected_not_dropped(roles: list[str]) -> None:
    assert "unknown role" in _rejected(make_token(SECRET, "mallory", roles=roles))


@pytest.mark.parametrize("roles", ["staff", [1], {"staff": True}])
def test_roles_must_be_a_list_of_strings(roles: Any) -> None:
    now = int(time.time())
    _rejected(_sign({"sub": "a", "roles": roles, "iat": now, "exp": now + 60}))
