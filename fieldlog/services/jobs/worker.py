"""The RQ worker of `flask jobs worker`: runs each job inside a fresh app context."""
from __future__ import annotations

from flask import Flask
from rq import SimpleWorker

from fieldlog.extensions import db
from fieldlog.services.jobs.queue import redis_connection, rq_queue


class AppWorker(SimpleWorker):
    """Work jobs in this process (no fork: the app, its engine and S3 client are built once),
    each in its own app context, so one job's session never leaks into the next."""

    app: Flask

    def execute_job(self, job, queue):
        with self.app.app_context():
            try:
                super().execute_job(job, queue)
            finally:
                db.session.remove()


def work(app: Flask, *, burst: bool = False, with_scheduler: bool = True) -> bool:
    """Work the app's queue until stopped (or, with `burst`, until it is empty)."""
    # A short maintenance interval: a worker killed mid-job leaves the job in RQ's started
    # registry (retried by the cleanup once its heartbeat expired: a SimpleWorker's lasts
    # JOB_TIMEOUT + 60 s, 6 min by default) and its scheduler's lock (61 s); RQ's 10 minutes
    # between maintenances would add up to that much again.
    # An idle worker waits for a job in one blocking pop of worker_ttl - 15 s (RQ: 405 s) and
    # runs its maintenance only between pops: wake it as often as the maintenance is due.
    interval = int(app.config.get("JOB_MAINTENANCE_INTERVAL", 60))
    worker = AppWorker([rq_queue(app)], connection=redis_connection(app),
                       maintenance_interval=interval, worker_ttl=interval + 15)
    worker.app = app
    return worker.work(burst=burst, with_scheduler=with_scheduler,
                       logging_level=app.config.get("JOB_LOG_LEVEL", "INFO"))
