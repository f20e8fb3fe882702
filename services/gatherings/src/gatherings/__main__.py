"""``python -m gatherings``: serve the gatherings service on GATHERINGS_HOST:GATHERINGS_PORT."""

from communitykit.app import serve

from .config import Settings
from .main import create_app

if __name__ == "__main__":
    serve(Settings(), create_app)
