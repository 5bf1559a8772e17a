"""``opsdoc serve``: the team's web UI and API over the same core the CLI uses.

Pages are rendered on the server (Jinja2, autoescaped) and read without
JavaScript; every page has a JSON twin under ``/api/``. See :mod:`.app`.
"""

from opsdoc.server.app import create_app
from opsdoc.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
