"""Configuration: precedence, aliases, validation with one-line errors, and the CLI's handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlagent.algos.ppo import A2C_DEFAULTS
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.train import main


def test_precedence_defaults_preset_file_set_flags(tmp_path: Path) -> None:
    config_file = tmp_path / "c.yaml"
    config_file.write_text("ppo:\n  clip_param: 0.3\n  num_epoch: 7\nrun:\n  seed: 4\n")
    config = resolve("ppo", "CartPole-v1", config_file, ["ppo.clip_param=0.1"], {"seed": 9})
    assert config.algorithm.clip_param == 0.1  # --set beats the file
    assert config.algorithm.num_epoch == 7  # the file beats the preset (20)
    assert config.algorithm.num_steps == 32  # the CartPole preset beats the default (128)
    assert config.run.seed == 9  # a dedicated flag beats everything


def test_algorithm_defaults_differ_for_a2c() -> None:
    config = resolve("a2c", "Pendulum-v1")
    assert config.algorithm.num_epoch == 1 and config.algorithm.clip_param is None
    assert config.algorithm.optimizer == "rmsprop" and config.algorithm.num_steps == A2C_DEFAULTS["num_steps"]


def test_aliases_and_env_kwargs() -> None:
    config = resolve("ppo", "hex", overrides=["ppo.gamma=0.9", "ppo.target_kl=0.02", "env.size=7", "num_envs=4"])
    assert config.algorithm.discount_factor == 0.9 and config.algorithm.kl_target == 0.02
    assert config.env_kwargs["size"] == 7 and config.run.num_envs == 4


def test_a_bare_learner_key_or_alias_reaches_the_learner_not_the_run() -> None:
    config = resolve("a2c", "CartPole-v1", overrides=["gamma=0.98", "clip_param=0.3", "num_envs=4"])
    assert config.algorithm.discount_factor == 0.98 and config.algorithm.clip_param == 0.3 and config.run.num_envs == 4
    with pytest.raises(ConfigError, match="unknown key run.nonsense: valid keys are total_steps"):
        resolve("a2c", "CartPole-v1", overrides=["nonsense=1"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("ppo.clip_parm=0.1", "unknown key ppo.clip_parm: valid keys are learning_rate"),
        ("ppo.clip_param=abc", "ppo.clip_param must be a number"),
        ("ppo.clip_param=-1", "ppo.clip_param must be a positive number or null"),
        ("ppo.value_loss=l1", "ppo.value_loss must be one of mse, huber, bce, quartic"),
        ("ppo.discount_factor=1.5", "ppo.discount_factor must be between 0 and 1"),
        ("run.num_envs=0", "run.num_envs must be a positive integer"),
        ("a2c.learning_rate=0.1", "configures a2c, but this run uses ppo"),
        ("optimiser.lr=0.1", "unknown section 'optimiser'"),
        ("noequals", "--set expects key=value"),
        ("policy.activation=sigmoid", "policy.activation"),
    ],
)
def test_bad_values_name_the_field_and_the_choices(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        resolve("ppo", "CartPole-v1", overrides=[override])
    assert "\n" not in str(error.value)


def test_unknown_algorithm() -> None:
    with pytest.raises(ConfigError, match="unknown algorithm 'sac': valid algorithms are ppo, a2c, reinforce, rainbow, dqn"):
        resolve("sac", "CartPole-v1")


def test_config_round_trips_through_its_dict() -> None:
    config = resolve("ppo", "hex", overrides=["env.size=5", "policy.hidden_sizes=[32, 32]"])
    again = resolve("ppo", "hex", base=json.loads(json.dumps(config.to_dict())))
    assert again == config


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sac", "--env", "CartPole-v1"], "unknown algorithm 'sac'"),
        (["ppo", "--env", "CartPoel-v1"], "unknown environment 'CartPoel-v1' (did you mean CartPole-v1"),
        (["ppo", "--env", "hex", "--set", "ppo.clip_parm=0.1"], "unknown key ppo.clip_parm"),
        (["ppo", "--env", "hex", "--set", "env.size=40"], "from 2 to 19"),
        (["ppo", "--env", "hex", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["ppo", "--env", "hex", "--resume", "/nonexistent/run"], "is not a run directory"),
    ],
)
def test_cli_bad_input_exits_non_zero_with_one_line(argv: list[str], message: str, capsys, tmp_path: Path) -> None:
    try:
        code = main([*argv, "--logdir", str(tmp_path)])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert "Traceback" not in err


def test_help_lists_every_hyperparameter(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in (
        "ppo/a2c.clip_param",
        "ppo/a2c.kl_target",
        "ppo/a2c.actor_loss_coef",
        "reinforce.legacy_loss",
        "reinforce.value_loss_coef",
        "policy.recurrent",
        "run.num_envs",
        "selfplay.sampling",
    ):
        assert name in out


def test_configs_validate_when_built_directly() -> None:
    """A config object built in code is checked like one resolved from the command line."""
    from rlagent.algos import OnPolicyConfig, ReinforceConfig
    from rlagent.config import Config, RunConfig, SelfPlayConfig
    from rlagent.nets import PolicyConfig

    with pytest.raises(ConfigError, match="algorithm.learning_rate must be a positive number"):
        OnPolicyConfig(learning_rate=-1.0)
    with pytest.raises(ConfigError, match="algorithm.gae_lambda must be between 0 and 1"):
        OnPolicyConfig(gae_lambda=1.5)
    with pytest.raises(ConfigError, match="algorithm.state_reset must be one of episode, trial"):
        ReinforceConfig(state_reset="never")
    with pytest.raises(ConfigError, match="run.num_envs must be a positive integer"):
        RunConfig(num_envs=0)
    with pytest.raises(ConfigError, match="run.fast must be one of auto, off"):
        RunConfig(fast="fastest")
    with pytest.raises(ConfigError, match="selfplay.eval_games must be even"):
        SelfPlayConfig(eval_games=3)
    with pytest.raises(ConfigError, match="policy.hidden_sizes"):
        PolicyConfig(hidden_sizes=(0,))
    with pytest.raises(ConfigError, match="unknown algorithm 'sac': valid algorithms are ppo, a2c, reinforce, rainbow, dqn"):
        Config(algo="sac", env="hex")
    with pytest.raises(ConfigError, match="ppo takes a OnPolicyConfig"):
        Config(algo="ppo", env="hex", algorithm=ReinforceConfig())
    assert Config(algo="a2c", env="hex").algorithm.optimizer == "rmsprop"  # the learner's own defaults


def test_a_learners_section_errors_name_the_section_typed() -> None:
    with pytest.raises(ConfigError, match=r"^a2c\.learning_rate must be a positive number"):
        resolve("a2c", "CartPole-v1", overrides=["a2c.learning_rate=-1"])
    with pytest.raises(ConfigError, match=r"^reinforce\.discount_factor must be between 0 and 1"):
        resolve("reinforce", "pwm", overrides=["reinforce.discount_factor=2"])


@pytest.mark.parametrize("word, expected", [("off", "off"), ("auto", "auto")])
def test_yaml_boolean_words_stay_words_for_string_fields(word: str, expected: str, tmp_path: Path) -> None:
    """YAML 1.1 reads an unquoted ``off`` as False; ``--set run.fast=off`` means the word, and a file's
    unquoted ``off`` gets a one-line error saying to quote it."""
    assert resolve("ppo", "CartPole-v1", overrides=[f"run.fast={word}"]).run.fast == expected
    assert resolve("ppo", "CartPole-v1", overrides=["ppo.normalize_advantage=no"]).algorithm.normalize_advantage is False
    config_file = tmp_path / "run.yaml"
    config_file.write_text("run:\n  fast: off\n")
    with pytest.raises(ConfigError, match="run.fast must be a string, got False .*quote the word"):
        resolve("ppo", "CartPole-v1", config_file)


def test_the_public_api_imports_from_one_place() -> None:
    """Every name the README lists as public is importable from ``rlagent`` itself."""
    import rlagent

    for name in rlagent.__all__:
        assert getattr(rlagent, name) is not None, name
    from rlagent import MCTSPlayer, PolicyPlayer, bradley_terry, hex_env, load_agent, pwm_env  # noqa: F401

    with pytest.raises(AttributeError):
        rlagent.not_a_name  # noqa: B018
