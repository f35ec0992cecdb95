"""gunicorn settings for `make run` and production: `gunicorn -c deploy/gunicorn.conf.py
'panel.wsgi:app'`. Command-line options (the bind address, `--limit-request-line`) win.

The worker is gunicorn's threaded worker, with the request read in its main loop
(panel/serving.py): half-open or slow clients cannot take every thread, and a client has
PANEL_CLIENT_TIMEOUT seconds (default 30) to send its whole request. Workers and threads
follow PANEL_WORKERS (default 2) and PANEL_THREADS (default 8).
"""

import os

# Metrics summed over the workers (PROMETHEUS_MULTIPROC_DIR), JSON logs, and no access log,
# whose URLs would carry tokens: gunicorn's hooks and log settings from the panel.
from panel.gunicorn_conf import *  # noqa: F403

wsgi_app = "panel.wsgi:app"
bind = os.environ.get("PANEL_BIND", "127.0.0.1:5000")
worker_class = "panel.serving.GuardedThreadWorker"
workers = int(os.environ.get("PANEL_WORKERS", "2"))
threads = int(os.environ.get("PANEL_THREADS", "8"))
# A worker whose main loop stops answering gunicorn's heartbeat this long is replaced.
timeout = 30
graceful_timeout = 30
# Idle kept-alive connections are closed after this; they wait in the main loop, not a thread.
keepalive = 5
worker_connections = 1000
limit_request_line = 8190
# Only the proxy on this machine may set X-Forwarded-Proto (the app's PANEL_TRUSTED_PROXIES
# decides about X-Forwarded-For).
forwarded_allow_ips = os.environ.get("PANEL_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn 23+'s control socket lives in $HOME, which two servers on one machine (or a
# service user without a home) cannot share; the panel does not use it.
control_socket_disable = True
# Errors to stderr (the journal under systemd), as JSON; request lines come from the app itself.
errorlog = "-"
loglevel = "info"
