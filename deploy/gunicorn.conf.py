"""gunicorn's configuration for Meet Web behind the nginx site of deploy/nginx/.

From the checkout, with the ini file loaded by PasteDeploy (its `[server:main]`, waitress,
is then unused; its logging sections are used):

    .venv/bin/gunicorn --config deploy/gunicorn.conf.py --paste production.ini

Any setting here can be changed without editing the file: `GUNICORN_CMD_ARGS="--workers 4"`
in the environment wins over this file, and the command line wins over both.
docs/deploy.md explains each choice; tests/unit/test_deploy_files.py checks that every
name here is a gunicorn setting.
"""

import gc
import ipaddress
import os

# nginx's `${APP}`. Only nginx should reach the app: it overwrites X-Forwarded-For.
bind = "127.0.0.1:6543"

# One process a core; each process's threads wait on LiveKit, OIDC, SMTP and S3 calls
# (timeouts of 5 to 10 s) and on recordings streamed without the media front, which a
# sync worker would serve one at a time and its 30 s timeout would cut short.
workers = len(os.sched_getaffinity(0))
worker_class = "gthread"
threads = 4

timeout = 30
graceful_timeout = 30
# Longer than nginx's upstream keepalive_timeout (60 s): nginx closes an idle connection
# first, so it never sends a request on one the app has just closed.
keepalive = 75

# The app is imported once in the master and its pages shared: each worker's own
# memory falls from about 95 to about 70 MiB (bench/README.md, run D). A code upgrade
# then needs a restart, not a reload (HUP).
preload_app = True

# The fronts whose X-Forwarded-Proto (and, below, X-Forwarded-For) are believed.
forwarded_allow_ips = "127.0.0.1,::1"

proc_name = "meet-web"


def _trusted_networks(cfg) -> list:
    return [ipaddress.ip_network(entry, strict=False) for entry in cfg.forwarded_allow_ips]


def _is_trusted(address: str, networks: list, allow_all: bool) -> bool:
    if allow_all:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _client_address_from_front(app, cfg):
    """The app reads the client's address from REMOTE_ADDR (rate limits, the audit log,
    the metrics allow-list). gunicorn leaves it at the front's address, so set it from
    the last X-Forwarded-For entry, the one the front wrote, when the peer is a front."""
    allow_all = "*" in cfg.forwarded_allow_ips
    networks = [] if allow_all else _trusted_networks(cfg)

    def application(environ, start_response):
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        peer = environ.get("REMOTE_ADDR", "")
        if forwarded and _is_trusted(peer, networks, allow_all):
            client = forwarded.rsplit(",", 1)[-1].strip()
            if client:
                environ["REMOTE_ADDR"] = client
        return app(environ, start_response)

    return application


def pre_fork(server, worker):
    # The preloaded app's objects move to the collector's permanent generation: the
    # workers' collections never write to them, so their pages stay shared instead of
    # being copied into each worker.
    if server.cfg.preload_app:
        gc.freeze()


def post_fork(server, worker):
    # The preloaded app's database pool may hold connections the master opened; a
    # connection must not be shared across processes, so each worker drops its copies
    # (without closing them: they are the master's).
    if server.cfg.preload_app:
        registry = getattr(worker.app.wsgi(), "registry", None)
        engine = registry.get("dbengine") if registry is not None else None
        if engine is not None:
            engine.dispose(close=False)


def post_worker_init(worker):
    # The same for an app each worker loads itself (no preload): its startup objects
    # live as long as the worker, and no collection need walk them again (the app's
    # floor, a view doing nothing, fell by a third: bench/README.md, run F).
    if not worker.cfg.preload_app:
        gc.collect()
        gc.freeze()
    worker.wsgi = _client_address_from_front(worker.wsgi, worker.cfg)


def child_exit(server, worker):
    # Prometheus multiprocess mode (README, "Metrics and health"): forget the files of
    # a worker that exited, so that its live gauges stop counting.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
