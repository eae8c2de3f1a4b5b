"""Seed variable injection and Bash-style command expansion without a shell."""

from __future__ import annotations

import pytest

from capture.contract.environment import allocated, build_env, json_env_value
from capture.seed import load_manifest
from capture.seed.command import expand_command
from seedpipe.errors import InvalidInput
from tests.unit.capture.test_seed_manifest import complete, minimal


def test_unquoted_variables_expand_to_one_argument_each() -> None:
    env = {"INPUT_IMAGE": "/in/a b.png", "OUTPUT_DIR": "/out"}
    assert expand_command("${INPUT_IMAGE} ${OUTPUT_DIR}", env) == ["/in/a b.png", "/out"]
    assert expand_command("$INPUT_IMAGE -o $OUTPUT_DIR/x", env) == [
        "/in/a b.png",
        "-o",
        "/out/x",
    ]


@pytest.mark.parametrize(
    "hostile",
    ["a;rm -rf ~", "$(touch pwned)", "`id`", "line\nbreak", "x && y | z > w", "'quoted\"", "*"],
)
def test_shell_metacharacters_in_values_stay_data(hostile: str) -> None:
    env = {"F": f"/in/{hostile}"}
    assert expand_command("run ${F} --flag", env) == ["run", f"/in/{hostile}", "--flag"]


def test_the_switch_idiom_adds_the_prefix_only_when_the_variable_is_set() -> None:
    assert expand_command("x ${OPT/#/-d }", {"OPT": "/a b"}) == ["x", "-d", "/a b"]
    assert expand_command("x ${OPT/#/-d }", {}) == ["x"]
    assert expand_command("x ${OPT/#/--in=}", {"OPT": "v"}) == ["x", "--in=v"]


def test_unset_or_empty_variables_vanish_unless_quoted() -> None:
    assert expand_command("a ${GONE} $EMPTY b", {"EMPTY": ""}) == ["a", "b"]
    assert expand_command('a "${GONE}" b', {}) == ["a", "", "b"]


def test_quotes_and_escapes_in_the_command_follow_bash() -> None:
    env = {"X": "v"}
    assert expand_command("'$X literal' \"$X in dq\" \\$X", env) == ["$X literal", "v in dq", "$X"]
    assert expand_command('pre"$X"post', env) == ["prevpost"]


def test_unsupported_expansions_are_refused_not_passed_to_a_shell() -> None:
    with pytest.raises(InvalidInput, match="unsupported expansion"):
        expand_command("${X:-default}", {})
    with pytest.raises(InvalidInput, match="unterminated"):
        expand_command("'open", {})


def test_json_values_are_injected_raw_or_compact() -> None:
    assert json_env_value("plain text") == "plain text"
    assert json_env_value({"a": [1, 2]}) == '{"a":[1,2]}'
    assert json_env_value([1, "x"]) == '[1,"x"]'
    assert json_env_value(3) == "3"
    assert json_env_value(True) == "true"


def test_allocated_resources_scale_with_input_size_and_accept_overrides() -> None:
    m = load_manifest(complete())
    res = allocated(m, input_mib=2.0, overrides=None)
    assert res == {"cpus": 1.0, "mem": 1024.0, "sharedMem": 1024.0, "disk": 1008.0}
    assert allocated(m, 2.0, {"cpus": 0.5})["cpus"] == 0.5


def test_the_environment_holds_every_seed_variable_normalized() -> None:
    m = load_manifest(
        minimal(
            interface={
                "inputs": {
                    "files": [{"name": "in-file"}],
                    "json": [{"name": "opts", "type": "object"}],
                },
                "settings": [{"name": "db-host"}],
            },
            resources={"scalar": [{"name": "my-demo-resourceNew", "value": 5.0}]},
        )
    )
    env = build_env(
        m,
        file_inputs={"in-file": "/scale/input_data/in-file/a.png"},
        json_inputs={"opts": {"k": 1}},
        settings={"db-host": "db"},
        resources={"my-demo-resourceNew": 5.0, "cpus": 0.25},
        output_dir="/out",
        input_metadata="/in/meta.json",
    )
    assert env == {
        "IN_FILE": "/scale/input_data/in-file/a.png",
        "OPTS": '{"k":1}',
        "DB_HOST": "db",
        "ALLOCATED_MY_DEMO_RESOURCENEW": "5",
        "ALLOCATED_CPUS": "0.25",
        "OUTPUT_DIR": "/out",
        "INPUT_METADATA": "/in/meta.json",
    }
