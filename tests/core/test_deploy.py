"""deploy/: the nginx configuration in front of `make run`'s gunicorn, and the systemd units.

nginx runs for real (Debian's package) with deploy/nginx.conf as its site, a self-signed
certificate made here, and only the addresses, ports and certificate paths changed.
"""

from __future__ import annotations

import configparser
import datetime
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import _migrate
from tests.pg import free_port
from tests.served import ROOT, get, gunicorn

DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: The test's nginx cuts off a stalled client after this, instead of the shipped 10 s.
STALL_TIMEOUT = 2


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx.conf no longer has {old!r}: update this test with it"
    return text.replace(old, new)


def _site(folder: Path, app_port: int, http_port: int, https_port: int) -> Path:
    """deploy/nginx.conf with this machine's ports and the test certificate; nothing else."""
    cert, key = _self_signed(folder)
    text = (DEPLOY / "nginx.conf").read_text()
    for old, new in [("listen 80;", f"listen 127.0.0.1:{http_port};"), ("listen [::]:80;", ""),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     ("listen [::]:443 ssl http2;", ""),
                     ("server 127.0.0.1:5000;", f"server 127.0.0.1:{app_port};"),
                     ("/etc/letsencrypt/live/panel.example.com/fullchain.pem", str(cert)),
                     ("/etc/letsencrypt/live/panel.example.com/privkey.pem", str(key)),
                     ("client_body_timeout 10s;", f"client_body_timeout {STALL_TIMEOUT}s;"),
                     ("client_header_timeout 10s;", f"client_header_timeout {STALL_TIMEOUT}s;")]:
        text = _replace(text, old, new)
    site = folder / "site.conf"
    site.write_text(text)
    return site


def _main_conf(folder: Path, site: Path) -> Path:
    """What Debian's /etc/nginx/nginx.conf gives a site, with every path under ``folder``."""
    temp = folder / "temp"
    temp.mkdir(mode=0o777)
    os.chmod(temp, 0o777)  # nginx's workers run as nobody when started by root
    conf = folder / "nginx.conf"
    conf.write_text(f"""
pid {folder}/nginx.pid;
error_log {folder}/error.log;
worker_processes 1;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
""")
    return conf


@dataclass
class Stack:
    app: int  # gunicorn, directly
    http: int  # nginx, plain http
    https: int  # nginx, TLS
    tls: ssl.SSLContext


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("deploy")
    instance = folder / "instance"
    instance.mkdir()
    (instance / "panel.toml").write_text('rdap_rate_limit = "3 per minute"\n')
    url = f"sqlite:///{instance / 'panel.db'}"
    _migrate(url, instance)
    http_port, https_port = free_port(), free_port()
    # one worker: the limiter's memory:// counts in one process, which the check below needs
    with gunicorn(url, instance, PANEL_WORKERS="1", PANEL_TRUSTED_PROXIES="127.0.0.1",
                  PANEL_BASE_URL=f"https://localhost:{https_port}") as app_port:
        conf = _main_conf(folder, _site(folder, app_port, http_port, https_port))
        checked = subprocess.run([NGINX, "-t", "-e", str(folder / "error.log"), "-c", str(conf)],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        proc = subprocess.Popen([NGINX, "-e", str(folder / "error.log"), "-c", str(conf),
                                 "-g", "daemon off;"], stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", https_port)) == 0:
                        break
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not listen within 20 s"
                time.sleep(0.05)
            tls = ssl.create_default_context(cafile=str(folder / "cert.pem"))
            yield Stack(app_port, http_port, https_port, tls)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def _https(stack: Stack, method: str, path: str, headers: dict[str, str] | None = None,
           body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPSConnection("localhost", stack.https, context=stack.tls, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_nginx_serves_the_panel_over_tls_only(stack: Stack) -> None:
    assert _https(stack, "GET", "/healthz")[::2] == (200, b"ok\n")
    assert _https(stack, "GET", "/readyz")[::2] == (200, b"ok\n")
    status, headers, _ = _https(stack, "GET", "/login")
    assert status == 200 and "strict-transport-security" in headers  # the app knows it is https
    plain = http.client.HTTPConnection("127.0.0.1", stack.http, timeout=10)
    plain.request("GET", "/login?next=/client/", headers={"Host": "localhost"})
    redirect = plain.getresponse()
    assert redirect.status == 301
    assert redirect.getheader("Location") == "https://localhost/login?next=/client/"
    plain.close()


def test_metrics_are_not_served_through_the_proxy(stack: Stack) -> None:
    assert _https(stack, "GET", "/metrics")[0] == 404


@pytest.mark.needs_privacy  # counts hits on RDAP, a privacy plugin route
def test_a_forged_x_forwarded_for_from_the_client_is_ignored(stack: Stack) -> None:
    # The app believes X-Forwarded-For from its trusted proxy (127.0.0.1): sent straight to
    # gunicorn from there, each forged address gets its own RDAP allowance of 3 a minute.
    for i in range(4):
        status, _ = get(stack.app, "/rdap/domain/nowhere.test",
                        headers=f"X-Forwarded-For: 198.51.100.{i + 1}\r\n")
        assert status == 404
    # Through nginx the client's header is replaced by its real address: one allowance.
    answers = [_https(stack, "GET", "/rdap/domain/nowhere.test",
                      {"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": "203.0.113.99"})[0]
               for i in range(4)]
    assert answers == [404, 404, 404, 429]


def test_request_size_is_limited_by_the_proxy(stack: Stack) -> None:
    with socket.create_connection(("127.0.0.1", stack.https), timeout=10) as raw, \
            stack.tls.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" % (14 * 1024 * 1024))
        assert s.recv(100).startswith(b"HTTP/1.1 413")


def _open_tls(stack: Stack) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", stack.https), timeout=30)
    return stack.tls.wrap_socket(raw, server_hostname="localhost")


def test_slow_and_stalled_clients_are_held_by_the_proxy_and_cut_off(stack: Stack) -> None:
    head = (b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
    trickling, stalled = [_open_tls(stack) for _ in range(20)], [_open_tls(stack) for _ in range(5)]
    stop = threading.Event()

    def trickle() -> None:  # one byte a second each: nginx waits for the whole body
        for s in trickling:
            s.sendall(head)
        while not stop.wait(1):
            for s in trickling:
                s.sendall(b"x")

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    started = time.monotonic()
    for s in stalled:
        s.sendall(head + b"email=")  # and then nothing
    try:
        for _ in range(4):  # everyone else is served at once, through nginx
            t = time.monotonic()
            assert _https(stack, "GET", "/healthz")[0] == 200
            assert time.monotonic() - t < 1.0
            time.sleep(0.5)
        for s in stalled:  # a client that stops sending is cut off
            try:
                answer = s.recv(100)
            except OSError:
                answer = b""
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
            assert time.monotonic() - started < STALL_TIMEOUT + 5
    finally:
        stop.set()
        sender.join(timeout=5)
        for s in trickling + stalled:
            s.close()


# --- systemd units ------------------------------------------------------------------------

SERVICES = ["panel-web", "panel-whois", "panel-cron", "panel-mail"]
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
             "ProtectHome": "yes"}


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name)
    return parser


def test_every_service_runs_hardened_under_its_own_user() -> None:
    users = {}
    for name in SERVICES:
        service = _unit(f"{name}.service")["Service"]
        for key, value in HARDENING.items():
            assert service.get(key) == value, (name, key)
        assert service.get("User") not in (None, "root"), name
        assert service.get("EnvironmentFile") == "/etc/panel/panel.env", name
        users[name] = service["User"]
    # web and cron share the instance folder's owner-only files; the others get their own
    assert users["panel-web"] == users["panel-cron"]
    assert len({users["panel-web"], users["panel-whois"], users["panel-mail"]}) == 3
    assert "deploy/gunicorn.conf.py" in _unit("panel-web.service")["Service"]["ExecStart"]
    for timer in ("panel-cron", "panel-mail"):
        assert _unit(f"{timer}.timer")["Timer"].get("OnCalendar")
        assert _unit(f"{timer}.service")["Service"]["Type"] == "oneshot"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # The units name /opt/panel; here it is a folder whose venv is the one running the tests.
    root = tmp_path / "opt-panel"
    (root / ".venv" / "bin").mkdir(parents=True)
    for program in ("gunicorn", "panel"):
        (root / ".venv" / "bin" / program).symlink_to(Path(sys.executable).parent / program)
    units = sorted(p.name for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))
    assert {f"{s}.service" for s in SERVICES} <= set(units)
    for name in units:
        (tmp_path / name).write_text((DEPLOY / name).read_text().replace("/opt/panel", str(root)))
    done = subprocess.run(["systemd-analyze", "verify", *units], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    # verify only warns about an unknown or unparsable setting: any output is a failure
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), \
        done.stderr + done.stdout
