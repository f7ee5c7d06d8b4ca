"""Configuration read from the environment."""
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _secret_key() -> str:
    """Return SECRET_KEY, or a per-instance random key kept under instance/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        # Written to a private temp file, then linked into place: when several processes start
        # at once (gunicorn workers) exactly one key wins and every process reads that one,
        # never a half-written file.
        tmp = INSTANCE / f"secret_key.{os.getpid()}.tmp"
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            tmp.unlink()
    return path.read_text().strip()


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE / 'fieldlog.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    PHOTO_DIR = os.environ.get("PHOTO_DIR", str(INSTANCE / "photos"))
    # The photo store: empty = the folder PHOTO_DIR; `s3://bucket[/prefix]` = an S3-compatible
    # object store (docs/deploy.md). S3 credentials and region fall back to boto3's own lookup
    # (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, a profile, a role).
    PHOTO_STORE = os.environ.get("PHOTO_STORE", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
    S3_REGION = os.environ.get("S3_REGION") or os.environ.get("AWS_REGION", "")
    MAX_PHOTO_BYTES = int(os.environ.get("MAX_PHOTO_BYTES", 25 * 1024 * 1024))
    MAX_PHOTO_PIXELS = int(os.environ.get("MAX_PHOTO_PIXELS", 60_000_000))
    MAX_CONTENT_LENGTH = MAX_PHOTO_BYTES + 1024 * 1024
    SYNC_BATCH_MAX = 500
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("FIELDLOG_TIMEZONE", "Asia/Shanghai")
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    # Behind a reverse proxy, how many X-Forwarded-For hops to trust (rate limits and the audit
    # trail need the client's address, not the proxy's). 0 when served directly.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    WTF_CSRF_TIME_LIMIT = None  # tokens tie to the session; offline replay uses device tokens
    # Sign-in: lockout after consecutive failures; rate limits per client IP and per username
    # (Flask-Limiter syntax). Memory storage by default; set RATELIMIT_STORAGE_URI (redis://…)
    # when several app processes serve one database, so they share the counters.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", 5))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", 15))
    LOGIN_RATE_LIMIT_IP = os.environ.get("LOGIN_RATE_LIMIT_IP", "20/minute")
    LOGIN_RATE_LIMIT_IP_ALL = os.environ.get("LOGIN_RATE_LIMIT_IP_ALL", "120/minute")
    LOGIN_RATE_LIMIT_USER = os.environ.get("LOGIN_RATE_LIMIT_USER", "10/minute")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Jobs off the request (photo processing, integrity flags): empty runs them in-process right
    # after the commit; `redis://host:6379/1` queues them on RQ for `flask jobs worker`.
    JOB_QUEUE = os.environ.get("JOB_QUEUE", "")
    JOB_QUEUE_NAME = os.environ.get("JOB_QUEUE_NAME", "fieldlog")
    JOB_RETRIES = int(os.environ.get("JOB_RETRIES", 3))
    JOB_RETRY_INTERVALS = os.environ.get("JOB_RETRY_INTERVALS", "10,60,300")  # seconds, back-off
    # A photo job takes a second or two, flags for a 500-record batch a few: 120 s is ample, and
    # a job whose worker was killed waits this + 60 s before it is retried (docs/deploy.md).
    JOB_TIMEOUT = int(os.environ.get("JOB_TIMEOUT", 120))
    JOB_DEAD_LETTER_DAYS = int(os.environ.get("JOB_DEAD_LETTER_DAYS", 30))
    # How often the worker looks for jobs a dead worker left started (RQ retries them once
    # their heartbeat expired) and takes over the scheduler of retries; RQ's default is 600 s.
    JOB_MAINTENANCE_INTERVAL = int(os.environ.get("JOB_MAINTENANCE_INTERVAL", 60))
    # Sessions: a week idle for phones in villages (a cadre away on leave or training a few
    # days must not be signed out), a working day for admins, 30 days at most for anyone.
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", 7 * 24 * 60))
    ADMIN_SESSION_IDLE_MINUTES = int(os.environ.get("ADMIN_SESSION_IDLE_MINUTES", 8 * 60))
    SESSION_ABSOLUTE_DAYS = int(os.environ.get("SESSION_ABSOLUTE_DAYS", 30))
    PERMANENT_SESSION_LIFETIME = SESSION_ABSOLUTE_DAYS * 24 * 60 * 60
    # The cookie is sent again only when the session changed (its `seen_at`, at most once a
    # minute), not with every answer: the idle and absolute limits are the server's
    # (views/auth.py), and ~400 bytes of Set-Cookie on each of the ~80 answers of a phone's
    # first sign-in is ~30 KB on a 2G link.
    SESSION_REFRESH_EACH_REQUEST = False
    # Personal data (PIPL): kept this long after the work ended (`flask privacy purge`), and a
    # per-user cap on photo bytes received per day (local day).
    PERSONAL_DATA_RETENTION_DAYS = int(os.environ.get("PERSONAL_DATA_RETENTION_DAYS", 1825))
    PHOTO_QUOTA_BYTES_PER_DAY = int(os.environ.get("PHOTO_QUOTA_BYTES_PER_DAY", 500 * 1024 * 1024))
    # Visit coverage: days between visits per household tag (the shortest of a household's tags
    # applies), the default for an untagged household, and per-county overrides by county code,
    # e.g. {"520100": {"hardship": 15, "default": 120}}.
    VISIT_INTERVAL_DAYS = {
        "hardship": 30, "low_income": 30, "five_guarantees": 30, "monitored": 30,
        "petitioner": 30, "left_behind_elderly": 60, "left_behind_children": 60,
        "old_party_member": 90, "retired_cadre": 90, "model_worker": 90, "disability": 60,
        "well_off": 180,
    }
    VISIT_INTERVAL_DEFAULT = 180
    COUNTY_VISIT_INTERVALS: dict[str, dict[str, int]] = {}
    # How many days of history the demo county gets.
    DEMO_WEEKS = 6
    # Reports for at least this many cadres run their heavy statements side by side, on
    # separate connections sharing one snapshot (PostgreSQL only).
    PARALLEL_REPORT_MIN_CADRES = int(os.environ.get("PARALLEL_REPORT_MIN_CADRES", 20))
    # Supervisors' map (/map): a tile server URL template ({z}/{x}/{y}, optional {s}); empty =
    # no tiles (points and geofences on a plain background, nothing leaves the server). Its
    # datum: "wgs84" (OpenStreetMap-style tiles) or "gcj02" (高德/腾讯 tiles: points are
    # converted before drawing). The tile host is added to the map page's CSP img-src only.
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
    MAP_TILE_SUBDOMAINS = os.environ.get("MAP_TILE_SUBDOMAINS", "abc")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
    MAP_TILE_CRS = os.environ.get("MAP_TILE_CRS", "wgs84")
    MAP_TILE_MAX_ZOOM = int(os.environ.get("MAP_TILE_MAX_ZOOM", 18))


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
