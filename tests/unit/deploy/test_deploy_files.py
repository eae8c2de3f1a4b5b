"""Every file under deploy/ parses and names only images, settings and commands that exist."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from seedpipe import __version__
from seedpipe.cli import COMMANDS
from seedpipe.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
CONFIG_IN_IMAGE = "/etc/seedpipe/seedpipe.toml"
# Third-party images the deployment may use: pinned, never :latest.
KNOWN_IMAGES = {
    "apache/kafka",
    "docker.elastic.co/elasticsearch/elasticsearch",
    "minio/minio",
    "minio/mc",
    "prom/prometheus",
    "grafana/grafana",
}
OUR_IMAGE = f"seedpipe:{__version__}"
DOCKERFILE_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    logical = ""
    for line in text.splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        keyword, _, rest = logical.strip().partition(" ")
        out.append((keyword.upper(), rest.strip()))
        logical = ""
    assert not logical, "Dockerfile ends inside a continued line"
    return out


def env_setting_exists(name: str) -> bool:
    """Whether SEEDPIPE_A__B__C names a field of Settings (dict sections take any key)."""
    parts = name.removeprefix("SEEDPIPE_").lower().split("__")
    model: Any = Settings
    for i, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            return False
        annotation = fields[part].annotation
        if i == len(parts) - 1:
            return True
        origin = getattr(annotation, "__origin__", None)
        if origin is dict:
            value_type = annotation.__args__[1]
            if i + 2 >= len(parts) + 1:
                return False
            model = value_type
            parts.pop(i + 1)  # the dict key (a workspace name)
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return False
        model = annotation
    return True


def check_image(image: str) -> None:
    assert ":" in image, f"{image}: pin a tag"
    repo, _, tag = image.rpartition(":")
    assert tag and tag != "latest", f"{image}: pin a tag other than latest"
    assert image == OUR_IMAGE or repo in KNOWN_IMAGES, f"{image} is not an image we know"


def check_command(args: list[str]) -> None:
    """``args`` is a seedpipe command line the image's entrypoint runs; it must parse."""
    assert args and args[0] in COMMANDS, f"{args[:1]} is not a seedpipe command"
    module = importlib.import_module(COMMANDS[args[0]][0])
    parser = argparse.ArgumentParser(prog=f"seedpipe {args[0]}")
    module.add_arguments(parser)
    ns = parser.parse_args(args[1:])
    if hasattr(ns, "config"):
        assert ns.config == CONFIG_IN_IMAGE


def load_settings_with_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in env.items():
        if name.startswith("SEEDPIPE_"):
            assert env_setting_exists(name), f"{name} is not a setting"
            monkeypatch.setenv(name, value)
    return Settings.load(DEPLOY / "seedpipe.toml")


def test_the_dockerfile_parses_and_copies_only_what_exists() -> None:
    instructions = dockerfile_instructions((DEPLOY / "Dockerfile").read_text())
    assert instructions[0][0] == "FROM"
    for keyword, rest in instructions:
        assert keyword in DOCKERFILE_INSTRUCTIONS, keyword
        if keyword == "COPY" and not rest.startswith("--from="):
            *sources, _dest = rest.split()
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
    copied = {rest.split()[0] for keyword, rest in instructions if keyword == "COPY"}
    for package in ("seedpipe", "ingest", "capture", "indexer", "composition"):
        assert package in copied, f"the image lacks the {package} package"
    # The page's assets are built in the image (they are never committed)
    assert any(
        k == "COPY" and r.startswith("--from=web") and "composition/web/static" in r
        for k, r in instructions
    )
    entry = dict(instructions)["ENTRYPOINT"]
    assert entry == '["seedpipe"]'
    assert 'seedpipe = "seedpipe.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_the_deploy_config_is_valid_settings() -> None:
    settings = Settings.load(DEPLOY / "seedpipe.toml")
    assert settings.bus.url.startswith("kafka://")
    assert settings.index.url.startswith("elasticsearch://")
    for jt in settings.job_types:
        # The image copies examples/ to /app/examples.
        in_repo = ROOT / Path(jt.manifest).relative_to("/app")
        assert in_repo.is_file(), f"{jt.manifest} is not in the image"


def test_compose_services_use_known_images_settings_and_commands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"kafka", "elasticsearch", "minio", "ingest", "capture", "indexer", "api"} <= set(
        services
    )
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper
    for name, svc in services.items():
        check_image(svc["image"])
        if svc["image"] == OUR_IMAGE:
            assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).exists()
            check_command(svc["command"])
            with monkeypatch.context() as m:
                load_settings_with_env(svc["environment"], m)
            mounts = [v.split(":") for v in svc["volumes"]]
            assert [(DEPLOY / src).is_file() for src, dst, *_ in mounts if dst == CONFIG_IN_IMAGE]
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"


def k8s_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_the_configmap_carries_the_deploy_config() -> None:
    (cm,) = [d for d in k8s_documents() if d["kind"] == "ConfigMap"]
    text = cm["data"]["seedpipe.toml"]
    assert tomllib.loads(text) == tomllib.loads((DEPLOY / "seedpipe.toml").read_text())


def test_each_service_is_a_deployment_with_a_known_image_command_and_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = k8s_documents()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {f"seedpipe-{s}" for s in ("ingest", "capture", "indexer", "api")}
    configmaps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    for name, dep in deployments.items():
        spec = dep["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        (container,) = spec["template"]["spec"]["containers"]
        check_image(container["image"])
        check_command(container["args"])
        env = {e["name"]: e.get("value", "x") for e in container.get("env", [])}
        with monkeypatch.context() as m:
            load_settings_with_env(env, m)
        for vol in spec["template"]["spec"]["volumes"]:
            if "configMap" in vol:
                assert vol["configMap"]["name"] in configmaps, name


def test_the_api_service_selects_the_api_pods() -> None:
    docs = k8s_documents()
    (svc,) = [d for d in docs if d["kind"] == "Service"]
    (api,) = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("api")
    ]
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()


async def test_the_api_probes_ask_for_routes_the_app_serves(tmp_path: Path) -> None:
    import httpx

    from composition.http import create_app
    from indexer.backends.sqlite.index import SqliteIndex
    from seedpipe.settings import Settings

    (api,) = [
        d for d in k8s_documents()
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("api")
    ]  # fmt: skip
    (container,) = api["spec"]["template"]["spec"]["containers"]
    probes = {k: v["httpGet"]["path"] for k, v in container.items() if k.endswith("Probe")}
    assert probes == {"readinessProbe": "/healthz", "livenessProbe": "/conformance"}
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        app = create_app(Settings.load(None, data_dir=str(tmp_path)), index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            for path in probes.values():
                assert (await client.get(path)).status_code == 200, path


def test_env_names_are_checked_against_the_settings_schema() -> None:
    assert env_setting_exists("SEEDPIPE_BUS__URL")
    assert env_setting_exists("SEEDPIPE_WORKSPACES__INPUT__ENDPOINT_URL")
    assert env_setting_exists("SEEDPIPE_CAPTURE__MEM_MIB")
    assert not env_setting_exists("SEEDPIPE_BUS__URLL")
    assert not env_setting_exists("SEEDPIPE_NOPE")
    assert re.fullmatch(r"seedpipe:\d+\.\d+\.\d+.*", OUR_IMAGE)


def _metric_names() -> set[str]:
    """Every series name the process exports (counters as *_total, histograms' parts)."""
    from seedpipe.metrics import registry

    names = {"seedpipe_jobs"}  # the job store's gauge, collected at scrape time
    for family in registry().collect():
        names.add(family.name)
        for sample in family.samples:
            names.add(sample.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_count", "_sum"))
    return names


def test_prometheus_scrapes_the_api_metrics_route_compose_and_kubernetes_serve() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert all(j["metrics_path"] == "/metrics" for j in jobs.values())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    (target,) = jobs["seedpipe-api"]["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host in compose and f"--port {port}" in " ".join(compose[host]["command"])
    mounted = [v.split(":")[0] for v in compose["prometheus"]["volumes"]]
    assert "./prometheus/prometheus.yml" in mounted
    (api,) = [
        d for d in k8s_documents()
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "seedpipe-api"
    ]  # fmt: skip
    component = api["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
    keep = jobs["seedpipe-api-k8s"]["relabel_configs"][0]
    assert keep["action"] == "keep" and keep["regex"] == component


async def test_the_metrics_route_serves_the_names_prometheus_is_told_about(
    tmp_path: Path,
) -> None:
    import httpx

    from composition.http import create_app
    from indexer.backends.sqlite.index import SqliteIndex

    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        app = create_app(Settings.load(None, data_dir=str(tmp_path)), index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scrape") as client:
            found = await client.get("/metrics")
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE seedpipe_search_seconds histogram" in found.text


def test_the_grafana_dashboard_queries_only_metrics_seedpipe_exports() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "seedpipe.json").read_text())
    source = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    (uid,) = [d["uid"] for d in source["datasources"]]
    exported = _metric_names()
    used: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        for target in panel["targets"]:
            used.update(re.findall(r"\bseedpipe_[a-z_]+", target["expr"]))
    assert used and used <= exported, used - exported
    # every family the issue names has a panel
    for family in ("files_ingested", "events_published", "events_dead_lettered", "consumer_lag",
                   "jobs", "job_duration", "index_records", "search_seconds"):  # fmt: skip
        assert any(name.startswith(f"seedpipe_{family}") for name in used), family
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "seedpipe.yaml").read_text()
    )
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in compose["volumes"])
    assert mounts["./grafana/dashboards"] == provider["providers"][0]["options"]["path"]
