"""What gunicorn needs from the panel, as a config module: ``gunicorn -c python:panel.gunicorn_conf``
(`make run`), or imported by a deployment's own config file (``from panel.gunicorn_conf import *``).

Metrics: the master picks and empties the multi-process counters' folder before forking
(``on_starting``), forgets a dead worker's gauges (``child_exit``) and removes a folder it made
(``on_exit``). Logs: gunicorn's own lines are JSON like the app's, and there is no access log,
whose URLs would carry tokens and search terms; the app writes one line per request instead.
"""

from panel.applog import GUNICORN_LOGCONFIG
from panel.metrics import child_exit, on_exit, on_starting

__all__ = ["accesslog", "child_exit", "logconfig_dict", "on_exit", "on_starting"]

accesslog = None
logconfig_dict = GUNICORN_LOGCONFIG
