"""A real web terminal for the gate tests: terminado's TermSocket on tornado, running a shell.

    python terminal_app.py     # prints {"port": N} on stdout once listening

The WebSocket is at /websocket; tornado's own Origin check stays on (Origin must match Host),
as in a browser-facing deployment. The page at / is a stand-in for the terminal's HTML.
"""

from __future__ import annotations

import asyncio
import json
import socket

import tornado.httpserver
import tornado.web
from terminado import SingleTermManager, TermSocket


class Index(tornado.web.RequestHandler):
    def get(self) -> None:
        who = self.request.headers.get("X-Hoody-User", "")
        self.write(f"<html><body>terminal for {who}</body></html>")


async def main() -> None:
    manager = SingleTermManager(shell_command=["bash", "--norc", "--noprofile"])
    app = tornado.web.Application(
        [(r"/websocket", TermSocket, {"term_manager": manager}), (r"/", Index)]
    )
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets([sock])
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        manager.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
