"""Stands in for the ``vllm`` command in tests: ``vllm serve FOLDER --port N --served-model-name M ...``.

It records its arguments and the model folder's files (``STANDIN_LOG``), then answers the
OpenAI-compatible routes the serve card uses (``/health``, ``/v1/models``, ``/v1/completions``)
on 127.0.0.1 only, and exits by itself after ``STANDIN_LIFETIME`` seconds (default 120).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(argv: list[str]) -> int:
    assert argv[:1] == ["serve"], argv
    folder = argv[1]
    opts = dict(zip(argv[2::2], argv[3::2], strict=False))
    model = opts["--served-model-name"]
    files = sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)
    log = os.environ.get("STANDIN_LOG")
    if log:
        with open(log, "w") as fh:
            json.dump({"argv": argv, "files": files}, fh)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send({"object": "list", "data": [{"id": model, "object": "model"}]} if self.path == "/v1/models"
                       else {})

        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if req.get("model") != model:
                self.send_error(404, f"model {req.get('model')!r} is not served")
                return
            self._send({"choices": [{"text": f" hello from {model} ({len(files)} files)"}],
                        "usage": {"completion_tokens": min(3, int(req["max_tokens"]))}})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(opts["--port"])), Handler)
    threading.Timer(float(os.environ.get("STANDIN_LIFETIME", "120")), server.shutdown).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
