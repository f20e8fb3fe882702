"""ASGI entry: ``uvicorn --factory notifications.main:create_app``."""

from fastapi import FastAPI

from .bootstrap import build_app
from .config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(settings or Settings())
