"""The port-43 WHOIS server (RFC 3912), driven by Debian's `whois` client and raw sockets (P19)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time

import pytest

from panel.extensions import db
from plugins.privacy.whois.services.lookup import REDACTED
from plugins.privacy.whois.services.server import WhoisServer
from tests import wire
from tests.privacy.whois.conftest import private_and_public


def whois(port: int, name: str) -> str:
    done = subprocess.run(["whois", "-h", "127.0.0.1", "-p", str(port), name],
                          capture_output=True, text=True, timeout=20)
    return done.stdout


def ask(port: int, payload: bytes, *, wait: float = 5.0) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


def fields(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _with_state(domain, state: str = "Greater London") -> None:
    domain.contact("registrant").state = state
    db.session.commit()


def test_p19_system_whois_client_sees_redacted_private_and_full_public_domain(
        app, factories, start_whois):
    user, private, public = private_and_public(factories)
    _with_state(private)
    _with_state(public)
    secret_name = private.contact("registrant").name
    secret_email = private.contact("registrant").email
    public_name = public.contact("registrant").name
    public_email = public.contact("registrant").email
    server = start_whois()

    hidden = fields(whois(server.port, "hidden-swan.test"))
    assert hidden["Domain Name"] == ["HIDDEN-SWAN.TEST"]
    for key in ("Registrar", "Creation Date", "Registry Expiry Date"):
        assert hidden[key] and hidden[key][0]
    assert hidden["Creation Date"] == ["2020-01-01T00:00:00Z"]
    assert hidden["Name Server"] == ["NS1.PANEL.TEST", "NS2.PANEL.TEST"]
    for role in ("Registrant", "Admin", "Tech", "Billing"):
        for key in ("Name", "Street", "City", "Postal Code", "Phone"):
            assert hidden[f"{role} {key}"] == [REDACTED], (role, key)
        assert hidden[f"{role} Email"] == ["http://localhost/whois/contact/hidden-swan.test"]
        assert hidden[f"{role} Organization"] == ["Hosting Panel Domain Privacy"]
        assert hidden[f"{role} Country"] == ["GB"]  # ICANN: state and country stay published
    assert hidden["Registrant State/Province"] == ["Greater London"]
    text = whois(server.port, "hidden-swan.test")
    assert secret_name not in text and secret_email not in text and "High Street" not in text

    shown = fields(whois(server.port, "open-swan.test"))
    assert shown["Registrant Name"] == [public_name]
    assert shown["Registrant Email"] == [public_email]
    assert shown["Registrant Street"] == ["1 High Street"]
    assert shown["Registrant Phone"] == ["+442079460000"]
    assert shown["Registrant State/Province"] == ["Greater London"]
    assert REDACTED not in whois(server.port, "open-swan.test")


def test_p19_an_answer_is_one_read_outside_any_transaction(app, factories, tmp_path):
    """What the database is sent for one answer: the domain, its contacts and the service
    identity in one statement, and no BEGIN or ROLLBACK around it (on PostgreSQL through
    OUTSIDE_TRANSACTION; pysqlite begins only at a write). Issue 16: the WHOIS figure."""
    name = private_and_public(factories)[1].name
    db.session.commit()
    db.session.close()
    server = WhoisServer(app)
    with wire.traced(db.engine, tmp_path / "wire.trace") as sent:
        answer = server.lookup(name)
    assert REDACTED in answer and name.upper() in answer
    trace = sent()
    assert trace.count("FROM domain ") == 1, trace  # libpq also traces the server's "SELECT 4"
    assert "BEGIN" not in trace and "ROLLBACK" not in trace, trace


def test_p19_unknown_domain_is_no_match(app, factories, start_whois):
    server = start_whois()
    assert ask(server.port, b"nowhere.test\r\n") == 'No match for "NOWHERE.TEST".\r\n'
    assert 'No match for "NOT A DOMAIN!".' in ask(server.port, b"not a domain!\r\n")


def test_p19_idn_queries_in_unicode_and_punycode_find_the_same_domain(app, factories, start_whois):
    user = factories.subscriber()
    factories.domain(user.account, "xn--bcher-kva.test", privacy=False)
    server = start_whois()
    by_unicode = fields(ask(server.port, "bücher.test\r\n".encode()))
    by_puny = fields(ask(server.port, b"XN--BCHER-KVA.TEST\r\n"))
    assert by_unicode["Domain Name"] == by_puny["Domain Name"] == ["XN--BCHER-KVA.TEST"]
    assert by_unicode["Internationalized Domain Name"] == ["bücher.test"]
    assert "No match" in ask(server.port, b"xn--zz-invalid-.test\r\n")


@pytest.mark.parametrize(("payload", "expected"), [
    (b"a" * 300 + b".test\r\n", "query too long"),
    (b"\r\n", "empty query"),
    (b"   \r\n", "empty query"),
    (b"\xff\xfe\xfa.test\r\n", "not valid UTF-8"),
    (b"example.test\n", "end the query with CRLF"),
    (b"ex\x00ample.test\r\n", "No match"),
])
def test_p19_hostile_queries_get_a_short_error(app, start_whois, payload, expected):
    server = start_whois()
    answer = ask(server.port, payload)
    assert expected in answer and len(answer) < 300
    assert "Traceback" not in answer
    assert "No match" in ask(server.port, b"still-alive.test\r\n")  # the server lives on


def test_p19_a_client_that_stops_reading_is_cut_off_at_the_timeout(app, start_whois,
                                                                   monkeypatch):
    """An answer the client does not read (one made too big for the sockets' buffers) holds
    neither the server nor its memory: others are answered meanwhile, and at the timeout the
    connection is dropped with what was left unsent, not kept until the client reads."""
    server = start_whois(timeout=0.5)
    size = 64 << 20
    real = server.server._lookup
    monkeypatch.setattr(server.server, "_lookup",
                        lambda query, read: "x" * size if query == "huge.test" else
                        real(query, read))
    with socket.socket() as stuck:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", server.port))
        stuck.sendall(b"huge.test\r\n")
        time.sleep(0.2)
        start = time.monotonic()
        assert "No match" in ask(server.port, b"someone-else.test\r\n")
        assert time.monotonic() - start < 0.5  # not queued behind the stuck client
        time.sleep(1.0)  # past the timeout: the server has given up on it
        stuck.settimeout(5)
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while data := stuck.recv(1 << 20):
                received += len(data)
    assert received < size


def test_p19_no_crlf_before_the_timeout_closes_with_an_error(app, start_whois):
    server = start_whois(timeout=0.3)
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"slow-loris.te")  # never finished
        answer = s.recv(1000).decode()
        assert s.recv(1000) == b""  # closed
    assert "no query received in time" in answer
    assert time.monotonic() - start < 3
    silent = ask(server.port, b"")  # connects and says nothing at all
    assert "no query received in time" in silent


def test_p19_per_address_rate_limit_answers_clearly(app, start_whois):
    server = start_whois(rate="3 per minute")
    answers = [ask(server.port, b"nowhere.test\r\n") for _ in range(4)]
    assert all("No match" in a for a in answers[:3])
    assert "rate limit exceeded" in answers[3] and "Try again later" in answers[3]


def test_p19_fifty_concurrent_clients_all_get_their_own_answer(app, factories, start_whois):
    user, private, public = private_and_public(factories)
    server = start_whois()
    results: dict[int, str] = {}

    def one(i: int) -> None:
        name = "hidden-swan.test" if i % 2 else "open-swan.test"
        results[i] = ask(server.port, f"{name}\r\n".encode(), wait=20)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 50
    for i, text in results.items():
        got = fields(text)
        expected = "HIDDEN-SWAN.TEST" if i % 2 else "OPEN-SWAN.TEST"
        assert got["Domain Name"] == [expected], text[:200]
        assert (got["Registrant Name"] == [REDACTED]) == bool(i % 2)


def test_p19_queries_that_wait_together_are_still_counted_one_by_one(app, start_whois):
    """Queries that arrive while the pool is busy are answered as one batch (issue 16): one
    counter update for their address, yet exactly as many get through as one hit each would
    let through, and every other one is refused."""
    from sqlalchemy import event

    running = start_whois(rate="5 per minute", workers=1, batches=1)
    upserts: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("INSERT INTO RATE_LIMIT_COUNTER"):
            upserts.append(statement)

    server, sent = running.server, []
    send = server._send

    def sending(loop) -> None:  # noqa: ANN001 - records each batch's size as it goes
        sent.append(len(server._waiting))
        send(loop)

    server._send = sending
    event.listen(db.engine, "before_cursor_execute", seen)
    gate = threading.Event()
    server.pool.submit(gate.wait, 20)  # the one worker is busy: the queries wait
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(
        ask(running.port, b"nowhere.test\r\n", wait=20))) for _ in range(20)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while sum(sent) + len(server._waiting) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.set()
        for t in threads:
            t.join(30)
    finally:
        gate.set()
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(answers) == 20
    assert sum('No match for "NOWHERE.TEST"' in a for a in answers) == 5
    assert sum("rate limit exceeded" in a for a in answers) == 15
    # the first batch holds what came before the worker was asked (one or more), the second the rest
    assert sum(sent) == 20 and len(sent) == len(upserts) <= 2, (sent, upserts)
    assert "rate limit exceeded" in ask(running.port, b"nowhere.test\r\n")  # all 20 counted
