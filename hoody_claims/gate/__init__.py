"""``hoody-claims gate``: an authenticating reverse proxy and forward-auth endpoint.

Modules, by job: :mod:`.config` (flags, file, environment → ``GateConfig``), :mod:`.headers`
(hop-by-hop, X-Forwarded-*, identity), :mod:`.proxy` (HTTP streaming), :mod:`.websocket`
(WebSocket relay, close on claim expiry), :mod:`.forward_auth` (nginx/Traefik/Caddy),
:mod:`.server` (listening, dispatch, signals, workers), :mod:`.accesslog` (one JSON line per
request). Needs the ``gate`` extra (aiohttp).
"""

from __future__ import annotations

from .config import ConfigError, GateConfig, load_config

__all__ = ["ConfigError", "GateConfig", "load_config"]
