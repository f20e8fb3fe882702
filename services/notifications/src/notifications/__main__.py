"""``python -m notifications``: serve the notifications service on NOTIFICATIONS_HOST:PORT."""

from communitykit.app import serve

from .config import Settings
from .main import create_app

if __name__ == "__main__":
    serve(Settings(), create_app)
