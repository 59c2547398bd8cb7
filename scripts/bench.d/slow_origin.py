#!/usr/bin/env python3
"""Slow origin backend for scripts/bench: every GET waits 1 s, then answers 1 KiB, cacheable.

Usage: slow_origin.py PORT [DELAY_SECONDS]. The origin nginx proxies /slow/ here and logs every
request it forwards, so the benchmark counts origin requests from that access log.
"""
import hashlib
import http.server
import sys
import time

DELAY = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
BODY = b"s" * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(DELAY)
        etag = '"' + hashlib.md5(self.path.encode()).hexdigest() + '"'
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Cache-Control", "public, max-age=3600")
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
