"""``python -m analytics``: serve the analytics service on ANALYTICS_HOST:ANALYTICS_PORT."""

from communitykit.app import serve

from .config import Settings
from .main import create_app

if __name__ == "__main__":
    serve(Settings(), create_app)
