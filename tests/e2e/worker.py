"""Private processes for pipeline tests and benchmarks: a redis-server on a free loopback
port and a Celery worker subprocess. Each is started with Popen and stopped by its own
PID; nothing here ever touches the machine's shared Redis (6379) or PostgreSQL.

Run as a script (``python tests/e2e/worker.py <celery worker args>``) this file starts a
Celery worker after installing one test-only hook: when ``MM_E2E_PAUSE_FILE`` is set,
the mail adapter pauses ``MM_E2E_PAUSE_SECONDS`` in the middle of ``apply()`` (after the
user database is written, before Postfix's lookup rows are), and creates that file
when it enters the pause. A test can then SIGKILL the worker at a known point inside a
push instead of hoping that a timed kill lands there. Production code has no such hook.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable


class StartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, this one process (by its PID)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL naming the very database a test process is connected to."""
    engine, name = settings_dict["ENGINE"], settings_dict["NAME"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{Path(name).resolve()}"
    if "postgresql" in engine:
        user = settings_dict.get("USER") or "postgres"
        password = settings_dict.get("PASSWORD")
        auth = f"{user}:{password}" if password else user
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{auth}@{host}:{port}/{name}"
    raise StartError(f"no DATABASE_URL form for {engine}")


class RedisServer:
    """redis-server on 127.0.0.1:<port>, no persistence, in its own directory."""

    def __init__(self, root: Path, port: int | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.root),
                "--protected-mode", "yes", "--logfile", str(self.root / "redis.log")]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        except FileNotFoundError as exc:
            raise StartError("redis-server is not installed") from exc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"redis-server exited: {self.log_tail()}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise StartError(f"redis-server did not answer on {self.port}: {self.log_tail()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 10) -> str:
        log = self.root / "redis.log"
        return "\n".join(log.read_text().splitlines()[-lines:]) if log.exists() else ""


class Worker:
    """A Celery worker subprocess (solo pool: the PID we kill is the one pushing)."""

    def __init__(self, root: Path, env: dict[str, str], queues: str = "default,mail-default,dns-default"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = env
        self.queues = queues
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root / "worker.log"
        self.starts = 0
        self.extra_env: dict[str, str] = {}

    def start(self, timeout: float = 30.0, extra_env: dict[str, str] | None = None) -> Worker:
        self.starts += 1
        self.extra_env = dict(extra_env or {})
        self.root.mkdir(parents=True, exist_ok=True)  # /tmp cleaners must not break a restart
        env = {**os.environ, **self.env, **self.extra_env}
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        env["PYTHONPATH"] = str(ROOT)
        argv = [PYTHON, str(Path(__file__).resolve()), "worker",
                "-Q", self.queues, "--concurrency", "1", "-P", "solo", "-l", "INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", f"e2e{os.getpid()}-{self.starts}@127.0.0.1"]
        log = open(self.log_path, "a")  # noqa: SIM115 - the child keeps it
        log.write(f"\n===== start {self.starts} =====\n")
        log.flush()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        marker = f"e2e{os.getpid()}-{self.starts}@127.0.0.1 ready."
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"celery worker exited ({self.proc.returncode}):\n{self.log_tail()}")
            if marker in self.log_text():
                return self
            time.sleep(0.1)
        self.stop()
        raise StartError(f"celery worker not ready after {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no warm shutdown, no ack, no cleanup."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        _stop(self.proc, timeout=15)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class Beat:
    """`celery beat` in its own process, as a deployment runs it: the periodic tasks
    (the push re-queue every PUSH_REQUEUE_SECONDS) on the production schedule."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root = Path(root)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root / "beat.log"

    def start(self, timeout: float = 30.0) -> Beat:
        self.root.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        schedule = self.root / "celerybeat-schedule"
        argv = [PYTHON, "-m", "celery", "-A", "manager", "beat", "-l", "INFO", "-s", str(schedule),
                "--pidfile", str(self.root / "beat.pid")]
        log = open(self.log_path, "a")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"celery beat exited ({self.proc.returncode}):\n{self.log_tail()}")
            if "beat: Starting..." in self.log_text():
                return self
            time.sleep(0.1)
        self.stop()
        raise StartError(f"celery beat not started after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def filesystem_broker_options(var_dir: Path) -> dict:
    """The transport options manager/settings.py gives a process whose MM_VAR_DIR is
    `var_dir` and that has no REDIS_URL (the embedded broker)."""
    broker = Path(var_dir) / "broker"
    return {"data_folder_in": str(broker / "queue"), "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"), "control_folder": str(broker / "control"),
            "store_processed": False, "polling_interval": 0.5}


def repoint_celery(broker_url: str, transport_options: dict | None = None) -> None:
    """Make this process publish to `broker_url` (settings are read once at app setup)."""
    from kombu import pools

    from manager.celery import app

    # kombu keeps pools in a process-wide registry: closing one leaves it there, closed.
    pools.reset()
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = (
        {"visibility_timeout": 600} if broker_url.startswith("redis") else transport_options)
    app.conf.task_always_eager = False
    app._after_fork()  # drops the app's cached connection and producer pools


def _install_pause_hook() -> None:
    flag = os.environ.get("MM_E2E_PAUSE_FILE")
    if not flag:
        return
    seconds = float(os.environ.get("MM_E2E_PAUSE_SECONDS", "30"))
    from mailservice.backends.postfix_maps import PostfixMaps

    original = PostfixMaps.write_domain

    def paused(self, domain, rows):
        Path(flag).write_text(str(os.getpid()))
        time.sleep(seconds)
        return original(self, domain, rows)

    PostfixMaps.write_domain = paused


def _worker_main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manager.settings")
    sys.path[0] = str(ROOT)  # not this file's directory
    django.setup()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` dumps every thread's stack to the log
    _install_pause_hook()
    from manager.celery import app

    app.worker_main(sys.argv[1:])


if __name__ == "__main__":
    _worker_main()
