"""gunicorn settings read from the project folder: metrics shared by the workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set, every worker (and a queue worker started with the same
folder) writes its samples there; an exited worker's live gauges are dropped, the counters it
wrote stay counted. The folder must be empty when the service starts, or an earlier run's
samples add up: ``scripts/serve.sh`` (``make run``) empties it. See trading/metrics.py.
"""

import os


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
