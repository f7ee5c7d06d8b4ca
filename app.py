"""Entry point for `flask --app app` and gunicorn (`gunicorn app:app`)."""
from fieldlog import create_app

app = create_app()
