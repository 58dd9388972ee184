"""WSGI entry point: `gunicorn -k gthread --threads 16 wsgi:app`, and FLASK_APP for the CLI."""

from app import create_app

app = create_app()
