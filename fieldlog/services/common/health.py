"""Whether this process can serve: its database answers (for load balancers and `make serve`)."""
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fieldlog.extensions import db


def database_answers() -> bool:
    """Return whether the database answers a trivial query now."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        db.session.rollback()
        return False
