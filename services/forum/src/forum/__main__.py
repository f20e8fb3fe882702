"""``python -m forum``: serve the forum on FORUM_HOST:FORUM_PORT."""

import uvicorn

from .config import Settings
from .main import create_app


def main() -> None:
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
