"""deploy/: manifests parse with the expected kinds, reference secrets only, and run real CLI commands."""

import configparser
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from pipeline.cli import build_parser
from pipeline.sqlfiles import statements

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRET_NAMES = re.compile(r"PASSWORD|SECRET|TOKEN|WEBHOOK|SOURCES|WAREHOUSE_URL|HISTORY_URL|ACCESS_KEY")


def documents():
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        yield from (doc for doc in yaml.safe_load_all(path.read_text()) if doc)


def containers(doc):
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]["containers"]


def test_manifests_parse_with_the_expected_kinds():
    kinds = [doc["kind"] for doc in documents()]
    assert sorted(set(kinds)) == ["ConfigMap", "CronJob", "Deployment", "Job", "PersistentVolumeClaim", "Service"]
    assert kinds.count("CronJob") == 6


def test_workloads_reference_secrets_never_literal_values_and_request_resources():
    for doc in documents():
        if doc["kind"] not in ("Deployment", "CronJob", "Job"):
            continue
        for container in containers(doc):
            assert container["resources"]["requests"], doc["metadata"]["name"]
            for variable in container.get("env", []):
                if SECRET_NAMES.search(variable["name"]):
                    assert "value" not in variable and "secretKeyRef" in variable["valueFrom"], variable["name"]
            for source in container.get("envFrom", []):
                assert set(source) == {"secretRef"}, "environment only from the Secret, by reference"
            if doc["kind"] in ("CronJob", "Job") or doc["metadata"]["name"] == "console-worker":
                assert container["envFrom"] == [{"secretRef": {"name": "pipeline-secrets"}}]
            if doc["metadata"]["name"] == "console":  # no MongoDB, SMTP or Slack credentials in the console pod
                assert container["envFrom"] == [{"secretRef": {"name": "console-secrets"}}]


def test_the_console_runs_its_real_command_behind_the_proxy_the_configmap_declares():
    (console,) = [doc for doc in documents() if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "console"]
    (container,) = containers(console)
    args = build_parser().parse_args(container["args"])
    assert (args.command, args.host, args.port) == ("console", "0.0.0.0", container["ports"][0]["containerPort"])
    (configmap,) = [doc for doc in documents() if doc["kind"] == "ConfigMap"]
    config = configparser.ConfigParser()
    config.read_string(configmap["data"]["luigi.cfg"])
    assert config.getint("console", "proxy_hops") == 1 and config.getboolean("console", "secure_cookies")
    assert not config.getboolean("console", "run_worker", fallback=False)  # the worker Deployment runs them
    (upgrade,) = console["spec"]["template"]["spec"]["initContainers"]
    assert build_parser().parse_args(upgrade["args"]).console_command == "upgrade"
    (worker,) = [doc for doc in documents() if doc["metadata"]["name"] == "console-worker"]
    assert build_parser().parse_args(containers(worker)[0]["args"]).console_command == "worker"


def test_cronjobs_run_real_commands_on_the_expected_schedules():
    parser = build_parser()
    schedules = {}
    for doc in documents():
        if doc["kind"] == "CronJob":
            (container,) = containers(doc)
            args = parser.parse_args(container["args"])
            schedules[args.command] = doc["spec"]["schedule"]
            assert doc["spec"]["concurrencyPolicy"] == "Forbid"
    assert schedules == {"sync": "* * * * *", "export": "30 6 * * *", "verify": "15 2 * * *",
                         "status": "*/15 * * * *", "reconcile": "45 1 * * *", "lake": "30 3 * * *"}


def test_configmap_holds_a_valid_luigi_cfg_without_secrets():
    (config_map,) = [doc for doc in documents() if doc["kind"] == "ConfigMap"]
    parser = configparser.ConfigParser()
    parser.read_string(config_map["data"]["luigi.cfg"])
    assert parser.get("core", "scheduler_url").startswith("http://luigid.")
    assert "password" not in config_map["data"]["luigi.cfg"].lower()
    assert yaml.safe_load(config_map["data"]["exports.yml"]) == {"exports": []}


def test_crontab_lines_are_real_commands():
    parser = build_parser()
    commands = [line.split("&&", 1)[1] for line in (DEPLOY / "crontab").read_text().splitlines()
                if "&& pipeline" in line]
    parsed = {parser.parse_args(shlex.split(command.split(">")[0])[1:]).command for command in commands}
    assert parsed == {"sync", "export", "verify", "status", "reconcile", "lake"}


def test_the_s3_lifecycle_rule_expires_the_lake_after_the_retention_setting():
    from pipeline.config import StorageSettings

    (rule,) = json.loads((DEPLOY / "s3/lifecycle.json").read_text())["Rules"]
    assert rule["Filter"] == {"Prefix": "raw/"} and rule["Status"] == "Enabled"
    assert rule["Expiration"]["Days"] == StorageSettings().retention_days


def test_redshift_wlm_routes_dashboards_etl_and_exports_to_their_queues():
    queues = json.loads((DEPLOY / "redshift/wlm.json").read_text())
    from pipeline.config import WarehouseSettings

    assert [(q.get("user_group"), q.get("query_group"), q["memory_percent_to_use"]) for q in queues] == [
        (["dashboard"], ["dashboard"], 30), (["loaders"], [WarehouseSettings().etl_query_group], 40),
        (["exporters"], [WarehouseSettings().exports_query_group], 15), (None, None, 15)]
    assert sum(q["memory_percent_to_use"] for q in queues) == 100


def test_redshift_users_have_least_privilege():
    sql = (DEPLOY / "redshift/users.sql").read_text().lower()
    assert "password '" not in sql  # no literal passwords
    dashboard_grants = [" ".join(s.split()) for s in statements(sql) if "grant" in s and "group dashboard" in s]
    assert len(dashboard_grants) == 3
    for grant in dashboard_grants:
        assert "schema analytics" in grant and not re.search(r"insert|update|delete|all privileges", grant)


def test_the_images_entrypoint_runs_here():
    text = (DEPLOY / "Dockerfile").read_text()
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))
    command = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    assert entrypoint == ["pipeline"] and re.search(r"^USER pipeline$", text, re.M)
    executable = str(Path(sys.executable).parent / entrypoint[0])
    result = subprocess.run([executable, *command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: pipeline")


def test_warehouse_writers_default_to_the_etl_queues_slots_on_luigid_and_in_a_local_run():
    import json

    from pipeline.scheduler import POLICY
    from pipeline.tasks.common import DEFAULT_WAREHOUSE_WRITERS, WAREHOUSE_WRITERS
    from pipeline.tasks.load import LoadWindow
    from pipeline.tasks.transform import BuildModels, FullRefresh, TransformWindow

    (etl,) = [queue for queue in json.loads((DEPLOY / "redshift" / "wlm.json").read_text()) if queue["name"] == "etl"]
    assert etl["query_concurrency"] == DEFAULT_WAREHOUSE_WRITERS == int(POLICY["resources"][WAREHOUSE_WRITERS])
    assert all(task.resources == {WAREHOUSE_WRITERS: 1} for task in (LoadWindow, TransformWindow, BuildModels,
                                                                      FullRefresh))


def test_the_backfill_job_runs_one_backfill_per_pod_on_the_central_luigid():
    (job,) = [doc for doc in documents() if doc["kind"] == "Job"]
    (container,) = containers(job)
    args = build_parser().parse_args(container["args"])
    assert args.command == "backfill" and not args.local_scheduler and job["spec"]["parallelism"] > 1
    (configmap,) = [doc for doc in documents() if doc["kind"] == "ConfigMap"]
    config = configparser.ConfigParser()
    config.read_string(configmap["data"]["luigi.cfg"])
    assert config.get("core", "scheduler_url").startswith("http://luigid.")  # every pod a worker of one luigid
