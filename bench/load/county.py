"""The load test's county: bench_progress's 300-village county plus supervisors and inspectors.

Cadre n (`cadre1`…`cadre300`) is the secretary of village 21 + n, whose households have the
UUIDs md5('v-k') for k < 500 (bench/bench_progress.py). The load test signs each simulated
cadre in as a distinct cadre, so every record it sends passes the real scope checks.
"""
import hashlib
import uuid

from bench.bench_progress import HOUSEHOLDS_PER_VILLAGE, PASSWORD, generate

CADRES = 300
SUPERVISORS = 10  # sup01…sup10, township 1…10 each
INSPECTORS = 3  # insp01…insp03, the whole county


def village_of(cadre: int) -> int:
    """Return the village id of cadre n (1-based)."""
    return 21 + cadre


def household_id(village: int, k: int) -> str:
    """Return the UUID of household k of a village, as the generator made it."""
    return str(uuid.UUID(hashlib.md5(f"{village}-{k}".encode()).hexdigest()))


def seed_if_empty(env: dict, visits: int) -> None:
    """Load the county into env's DATABASE_URL unless it has users; print what it did."""
    from sqlalchemy import func, select

    from fieldlog import create_app
    from fieldlog.extensions import db
    from fieldlog.models import User
    from fieldlog.services.people.auth import hash_password

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "SECRET_KEY": env["SECRET_KEY"], "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        if db.session.scalar(select(func.count(User.id))):
            print("county already loaded")
            return
    print(f"generating the bench county ({CADRES} cadres, {visits} visits)…", flush=True)
    generate(app, visits)
    with app.app_context():
        digest = hash_password(PASSWORD)
        for n in range(1, SUPERVISORS + 1):
            db.session.add(User(username=f"sup{n:02}", display_name=f"督导{n:02}",
                                password_hash=digest, role="supervisor",
                                scope_unit_id=1 + n))  # townships are 2…21
        for n in range(1, INSPECTORS + 1):
            db.session.add(User(username=f"insp{n:02}", display_name=f"督查{n:02}",
                                password_hash=digest, role="inspector", scope_unit_id=1))
        db.session.commit()
    print(f"logins: cadre1…cadre{CADRES}, sup01…sup{SUPERVISORS:02}, "
          f"insp01…insp{INSPECTORS:02}; password {PASSWORD}")


__all__ = ["CADRES", "HOUSEHOLDS_PER_VILLAGE", "PASSWORD", "household_id", "seed_if_empty",
           "village_of"]
