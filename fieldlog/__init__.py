"""fieldlog: the field-visit log of village first secretaries."""
from flask import Flask, has_request_context, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from fieldlog.config import Config


def create_app(config: type | dict | None = None) -> Flask:
    """Build the app: config → extensions → blueprints → CLI."""
    from fieldlog.inputs import SafeJSONProvider, register_input_guards

    app = Flask(__name__, instance_relative_config=True,
                template_folder="../templates", static_folder="../static")
    app.json = SafeJSONProvider(app)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _init_extensions(app)
    _register_blueprints(app)

    from fieldlog.assets import register_assets
    from fieldlog.cli import register_cli
    from fieldlog.errors import register_error_handlers
    from fieldlog.security import register_security_headers
    from fieldlog.services.integrity.hooks import listen as flag_committed_records
    from fieldlog.services.records.processing import register_jobs as register_photo_jobs
    from fieldlog.templating import register_templating

    register_photo_jobs()
    flag_committed_records()
    register_error_handlers(app)
    register_input_guards(app)
    register_security_headers(app)
    register_templating(app)
    register_assets(app)
    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from fieldlog import models  # noqa: F401  (models must be known to Alembic)
    from fieldlog.compression import register_compression
    from fieldlog.extensions import babel, csrf, db, login_manager, migrate
    from fieldlog.ratelimit import init_ratelimit

    register_compression(app)  # first: its after-request hook then runs last
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: None)
    init_ratelimit(app)

    @login_manager.user_loader
    def load_user(session_id: str):
        """Load "id:epoch"; a session from before "sign out of all devices" loads nobody."""
        from fieldlog.models import User

        user_id, _, epoch = session_id.partition(":")
        if not (user_id.isdigit() and epoch.isdigit()):
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_epoch != int(epoch):
            return None
        from fieldlog.services.people.terms import village_on_the_day

        village_on_the_day(user)  # a move dated today takes effect on today's first request
        return user

    @app.context_processor
    def inject_i18n():
        from flask_babel import get_locale

        return {"languages": app.config["LANGUAGES"], "current_locale": str(get_locale())}


def _select_locale() -> str:
    """Pick the UI language: the user's choice, then the session's, then Chinese."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands and background work speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _register_blueprints(app: Flask) -> None:
    from fieldlog.views import (
        account,
        admin,
        api,
        attendance,
        auth,
        exports,
        flags,
        handover,
        inspect,
        ledger,
        mapview,
        mobile,
        mobile_review,
        month,
        progress,
        pwa,
        records,
        register,
        review,
        scoring,
    )

    for module in (auth, account, mobile, api, review, inspect, flags, admin, pwa, register,
                   records, attendance, ledger, month, mapview, progress, mobile_review,
                   scoring, exports, handover):
        app.register_blueprint(module.bp)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Use WAL and wait on locks, so the phone sync and pages can share one SQLite file."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
