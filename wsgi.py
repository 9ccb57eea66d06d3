"""WSGI entry point: the only module that calls create_app()."""

from app import create_app

app = create_app()
