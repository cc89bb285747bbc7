"""Sign-in, API tokens and the user dependencies over HTTP, on a minimal app: the auth routes,
the problem handlers, and probe endpoints that depend on the user as real endpoints will."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import pytest
from factories import make_user
from fastapi import Depends, FastAPI, Form
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, Table

from lunan.auth import tokens, web
from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.log import open_log
from lunan.storage.schema import auth_sessions
from lunan.web import problems

SetAge = Callable[[Table, str, timedelta], None]
ROLES = ["admin", "coordinator", "officer", "auditor", "viewer"]
# At module level: FastAPI resolves the (postponed) annotations in the module's namespace.
TaskManager = Annotated[User, Depends(web.require(Permission.MANAGE_TASKS))]


def password(name: str) -> str:
    return f"pw-of-{name}"


def add_probes(app: FastAPI) -> None:
    """Endpoints standing in for the ones other parts of the node will have."""

    @app.post("/api/v1/tasks")
    def create_task(user: TaskManager) -> dict[str, str]:
        return user.actor()

    @app.post("/tasks/new")
    def create_task_from_a_page(title: Annotated[str, Form()], user: TaskManager) -> dict[str, str]:
        return {"title": title, **user.actor()}

    @app.get("/api/v1/whoami")
    def whoami(user: web.OptionalUser) -> dict[str, str | None]:
        return {"user": None if user is None else user.name}


@pytest.fixture
def app(node_dir: Path) -> Iterator[FastAPI]:
    for role in ROLES:  # one user per role, named after it
        make_user(node_dir, role, role, password=password(role))
    application = FastAPI()
    problems.install(application)
    web.install(application)
    add_probes(application)
    application.state.log = open_log(node_dir)
    yield application
    application.state.log.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def sign_in(client: TestClient, name: str) -> str:
    """Sign `name` in on `client` (which keeps the cookie); returns the CSRF token."""
    r = client.post("/api/v1/session", json={"name": name, "password": password(name)})
    assert r.status_code == 200, r.text
    csrf: str = r.json()["csrf_token"]
    return csrf


def bearer(engine: Engine, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create_token(engine, name)}"}


def problem(r: Response, status: int, slug: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = r.json()
    assert body["type"] == f"urn:lunan:problem:{slug}"
    return body


# --- signing in and out ---------------------------------------------------------------------


def test_signing_in_sets_an_http_only_cookie_and_returns_the_csrf_token(
    client: TestClient,
) -> None:
    r = client.post("/api/v1/session", json={"name": "officer", "password": password("officer")})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{web.SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie and "Max-Age" not in cookie
    body = r.json()
    assert body["user"] == {
        "name": "officer",
        "role": "officer",
        "role_label": ["部门业务员", "Department officer"],
        "city": "371300",
        "display_name": "",
        "disabled": False,
        "permissions": [
            "data.manage",
            "indicators.publish",
            "read",
            "tasks.report",
            "tourism.check",
        ],
    }
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json() == body


def test_the_cookie_is_secure_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://lunan-linyi.example") as c:
        r = c.post("/api/v1/session", json={"name": "viewer", "password": password("viewer")})
    assert "Secure" in r.headers["set-cookie"]


def test_a_failed_sign_in_does_not_say_whether_the_name_exists(
    client: TestClient, node_dir: Path
) -> None:
    make_user(node_dir, "gone", "viewer", password=password("gone"))
    client.post("/api/v1/users/gone/disable", headers=bearer(client.app.state.log.engine, "admin"))
    answers = [
        client.post("/api/v1/session", json={"name": name, "password": pw})
        for name, pw in [("nobody", "whatever1"), ("officer", "wrong-one"), ("gone", "pw-of-gone")]
    ]
    bodies = [problem(r, 401, "bad-credentials") for r in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["title"] == "用户名或密码错误 Wrong name or password"
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in answers)
    assert all("set-cookie" not in r.headers for r in answers)


def test_signing_out_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:
    csrf = sign_in(client, "officer")
    session_id = client.cookies[web.SESSION_COOKIE]
    problem(client.delete("/api/v1/session"), 403, "csrf")
    r = client.delete("/api/v1/session", headers={web.CSRF_HEADER: csrf})
    assert r.status_code == 204
    assert web.SESSION_COOKIE not in client.cookies
    client.cookies.set(web.SESSION_COOKIE, session_id)
    problem(client.get("/api/v1/me"), 401, "unauthenticated")
    assert client.delete("/api/v1/session").status_code == 204  # not signed in: no harm


def test_signing_in_again_ends_the_previous_session(client: TestClient) -> None:
    sign_in(client, "officer")
    first = client.cookies[web.SESSION_COOKIE]
    sign_in(client, "viewer")
    assert client.get("/api/v1/me").json()["user"]["name"] == "viewer"
    client.cookies.set(web.SESSION_COOKIE, first)
    assert client.get("/api/v1/whoami").json() == {"user": None}


# --- who is asking: nobody, a session, a token -----------------------------------------------


def test_nobody_may_read_public_pages_but_not_change_anything(client: TestClient) -> None:
    assert client.get("/api/v1/whoami").json() == {"user": None}
    for r in (client.get("/api/v1/me"), client.post("/api/v1/tasks")):
        body = problem(r, 401, "unauthenticated")
        assert body["title"] == "未登录 Not signed in"
        assert r.headers["www-authenticate"] == 'Bearer realm="lunan"'


def test_a_change_with_the_cookie_needs_the_csrf_token(client: TestClient) -> None:
    csrf = sign_in(client, "coordinator")
    assert client.get("/api/v1/whoami").json() == {"user": "coordinator"}  # reads need none
    body = problem(client.post("/api/v1/tasks"), 403, "csrf")
    assert body["title"] == "跨站请求校验失败 CSRF check failed"
    assert "X-CSRF-Token" in str(body["detail"])
    problem(client.post("/api/v1/tasks", headers={web.CSRF_HEADER: "forged"}), 403, "csrf")
    problem(client.post("/api/v1/tasks", headers={web.CSRF_HEADER: "鲁南".encode()}), 403, "csrf")
    r = client.post("/api/v1/tasks", headers={web.CSRF_HEADER: csrf})
    assert r.status_code == 200
    assert r.json() == {"user": "coordinator", "role": "coordinator", "city": "371300"}


def test_a_form_may_carry_the_csrf_token_as_a_field(client: TestClient) -> None:
    csrf = sign_in(client, "coordinator")
    problem(client.post("/tasks/new", data={"title": "联合招商"}), 403, "csrf")
    r = client.post("/tasks/new", data={"title": "联合招商", web.CSRF_FIELD: csrf})
    assert r.status_code == 200 and r.json()["title"] == "联合招商"
    multipart = client.post(
        "/tasks/new",
        data={"title": "附件", web.CSRF_FIELD: csrf},
        files={"attachment": ("a.txt", b"x" * 10, "text/plain")},
    )
    assert multipart.status_code == 200 and multipart.json()["title"] == "附件"


def test_an_api_token_needs_no_csrf_token(client: TestClient) -> None:
    headers = bearer(client.app.state.log.engine, "coordinator")
    r = client.post("/api/v1/tasks", headers=headers)
    assert r.status_code == 200 and r.json()["user"] == "coordinator"
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["user"]["name"] == "coordinator" and me["csrf_token"] is None


@pytest.mark.parametrize(
    "authorization", ["Bearer lnt_unknown", "Bearer ", "Basic YWRtaW46YWRtaW4=", "lnt_x"]
)
def test_a_bad_authorization_header_is_refused_even_for_reading(
    client: TestClient, authorization: str
) -> None:
    r = client.get("/api/v1/whoami", headers={"Authorization": authorization})
    problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_an_expired_session_is_an_anonymous_visitor(client: TestClient, set_age: SetAge) -> None:
    csrf = sign_in(client, "coordinator")
    set_age(auth_sessions, "last_seen_at", timedelta(hours=9))
    assert client.get("/api/v1/whoami").json() == {"user": None}
    problem(client.post("/api/v1/tasks", headers={web.CSRF_HEADER: csrf}), 401, "unauthenticated")


@pytest.mark.parametrize("role", ROLES)
def test_require_lets_only_roles_with_the_permission_through(client: TestClient, role: str) -> None:
    r = client.post("/api/v1/tasks", headers=bearer(client.app.state.log.engine, role))
    if role in ("admin", "coordinator"):
        assert r.status_code == 200 and r.json()["role"] == role
        return
    body = problem(r, 403, "forbidden")
    assert body["permission"] == "tasks.manage"
    assert f"user '{role}' ({role}) lacks the permission 'tasks.manage'" in str(body["detail"])


def test_without_install_a_401_is_still_a_problem_document(node_dir: Path) -> None:
    application = FastAPI()
    problems.install(application)
    application.include_router(web.router)
    with open_log(node_dir) as log, TestClient(application) as c:
        application.state.log = log
        problem(c.get("/api/v1/me"), 401, "unauthenticated")


# --- one's own password and tokens -----------------------------------------------------------


def test_changing_ones_password_renews_the_session(client: TestClient) -> None:
    csrf = sign_in(client, "officer")
    old_session = client.cookies[web.SESSION_COOKIE]
    url, h = "/api/v1/me/password", {web.CSRF_HEADER: csrf}
    wrong = client.post(url, headers=h, json={"old": "not-it-at-all", "new": "new-password"})
    problem(wrong, 403, "wrong-password")
    short = client.post(url, headers=h, json={"old": password("officer"), "new": "short"})
    assert "fewer than 8" in str(problem(short, 400, "invalid-account")["detail"])
    r = client.post(url, headers=h, json={"old": password("officer"), "new": "new-password"})
    assert r.status_code == 200
    new_csrf = r.json()["csrf_token"]
    assert new_csrf != csrf and client.cookies[web.SESSION_COOKIE] != old_session
    stale = client.post("/api/v1/me/tokens", headers=h, json={})
    problem(stale, 403, "csrf")  # the old session's token went with it
    fresh = client.post("/api/v1/me/tokens", headers={web.CSRF_HEADER: new_csrf}, json={})
    assert fresh.status_code == 201
    assert client.get("/api/v1/me").json()["csrf_token"] == new_csrf
    with TestClient(client.app) as other:
        other.cookies.set(web.SESSION_COOKIE, old_session)
        problem(other.get("/api/v1/me"), 401, "unauthenticated")
        good = {"name": "officer", "password": "new-password"}
        assert other.post("/api/v1/session", json=good).status_code == 200


def test_a_system_may_change_the_password_with_a_token(client: TestClient) -> None:
    headers = bearer(client.app.state.log.engine, "viewer")
    change = {"old": password("viewer"), "new": "new-password"}
    r = client.post("/api/v1/me/password", headers=headers, json=change)
    assert r.status_code == 200 and r.json()["csrf_token"] is None
    assert "set-cookie" not in r.headers
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # tokens go on


def test_people_make_list_and_revoke_their_own_tokens(client: TestClient) -> None:
    csrf = sign_in(client, "officer")
    h = {web.CSRF_HEADER: csrf}
    r = client.post("/api/v1/me/tokens", headers=h, json={"label": "月报导出"})
    assert r.status_code == 201
    made = r.json()
    assert made["token"].startswith("lnt_") and made["label"] == "月报导出"
    with TestClient(client.app) as system:
        auth = {"Authorization": f"Bearer {made['token']}"}
        assert system.get("/api/v1/me", headers=auth).json()["user"]["name"] == "officer"
        problem(system.post("/api/v1/me/tokens", headers=auth, json={}), 403, "session-required")
    listed = client.get("/api/v1/me/tokens").json()
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    revoked = client.delete(f"/api/v1/me/tokens/{made['id']}", headers=h)
    assert revoked.status_code == 204
    problem(client.get("/api/v1/me", headers=auth), 401, "unauthenticated")


def test_nobody_revokes_another_users_token(client: TestClient) -> None:
    engine = client.app.state.log.engine
    theirs = bearer(engine, "coordinator")
    [info] = tokens.list_tokens(engine, "coordinator")
    csrf = sign_in(client, "officer")
    r = client.delete(f"/api/v1/me/tokens/{info.id}", headers={web.CSRF_HEADER: csrf})
    problem(r, 404, "token-not-found")
    assert client.get("/api/v1/me", headers=theirs).status_code == 200


# --- administration --------------------------------------------------------------------------


def test_only_administrators_see_and_manage_users(client: TestClient) -> None:
    engine = client.app.state.log.engine
    for role in ROLES[1:]:
        body = problem(client.get("/api/v1/users", headers=bearer(engine, role)), 403, "forbidden")
        assert body["permission"] == "users.manage"
    listed = client.get("/api/v1/users", headers=bearer(engine, "admin")).json()
    assert [u["name"] for u in listed] == sorted(ROLES)


def test_an_administrator_adds_a_user_of_its_own_city(client: TestClient) -> None:
    csrf = sign_in(client, "admin")
    h = {web.CSRF_HEADER: csrf}
    new = {"name": "wang.fang", "role": "officer", "display_name": "王芳"}
    r = client.post("/api/v1/users", headers=h, json=new)
    assert r.status_code == 201
    body = r.json()
    assert body["user"]["city"] == "371300" and body["user"]["display_name"] == "王芳"
    with TestClient(client.app) as person:
        signed = person.post(
            "/api/v1/session", json={"name": "wang.fang", "password": body["password"]}
        )
        assert signed.status_code == 200
    problem(client.post("/api/v1/users", headers=h, json=new), 409, "user-exists")
    boss = client.post("/api/v1/users", headers=h, json={"name": "x.y", "role": "boss"})
    assert "choose one of admin, coordinator" in str(
        problem(boss, 400, "invalid-account")["detail"]
    )
    chosen = {"name": "li.lei", "role": "viewer", "password": "chosen-password"}
    assert client.post("/api/v1/users", headers=h, json=chosen).json()["password"] is None


def test_disabling_a_user_cuts_off_its_tokens_and_sessions(client: TestClient) -> None:
    engine = client.app.state.log.engine
    admin, theirs = bearer(engine, "admin"), bearer(engine, "officer")
    with TestClient(client.app) as person:
        sign_in(person, "officer")
        r = client.post("/api/v1/users/officer/disable", headers=admin)
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert person.get("/api/v1/whoami").json() == {"user": None}
    problem(client.get("/api/v1/me", headers=theirs), 401, "unauthenticated")
    problem(client.post("/api/v1/users/nobody/disable", headers=admin), 404, "user-not-found")


def test_an_administrator_resets_a_password(client: TestClient) -> None:
    admin = bearer(client.app.state.log.engine, "admin")
    r = client.post("/api/v1/users/viewer/reset-password", headers=admin)
    assert r.status_code == 200
    new = r.json()["password"]
    assert len(new) >= 16 and r.json()["user"]["name"] == "viewer"
    old_login = {"name": "viewer", "password": password("viewer")}
    problem(client.post("/api/v1/session", json=old_login), 401, "bad-credentials")
    new_login = {"name": "viewer", "password": new}
    assert client.post("/api/v1/session", json=new_login).status_code == 200
    chosen = client.post(
        "/api/v1/users/viewer/reset-password", headers=admin, json={"password": "chosen-pass"}
    )
    assert chosen.status_code == 200 and chosen.json()["password"] is None
    unknown = client.post("/api/v1/users/nobody/reset-password", headers=admin)
    problem(unknown, 404, "user-not-found")
