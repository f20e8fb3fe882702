"""``python -m media``: serve the media service on MEDIA_HOST:MEDIA_PORT."""

from communitykit.app import serve

from .config import Settings
from .main import create_app

if __name__ == "__main__":
    serve(Settings(), create_app)
