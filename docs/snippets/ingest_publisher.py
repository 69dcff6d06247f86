"""Publish to Herald from Python with the standard library only.

With redis-py it is one line: redis.Redis.from_url(url).xadd("herald:ingest", {"update": json.dumps(u)})
"""
import json
import socket
import sys
from urllib.parse import unquote, urlparse


def _command(*args: str) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def publish(redis_url: str, update: dict) -> str:
    """XADDs one update to herald:ingest; returns the stream entry id."""
    u = urlparse(redis_url)
    with socket.create_connection((u.hostname, u.port or 6379), timeout=5) as s:
        replies = s.makefile("rb")
        if u.password:
            s.sendall(_command("AUTH", unquote(u.password)))
            replies.readline()
        s.sendall(_command("XADD", "herald:ingest", "*", "update", json.dumps(update)))
        line = replies.readline()
        if line.startswith(b"-"):
            raise RuntimeError(line[1:].decode().strip())
        return replies.readline().decode().strip()  # after "$<len>": the entry id


if __name__ == "__main__":
    entry = publish(sys.argv[1], {"topics": ["https://example.com/reports/7"], "data": {"rows": 1200}})
    print(entry)
