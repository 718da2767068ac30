"""MultiBinary actions: the Bernoulli distribution, its head and policy, and the learners on them.

The Arena's actions are ``MultiBinary(4)`` (gun right, gun left, thruster left, thruster right),
so every actor-critic learner must train a policy of independent bits. The maths is checked
against ``torch.distributions``; the learning against two toy envs written here, each with a
score that chance (and, for the memory task, any memoryless policy) cannot reach.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.distributions as td
from gymnasium import spaces

from rlagent.agent import load_agent
from rlagent.algos.ppo import PPO, OnPolicyConfig
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.fast.paths import select_fast_paths
from rlagent.games.players import PolicyPlayer, with_temperature
from rlagent.make_env import make_env
from rlagent.nets import Bernoulli, BernoulliHead, PolicyConfig, build_policy
from rlagent.run import Trainer

BITS = 4
OBS = spaces.Box(0.0, 1.0, (BITS,), np.float32)
ACTIONS = spaces.MultiBinary(BITS)


# --- toy envs ------------------------------------------------------------------------------------


class BitMatchEnv(gym.Env):
    """A contextual bandit: one step shows ``BITS`` random bits, and the reward is the fraction of
    action bits equal to a fixed function of them (permuted, two of them flipped). Chance scores
    0.5, and a policy that leaves any one bit to chance at most 0.875."""

    def __init__(self) -> None:
        self.observation_space = OBS
        self.action_space = ACTIONS

    @staticmethod
    def target(x: np.ndarray) -> np.ndarray:
        return np.array([x[2], 1 - x[0], x[3], 1 - x[1]])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.bits = self.np_random.integers(2, size=BITS)
        return self.bits.astype(np.float32), {}

    def step(self, action):
        reward = float(np.mean(np.asarray(action) == self.target(self.bits)))
        self.bits = self.np_random.integers(2, size=BITS)
        return self.bits.astype(np.float32), reward, True, False, {}


class BitRecallEnv(gym.Env):
    """``BITS`` random bits are shown at step 0, then blanks; at step ``delay`` a cue asks for them,
    and the reward is the fraction of action bits equal to them (no reward before). A memoryless
    policy sees the same cue whatever the bits were, so it cannot beat 0.5."""

    def __init__(self, delay: int = 3) -> None:
        self.delay = delay
        self.observation_space = spaces.Box(0.0, 1.0, (BITS + 1,), np.float32)
        self.action_space = ACTIONS

    def _obs(self) -> np.ndarray:
        obs = np.zeros(BITS + 1, np.float32)
        if self.t == 0:
            obs[:BITS] = self.bits
        elif self.t == self.delay:
            obs[BITS] = 1.0  # "answer now"
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.bits = 0, self.np_random.integers(2, size=BITS)
        return self._obs(), {}

    def step(self, action):
        if self.t < self.delay:
            self.t += 1
            return self._obs(), 0.0, False, False, {}
        return self._obs(), float(np.mean(np.asarray(action) == self.bits)), True, False, {}


gym.register("rlagent-test/BitMatch-v0", entry_point=BitMatchEnv)
gym.register("rlagent-test/BitRecall-v0", entry_point=BitRecallEnv)


def train(algo: str, env: str, steps: int, tmp_path: Path, *overrides: str, seed: int = 0) -> Trainer:
    """Through the run loop every learner uses: config resolution, collection, update, checkpoint."""
    extra = {"total_steps": steps, "seed": seed, "logdir": str(tmp_path)}
    trainer = Trainer(resolve(algo, env, overrides=["run.progress=false", *overrides], extra=extra))
    trainer.train()
    return trainer


def score(trainer: Trainer, rewarded_steps: int, episodes: int = 200, seed: int = 123) -> float:
    """The greedy policy's mean return over ``episodes`` fresh episodes, divided by the number of
    steps an episode rewards: the fraction of bits it gets right."""
    env = make_env(trainer.config.env, 16, trainer.config.env_kwargs)
    obs, _ = env.reset(seed=seed)
    policy = trainer.policy
    state, start = policy.initial_state(16), np.ones(16, dtype=bool)
    running, finished = np.zeros(16), []
    while len(finished) < episodes:
        actions, _, _, state = policy.act(obs, state, start, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(actions)
        running += reward
        start = terminated | truncated
        for i in np.flatnonzero(start):
            finished.append(running[i])
            running[i] = 0.0
    env.close()
    return float(np.mean(finished[:episodes])) / rewarded_steps


# --- the distribution ----------------------------------------------------------------------------


def test_bernoulli_log_prob_and_entropy_match_torch_distributions() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(64, BITS, generator=generator) * 3.0
    actions = torch.randint(0, 2, (64, BITS), generator=generator)
    ours = Bernoulli(logits)
    reference = td.Independent(td.Bernoulli(logits=logits), 1)
    assert torch.allclose(ours.log_prob(actions), reference.log_prob(actions.float()), atol=1e-5)
    assert torch.allclose(ours.entropy(), reference.entropy(), atol=1e-5)
    assert ours.log_prob(actions).shape == (64,) and ours.entropy().shape == (64,)
    assert torch.allclose(ours.probs, torch.sigmoid(logits))
    # The env's MultiBinary dtype (int8) and floats give the same log-probabilities.
    assert torch.equal(ours.log_prob(actions.to(torch.int8)), ours.log_prob(actions))


def test_bernoulli_stays_finite_for_confident_bits() -> None:
    logits = torch.tensor([[-200.0, -30.0, 30.0, 200.0]], requires_grad=True)
    dist = Bernoulli(logits)
    right, wrong = dist.log_prob(torch.tensor([[0, 0, 1, 1]])), dist.log_prob(torch.tensor([[1, 1, 0, 0]]))
    assert abs(float(right.detach())) < 1e-12 and float(wrong.detach()) == pytest.approx(-460.0)
    assert float(dist.entropy().detach()) == pytest.approx(0.0, abs=1e-11)
    (wrong + dist.entropy()).sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_bernoulli_samples_at_each_bit_s_probability() -> None:
    logits = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0]).expand(40_000, 5)
    samples = Bernoulli(logits).sample(torch.Generator().manual_seed(0))
    assert samples.dtype == torch.int64 and samples.shape == (40_000, 5)
    assert set(samples.unique().tolist()) == {0, 1}
    assert torch.allclose(samples.float().mean(0), torch.sigmoid(logits[0]), atol=0.01)
    always = Bernoulli(torch.tensor([[-1e4, 1e4]]).expand(1000, 2)).sample(torch.Generator().manual_seed(1))
    assert (always[:, 0] == 0).all() and (always[:, 1] == 1).all()


def test_bernoulli_mode_takes_each_bit_s_likelier_value() -> None:
    mode = Bernoulli(torch.tensor([[-1.0, 0.0, 0.3, 5.0]])).mode()
    assert mode.dtype == torch.int64 and mode.tolist() == [[0, 0, 1, 1]]


def test_bernoulli_sampling_is_reproducible_with_a_generator() -> None:
    logits = torch.randn(256, BITS)
    a = Bernoulli(logits).sample(torch.Generator().manual_seed(7))
    b = Bernoulli(logits).sample(torch.Generator().manual_seed(7))
    c = Bernoulli(logits).sample(torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with torch.inference_mode():
        dist = Bernoulli(torch.randn(4, BITS))
        assert dist.log_prob(dist.sample()).shape == (4,)


# --- the head and the policy ---------------------------------------------------------------------


@pytest.mark.parametrize("recurrent", [None, "gru"])
def test_policy_for_multibinary_acts_with_bits(recurrent: str | None) -> None:
    torch.manual_seed(0)
    policy = build_policy(OBS, ACTIONS, PolicyConfig(recurrent=recurrent, recurrent_hidden=16))
    assert isinstance(policy.policy_head, BernoulliHead) and policy.is_recurrent == (recurrent is not None)
    obs = np.random.default_rng(0).integers(2, size=(6, 3, BITS)).astype(np.float32)  # (T, B, bits)
    state, start = policy.initial_state(3), np.ones(3, dtype=bool)
    step_log_probs, actions = [], []
    for t in range(6):
        action, log_prob, value, state = policy.act(obs[t], state, start, generator=torch.Generator().manual_seed(t))
        assert action.shape == (3, BITS) and action.dtype == np.int64 and set(np.unique(action)) <= {0, 1}
        assert log_prob.shape == (3,) and value.shape == (3,)
        assert (state is None) == (recurrent is None)
        step_log_probs.append(log_prob)
        actions.append(action)
        start = np.zeros(3, dtype=bool)
    # The learner's replay of the sequence gives the log-probabilities the rollout stored.
    starts = np.zeros((6, 3), dtype=bool)
    starts[0] = True
    out = policy.forward_sequence(obs, policy.initial_state(3), starts)
    replayed = out.dist.log_prob(torch.as_tensor(np.concatenate(actions)))
    assert torch.allclose(replayed, torch.as_tensor(np.concatenate(step_log_probs)), atol=1e-5)
    greedy, _, _, _ = policy.act(obs[0], policy.initial_state(3), np.ones(3, dtype=bool), deterministic=True)
    assert np.array_equal(greedy, (policy.forward(obs[0], None, np.ones(3, dtype=bool)).dist.logits > 0).long().numpy())


def test_multibinary_policies_refuse_what_they_cannot_be() -> None:
    with pytest.raises(ConfigError, match="MultiBinary action spaces must be 1-D") as error:
        build_policy(OBS, spaces.MultiBinary([2, 2]))
    assert "\n" not in str(error.value)
    masked = spaces.Dict({"observation": OBS, "action_mask": spaces.Box(0, 1, (BITS,), np.int8)})
    with pytest.raises(ConfigError, match="action_mask"):
        build_policy(masked, ACTIONS)
    with pytest.raises(ValueError, match="cannot be masked"):
        BernoulliHead(8, BITS)(torch.zeros(2, 8), torch.ones(2, BITS, dtype=torch.bool))
    with pytest.raises(ConfigError, match="Discrete, MultiDiscrete, MultiBinary or a 1-D Box"):
        build_policy(OBS, spaces.Tuple([spaces.Discrete(2)]))


def test_the_fast_paths_step_aside_for_multibinary() -> None:
    policy = build_policy(OBS, ACTIONS, PolicyConfig())
    assert select_fast_paths(policy).actor is None
    assert PPO(policy, OnPolicyConfig(), 1, torch.device("cpu")).analytic is None


def test_the_dqn_family_refuses_multibinary_in_one_line(tmp_path: Path) -> None:
    config = resolve("rainbow", "rlagent-test/BitMatch-v0", overrides=["run.progress=false", f"run.logdir={tmp_path}"])
    with pytest.raises(ConfigError, match="Discrete") as error:
        Trainer(config)
    assert "\n" not in str(error.value) and "MultiBinary" in str(error.value)


def test_temperature_divides_each_bit_s_logit() -> None:
    logits = torch.tensor([[-1.0, 0.5, 2.0, -3.0]])
    assert torch.equal(with_temperature(Bernoulli(logits), 2.0).logits, logits / 2.0)
    assert with_temperature(Bernoulli(logits), 1.0).logits is logits
    obs_space = spaces.Dict({"observation": OBS})
    player = PolicyPlayer(build_policy(obs_space, ACTIONS), greedy=False, temperature=0.5)
    obs = np.zeros((5, BITS), np.float32)
    dist, value = player.distribution(obs, np.ones((5, 1), np.int8))
    assert isinstance(dist, Bernoulli) and value.shape == (5,)
    assert player(obs, np.ones((5, 1), np.int8)).shape == (5, BITS)


def test_a_saved_multibinary_agent_loads_and_acts_the_same(tmp_path: Path) -> None:
    trainer = train("ppo", "rlagent-test/BitMatch-v0", 256, tmp_path, "ppo.num_steps=16", "run.num_envs=4")
    agent = load_agent(trainer.run_dir)
    assert isinstance(agent.policy.policy_head, BernoulliHead)
    obs = np.random.default_rng(1).integers(2, size=(8, BITS)).astype(np.float32)
    ours = trainer.policy.act(obs, deterministic=True)
    theirs = agent.policy.act(obs, deterministic=True)
    assert np.array_equal(ours[0], theirs[0]) and np.allclose(ours[1], theirs[1])


# --- learning ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "algo, overrides",
    [
        ("ppo", ("ppo.num_steps=32", "ppo.learning_rate=0.003")),
        ("a2c", ("a2c.learning_rate=0.003",)),
        ("reinforce", ("reinforce.num_steps=8",)),
    ],
)
def test_learners_match_the_bits(algo: str, overrides: tuple[str, ...], tmp_path: Path) -> None:
    trainer = train(algo, "rlagent-test/BitMatch-v0", 10_000, tmp_path, "run.num_envs=16", *overrides)
    assert score(trainer, rewarded_steps=1) > 0.95  # chance: 0.5; one bit left to chance: 0.875


@pytest.mark.slow
def test_gru_ppo_recalls_bits_a_memoryless_policy_cannot(tmp_path: Path) -> None:
    common = ("ppo.num_steps=32", "ppo.num_minibatch=4", "ppo.learning_rate=0.003", "ppo.entropy_coef=0.01", "run.num_envs=16")
    trainer = train("ppo", "rlagent-test/BitRecall-v0", 30_000, tmp_path, *common, "policy.recurrent=gru", "policy.recurrent_hidden=32")
    assert score(trainer, rewarded_steps=1) > 0.85  # any memoryless policy: 0.5 (seeds 0-2 gave 0.93-1)
