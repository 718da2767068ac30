"""A safety net of fast unit tests for bugs that training runs would hide: each test guards named
bugs (see its docstring) and was seen to fail with that bug put in by hand.

Everything that depends on the Collector's or the learners' internals (how a Rollout is built, where
the truncation bootstrap lives, the optimizer behind a learner) sits in the small helpers below, so
a refactor only has to touch them.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from rlagent.algos import OnPolicyConfig, ReinforceConfig
from rlagent.algos.ppo import PPO
from rlagent.algos.reinforce import Reinforce
from rlagent.config import resolve
from rlagent.nets import PolicyConfig, build_policy
from rlagent.rollout import Collector, Rollout
from rlagent.run import Trainer

CPU = torch.device("cpu")
OBS_SPACE = spaces.Box(-np.inf, np.inf, (3,), np.float32)
ACTION_SPACE = spaces.Discrete(2)


# --- helpers: the only places that know the internals ----------------------------------------------
def small_policy(seed: int = 0, recurrent: bool = False, hidden: tuple[int, ...] = (8,)) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = PolicyConfig(hidden_sizes=hidden, recurrent="gru" if recurrent else None, recurrent_hidden=8)
    return build_policy(OBS_SPACE, ACTION_SPACE, config)


def linear_value_policy(weight: list[float], bias: float) -> torch.nn.Module:
    """A feed-forward policy whose value is exactly ``weight . obs + bias`` (no hidden layers)."""
    policy = small_policy(hidden=())
    with torch.no_grad():
        policy.value_head.linear.weight.copy_(torch.tensor([weight]))
        policy.value_head.linear.bias.fill_(bias)
    return policy


def make_rollout(obs, actions, log_probs, values, rewards, dones, last_values, valid=None, episode_starts=None, state_size=0) -> Rollout:
    """A Rollout from (T, N) arrays (episode starts derived from ``dones`` unless given)."""
    steps, envs = rewards.shape
    if episode_starts is None:
        episode_starts = np.zeros((steps, envs), bool)
        episode_starts[0] = True
        episode_starts[1:] = dones[:-1].astype(bool)
    states = np.zeros((steps, envs, state_size), np.float32) if state_size else None
    return Rollout(
        obs=obs.astype(np.float32),
        actions=actions.astype(np.int64),
        log_probs=log_probs.astype(np.float32),
        values=values.astype(np.float32),
        rewards=rewards.astype(np.float32),
        terminated=dones.astype(bool),
        truncated=np.zeros((steps, envs), bool),
        final_obs=np.zeros_like(obs, dtype=np.float32),
        episode_starts=episode_starts,
        states=states,
        last_values=last_values.astype(np.float32),
        valid=valid,
    )


@torch.no_grad()
def policy_outputs(policy, obs: np.ndarray, actions: np.ndarray, episode_starts: np.ndarray | None = None):
    """(T, N) log-probabilities and values of ``actions`` under ``policy`` (a recurrent one replays
    the sequences from a zero state)."""
    steps, envs = actions.shape
    if policy.is_recurrent:
        out = policy.forward_sequence(obs, policy.initial_state(envs), episode_starts)
    else:
        out = policy.forward(obs.reshape(steps * envs, -1))
    log_probs = out.dist.log_prob(torch.as_tensor(actions.reshape(-1)))
    return log_probs.numpy().reshape(steps, envs), out.value.numpy().reshape(steps, envs)


def random_rollout(policy, seed: int, steps: int = 8, envs: int = 4, deltas=0.0, dones=None) -> Rollout:
    """A rollout of random observations and actions whose stored log-probabilities are the policy's
    own minus ``deltas``, so every PPO ratio at the first minibatch is ``exp(deltas)``."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(steps, envs, 3)).astype(np.float32)
    actions = rng.integers(0, 2, size=(steps, envs))
    log_probs, values = policy_outputs(policy, obs, actions)
    rewards = rng.normal(size=(steps, envs)).astype(np.float32)
    dones = np.zeros((steps, envs), np.float32) if dones is None else dones
    return make_rollout(obs, actions, log_probs - deltas, values, rewards, dones, rng.normal(size=envs))


def collect(env: VectorEnv, policy, num_steps: int, gamma: float) -> Rollout:
    return Collector(env, policy, num_steps, seed=0).collect()


def stored_truncation_reward(rollout: Rollout, policy, gamma: float, t: int, i: int) -> float:
    """The one-step target a learner sees at a truncated step: the env's reward plus the discounted
    value of the true final observation, as the rollout gives it (``truncation_values``)."""
    return float(rollout.rewards[t, i] + gamma * rollout.truncation_values(policy)[t, i])


def episode_ends(rollout: Rollout) -> set[tuple[int, int]]:
    """The (step, env) pairs where the rollout records that an episode ended (either way)."""
    return {(int(t), int(i)) for t, i in zip(*np.nonzero(rollout.dones))}


def ppo(policy, total_updates: int = 10, seed: int = 0, **config) -> PPO:
    return PPO(policy, OnPolicyConfig(**config), total_updates, CPU, seed=seed)


def reinforce(policy, total_updates: int = 10, **config) -> Reinforce:
    return Reinforce(policy, ReinforceConfig(**config), total_updates, CPU)


def optimizer_lr(learner) -> float:
    return learner.gradient.optimizer.param_groups[0]["lr"]


def count_optimizer_steps(learner) -> list[int]:
    """A list that grows by one at every real optimiser step of ``learner``."""
    steps: list[int] = []
    learner.gradient.optimizer.register_step_post_hook(lambda *args: steps.append(1))
    return steps


def gradients(policy) -> list[torch.Tensor]:
    return [p.grad.clone() for p in policy.parameters()]


def parameters(policy) -> list[torch.Tensor]:
    return [p.detach().clone() for p in policy.parameters()]


def round_trip(state):
    """Through bytes, as a checkpoint does (and so that later steps cannot touch the saved tensors)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def assert_same_tensors(first, second, atol: float = 0.0) -> None:
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0.0, atol=atol)


def differs(first, second, atol: float = 1e-6) -> bool:
    return any(not torch.allclose(a, b, rtol=0.0, atol=atol) for a, b in zip(first, second, strict=True))


# --- a scripted SAME_STEP vector env ---------------------------------------------------------------
class ScriptedSameStepEnv(VectorEnv):
    """N envs whose observations are all distinct: ``0.1 * [env + 1, k, t]`` (k counts every
    observation the env has shown, t the steps into the episode). Env i's episodes last
    ``lengths[i]`` steps and end truncated (``truncate[i]``) or terminated; the reward of a step is
    ``1 + 0.5 * k``. Autoreset is SAME_STEP as in Gymnasium: at an episode's end ``step`` returns the
    next episode's first observation and the true final one in ``info["final_obs"]``. ``ends``
    records (step index, env, final observation, truncated) and ``rewards`` each step's rewards,
    for the tests."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, lengths=(3, 4), truncate=(True, False)) -> None:
        self.num_envs = len(lengths)
        self.lengths, self.truncate = lengths, truncate
        self.single_observation_space, self.single_action_space = OBS_SPACE, ACTION_SPACE
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.num_envs, 3), np.float32)
        self.action_space = spaces.MultiDiscrete([2] * self.num_envs)
        self.k = np.zeros(self.num_envs, np.int64)
        self.t = np.zeros(self.num_envs, np.int64)
        self.steps = 0
        self.ends: list[tuple[int, int, np.ndarray, bool]] = []
        self.rewards: list[np.ndarray] = []

    def _obs(self, i: int) -> np.ndarray:
        return 0.1 * np.array([i + 1, self.k[i], self.t[i]], np.float32)

    def _all_obs(self) -> np.ndarray:
        return np.stack([self._obs(i) for i in range(self.num_envs)])

    def reset(self, *, seed=None, options=None):
        self.k[:], self.t[:], self.steps = 0, 0, 0
        return self._all_obs(), {}

    def step(self, actions):
        rewards = np.zeros(self.num_envs, np.float32)
        terminated = np.zeros(self.num_envs, bool)
        truncated = np.zeros(self.num_envs, bool)
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in range(self.num_envs):
            self.k[i] += 1
            self.t[i] += 1
            rewards[i] = 1.0 + 0.5 * self.k[i]
            if self.t[i] == self.lengths[i]:
                final_obs[i] = self._obs(i)
                truncated[i], terminated[i] = self.truncate[i], not self.truncate[i]
                self.ends.append((self.steps, i, final_obs[i], bool(truncated[i])))
                self.k[i] += 1
                self.t[i] = 0
        self.steps += 1
        self.rewards.append(rewards.copy())
        info = {}
        ended = terminated | truncated
        if ended.any():
            info = {"final_obs": final_obs, "_final_obs": ended, "final_info": {}, "_final_info": ended}
        return self._all_obs(), rewards, terminated, truncated, info


# --- 2. truncation bootstrapping at SAME_STEP resets ---------------------------------------------------
def test_same_step_truncation_bootstraps_from_the_true_final_observation() -> None:
    """Guards: the SAME_STEP truncation bootstrap (``rewards[cut] += discount * V(final_obs)``)
    removed, or V taken from the next episode's first observation instead of info["final_obs"];
    also a terminated episode being bootstrapped."""
    weight, bias, gamma = [2.0, 1.0, -3.0], 0.5, 0.9
    value = lambda obs: float(np.dot(weight, obs) + bias)  # noqa: E731
    env = ScriptedSameStepEnv(lengths=(3, 4), truncate=(True, False))
    policy = linear_value_policy(weight, bias)
    rollout = collect(env, policy, num_steps=9, gamma=gamma)

    truncated = {(t, i): final for t, i, final, cut in env.ends if cut}
    terminated = {(t, i) for t, i, _, cut in env.ends if not cut}
    assert len(truncated) == 3 and len(terminated) == 2
    for t in range(9):
        for i in range(2):
            raw = env.rewards[t][i]
            if (t, i) in truncated:
                expected = raw + np.float32(gamma * value(truncated[t, i]))
                np.testing.assert_allclose(stored_truncation_reward(rollout, policy, gamma, t, i), expected, rtol=1e-6)
            else:
                assert rollout.rewards[t, i] == raw, (t, i)
    # The rollout's own bookkeeping: episode ends at both kinds of end, each kind kept apart.
    assert episode_ends(rollout) == set(truncated) | terminated
    assert {(int(t), int(i)) for t, i in zip(*np.nonzero(rollout.truncated))} == set(truncated)
    assert {(int(t), int(i)) for t, i in zip(*np.nonzero(rollout.terminated))} == terminated
    for (t, i), final in truncated.items():  # the true final observation, not the next episode's first
        np.testing.assert_array_equal(rollout.final_obs[t, i], final)


def test_ppo_return_at_a_truncated_step_is_reward_plus_discounted_final_value() -> None:
    """Guards (through the learner's returns, which survive moving the bootstrap into the learners):
    the SAME_STEP truncation bootstrap removed or taken from the next episode's first observation."""
    weight, bias, gamma = [2.0, 1.0, -3.0], 0.5, 0.9
    value = lambda obs: float(np.dot(weight, obs) + bias)  # noqa: E731
    env = ScriptedSameStepEnv(lengths=(3, 4), truncate=(True, False))
    policy = linear_value_policy(weight, bias)
    rollout = collect(env, policy, num_steps=9, gamma=gamma)
    learner = ppo(policy, discount_factor=gamma, gae_lambda=0.95, num_epoch=1, num_minibatch=1)
    learner.update(rollout)
    for t, i, final, cut in env.ends:
        raw = env.rewards[t][i]
        expected = float(raw) + gamma * value(final) if cut else float(raw)
        np.testing.assert_allclose(rollout.returns[t, i], expected, rtol=1e-5)


# --- 3. recurrent state reset at SAME_STEP episode starts --------------------------------------------
def test_gru_state_is_zero_at_every_same_step_episode_start() -> None:
    """Guards: the recurrent state never reset at SAME_STEP episode starts (the collector passing
    ``episode_start`` all False to ``policy.act``, or not setting it from ``dones``, or the GRU core
    ignoring episode starts): the value and log-probability stored at an episode's first step must
    be those of a fresh zero state."""
    env = ScriptedSameStepEnv(lengths=(3, 4), truncate=(True, False))
    policy = small_policy(seed=1, recurrent=True)
    rollout = collect(env, policy, num_steps=9, gamma=0.9)
    ended = {(t, i) for t, i, _, _ in env.ends}
    starts = [(t, i) for t in range(9) for i in range(2) if t == 0 or (t - 1, i) in ended]
    assert len(starts) == 2 + sum(t < 8 for t, _ in ended)

    with torch.no_grad():

        def fresh(t: int, i: int):
            out = policy.forward(rollout.obs[t, i][None], policy.initial_state(1), np.ones(1, bool))
            log_prob = out.dist.log_prob(torch.as_tensor(rollout.actions[t, i][None]))
            return float(out.value[0]), float(log_prob[0])

        for t, i in starts:
            value, log_prob = fresh(t, i)
            assert rollout.values[t, i] == pytest.approx(value, abs=1e-5), (t, i)
            assert rollout.log_probs[t, i] == pytest.approx(log_prob, abs=1e-5), (t, i)
        # The check has teeth: inside an episode the carried state does change the value.
        inside = [(t, i) for t in range(9) for i in range(2) if (t, i) not in starts]
        assert max(abs(rollout.values[t, i] - fresh(t, i)[0]) for t, i in inside) > 1e-3


# --- 4. the valid mask (NEXT_STEP reset steps) ------------------------------------------------------
def next_step_rollout(policy, garbage: bool) -> Rollout:
    """A NEXT_STEP rollout, T=8, N=3: env 0 ends at step 2 (step 3 only resets), env 1 at step 5
    (step 6 resets). ``garbage``: the reset steps carry huge rewards and values and a far-off
    stored log-probability; otherwise they are neutral. The real steps are the same either way."""
    steps, envs = 8, 3
    rng = np.random.default_rng(3)
    obs = rng.normal(size=(steps, envs, 3)).astype(np.float32)
    actions = rng.integers(0, 2, size=(steps, envs))
    rewards = rng.normal(size=(steps, envs)).astype(np.float32)
    dones = np.zeros((steps, envs), np.float32)
    dones[2, 0] = dones[5, 1] = 1.0
    valid = np.ones((steps, envs), bool)
    valid[3, 0] = valid[6, 1] = False
    starts = np.zeros((steps, envs), bool)
    starts[0] = True
    starts[4, 0] = starts[7, 1] = True  # the step after a reset step begins the new episode
    log_probs, values = policy_outputs(policy, obs, actions, starts)
    invalid = ~valid
    rewards[invalid] = 1e4 if garbage else 0.0
    if garbage:
        values[invalid] += 100.0
        log_probs[invalid] -= 5.0
    return make_rollout(
        obs,
        actions,
        log_probs,
        values,
        rewards,
        dones,
        rng.normal(size=envs),
        valid=valid,
        episode_starts=starts,
        state_size=policy.state_size,
    )


LOSS_METRICS = ("train/policy_gradient_loss", "train/value_loss", "train/entropy_loss")


@pytest.mark.parametrize(
    "algo, recurrent",
    [("reinforce", False), ("reinforce", True), ("ppo", True), ("ppo", False)],
)
def test_invalid_reset_steps_do_not_reach_the_losses(algo: str, recurrent: bool) -> None:
    """Guards: the ``valid`` mask (False on NEXT_STEP reset steps) ignored by REINFORCE, by recurrent
    PPO (the ``"valid" in batch`` branch of ``AutogradLoss.terms``) or by feed-forward PPO (the rows dropped
    in ``_tensors``): garbage on the reset steps must change no loss and no gradient."""
    results = []
    for garbage in (False, True):
        policy = small_policy(seed=2, recurrent=recurrent)
        if algo == "reinforce":
            learner = reinforce(policy, entropy_coef=0.01, discount_factor=0.9)
        else:
            learner = ppo(policy, num_epoch=1, num_minibatch=1, entropy_coef=0.01, gae_lambda=0.9)
        metrics = learner.update(next_step_rollout(policy, garbage))
        results.append(([metrics[key] for key in LOSS_METRICS], gradients(policy), parameters(policy)))
    (losses, grads, params), (garbage_losses, garbage_grads, garbage_params) = results
    np.testing.assert_allclose(garbage_losses, losses, rtol=1e-5, atol=1e-7)
    assert_same_tensors(garbage_grads, grads, atol=1e-6)
    assert_same_tensors(garbage_params, params, atol=1e-6)


# --- 5. PPO's KL early stop -------------------------------------------------------------------------
def kl_of(delta: float) -> float:
    """The approximate KL (k3) of a minibatch where every ratio is exp(delta)."""
    return float(np.exp(delta) - 1.0 - delta)


@pytest.mark.parametrize("kl_over_target, factor, stops", [(1.2, 1.5, False), (1.6, 1.5, True), (1.2, 1.0, True), (1.8, 2.0, False)])
def test_kl_early_stop_threshold_is_factor_times_target(kl_over_target: float, factor: float, stops: bool) -> None:
    """Guards: ``kl_stop_factor`` dropped (stopping at kl > kl_target) or replaced by a constant.
    One minibatch whose KL is known exactly (every ratio exp(0.2)) either steps or stops."""
    delta = 0.2
    policy = small_policy(seed=4)
    learner = ppo(policy, num_epoch=1, num_minibatch=1, kl_target=kl_of(delta) / kl_over_target, kl_stop_factor=factor)
    before = parameters(policy)
    metrics = learner.update(random_rollout(policy, seed=5, deltas=delta))
    assert metrics["train/early_stopped"] == float(stops)
    assert metrics["train/optimizer_steps"] == (0.0 if stops else 1.0)
    assert differs(parameters(policy), before) != stops


def test_update_counters_count_only_the_optimizer_steps_taken() -> None:
    """Guards: ``optimizer_steps`` / ``train/n_updates`` / ``train/optimizer_steps`` counting the
    planned epochs x minibatches instead of the steps taken before a KL early stop, and
    ``updates_done`` (the schedules' clock) not counting early-stopped updates."""
    policy = small_policy(seed=6)
    learner = ppo(policy, num_epoch=4, num_minibatch=4, learning_rate=0.02, kl_target=0.002)
    taken = count_optimizer_steps(learner)
    per_update = []
    # A rollout from the current policy (the first minibatch's KL is 0), then one whose KL is far
    # above the target at once (no step at all), then one from the current policy again.
    for update, delta in enumerate([0.0, 0.5, 0.0]):
        before, count = parameters(policy), len(taken)
        metrics = learner.update(random_rollout(policy, seed=7 + update, deltas=delta))
        steps = len(taken) - count
        per_update.append(steps)
        assert metrics["train/optimizer_steps"] == steps
        assert metrics["train/n_updates"] == sum(per_update) == learner.optimizer_steps
        assert learner.updates_done == update + 1
        assert differs(parameters(policy), before) == (steps > 0)
    assert per_update[1] == 0
    assert 1 <= per_update[0] < 16 and 1 <= per_update[2] < 16, per_update  # stopped mid-update


# --- 6. lr and clip schedules ----------------------------------------------------------------------
RATIO_OFFSETS = (np.arange(12) + 0.5) * 0.025  # |ratio - 1| = 0.0125 ... 0.2875, none near a clip value


def test_ppo_linear_lr_and_clip_schedules() -> None:
    """Guards: ``lr_schedule: linear`` or ``clip_schedule: linear`` ignored (the optimizer's lr and
    the clip PPO really uses, read from the clip fraction of ratios set by hand, at updates 0..3 of 4)."""
    policy = small_policy(seed=8)
    learner = ppo(policy, total_updates=4, learning_rate=0.01, lr_schedule="linear", clip_param=0.2, clip_schedule="linear", num_epoch=1, num_minibatch=1)
    deltas = np.log1p(RATIO_OFFSETS).reshape(3, 4)
    for update in range(4):
        left = 1.0 - update / 4
        metrics = learner.update(random_rollout(policy, seed=update, steps=3, envs=4, deltas=deltas))
        assert optimizer_lr(learner) == pytest.approx(0.01 * left)
        assert metrics["train/learning_rate"] == pytest.approx(0.01 * left)
        assert metrics["train/clip_range"] == pytest.approx(0.2 * left)
        assert metrics["train/clip_fraction"] == pytest.approx(np.mean(RATIO_OFFSETS > 0.2 * left), abs=1e-6)


def test_reinforce_linear_lr_schedule() -> None:
    """Guards: REINFORCE's ``lr_schedule: linear`` ignored (the optimizer's lr at updates 0..3 of 4)."""
    policy = small_policy(seed=9)
    learner = reinforce(policy, total_updates=4, learning_rate=0.01, lr_schedule="linear")
    for update in range(4):
        metrics = learner.update(random_rollout(policy, seed=update))
        assert optimizer_lr(learner) == pytest.approx(0.01 * (1.0 - update / 4))
        assert metrics["train/learning_rate"] == pytest.approx(0.01 * (1.0 - update / 4))


# --- 7. PPO's shuffle generator on resume ----------------------------------------------------------
@pytest.mark.parametrize("recurrent", [False, True])
def test_ppo_resume_continues_the_minibatch_shuffle(recurrent: bool) -> None:
    """Guards: ``PPO.load_state_dict`` not restoring ``generator`` (or any other learner state):
    two updates with a save/load of policy and learner in between equal two uninterrupted ones,
    with several minibatches per epoch so the shuffle matters."""
    config = dict(num_epoch=2, num_minibatch=4, learning_rate=0.01)
    policy = small_policy(seed=10, recurrent=recurrent)
    initial = copy.deepcopy(policy.state_dict())

    def rollout(policy, update: int) -> Rollout:
        return next_step_rollout(policy, garbage=False) if recurrent else random_rollout(policy, seed=11 + update)

    learner = ppo(policy, seed=3, **config)
    for update in range(2):
        learner.update(rollout(policy, update))
    uninterrupted = parameters(policy)

    policy = small_policy(seed=10, recurrent=recurrent)
    policy.load_state_dict(initial)
    learner = ppo(policy, seed=3, **config)
    learner.update(rollout(policy, 0))
    saved = round_trip({"model": policy.state_dict(), "algorithm": learner.state_dict()})
    resumed_policy = small_policy(seed=99, recurrent=recurrent)
    resumed_policy.load_state_dict(saved["model"])
    resumed = ppo(resumed_policy, seed=3, **config)
    resumed.load_state_dict(saved["algorithm"])
    resumed.update(rollout(resumed_policy, 1))
    assert_same_tensors(parameters(resumed_policy), uninterrupted, atol=1e-6)

    # The check has teeth: a learner with a fresh shuffle lands elsewhere.
    other = small_policy(seed=99, recurrent=recurrent)
    other.load_state_dict(saved["model"])
    fresh = ppo(other, seed=3, **config)
    state = dict(saved["algorithm"], generator=torch.Generator().manual_seed(3).get_state())
    fresh.load_state_dict(state)
    fresh.update(rollout(other, 1))
    assert differs(parameters(other), uninterrupted)


# --- 8. REINFORCE's policy loss is a mean over steps -------------------------------------------------
def test_reinforce_policy_loss_is_the_mean_over_steps() -> None:
    """Guards: REINFORCE's policy loss summed over time (or over steps and envs) instead of averaged
    when ``legacy_loss`` is False: the loss and its gradient equal -mean(log pi(a) * (G - V))."""
    gamma = 0.9
    dones = np.zeros((6, 3), np.float32)
    dones[2, 0] = dones[4, 1] = 1.0
    policy = small_policy(seed=12)
    rollout = random_rollout(policy, seed=13, steps=6, envs=3, dones=dones)
    reference = copy.deepcopy(policy)

    learner = reinforce(policy, discount_factor=gamma, entropy_coef=0.0, value_loss_coef=0.0, legacy_loss=False)
    metrics = learner.update(rollout)

    returns = np.zeros((6, 3))
    running = rollout.last_values.astype(np.float64)
    for t in range(5, -1, -1):
        running = rollout.rewards[t] + gamma * running * (1.0 - dones[t])
        returns[t] = running
    out = reference.forward(torch.as_tensor(rollout.obs.reshape(18, 3)))
    log_probs = out.dist.log_prob(torch.as_tensor(rollout.actions.reshape(-1)))
    advantages = torch.as_tensor(returns.reshape(-1), dtype=torch.float32) - out.value.detach()
    expected = -(log_probs * advantages).mean()
    expected.backward()
    assert metrics["train/policy_gradient_loss"] == pytest.approx(float(expected.detach()), rel=1e-5)
    assert_same_tensors(gradients(policy), [p.grad if p.grad is not None else torch.zeros_like(p) for p in reference.parameters()], atol=1e-6)


# --- 9. a bce value head stores tanh values ---------------------------------------------------------
def bce_trainer(tmp_path: Path) -> Trainer:
    config = resolve(
        "ppo",
        "CartPole-v1",
        overrides=["run.progress=false", "ppo.value_loss=bce", "ppo.num_steps=8"],
        extra={"total_steps": 64, "num_envs": 2, "seed": 0, "logdir": str(tmp_path)},
    )
    return Trainer(config)


def collector_obs(trainer: Trainer):
    """The observation the collector will act on next (what ``last_values`` is the value of)."""
    return trainer.collector.obs


def test_bce_value_head_values_are_stored_as_tanh(tmp_path: Path) -> None:
    """Guards: a ``value_loss: bce`` head's values read by the learner on [0, 1] (sigmoid) or raw
    instead of tanh on [-1, 1] (``on_return_scale`` applied by the learner to the collector's raw
    values and to ``last_values``)."""
    trainer = bce_trainer(tmp_path)
    policy = trainer.policy
    with torch.no_grad():  # raw values of a few units, where tanh, sigmoid and identity all differ
        policy.value_head.linear.weight.mul_(5.0)
        policy.value_head.linear.bias.fill_(-0.5)
    rollout = trainer.collector.collect()
    with torch.no_grad():
        raw = policy.value(rollout.obs.reshape(-1, *rollout.obs.shape[2:])).numpy().reshape(rollout.values.shape)
        raw_last = policy.value(collector_obs(trainer)).numpy()
    np.testing.assert_allclose(rollout.values, raw, atol=1e-5)  # the collector keeps the head's output
    np.testing.assert_allclose(rollout.last_values, raw_last, atol=1e-5)
    trainer.algo.update(rollout)
    scaled = rollout.scaled_values
    np.testing.assert_allclose(scaled, np.tanh(raw), atol=1e-5)
    assert (scaled < 0).any() and np.abs(scaled).max() <= 1.0 and np.abs(raw).max() > 0.5
    # The last step's return bootstraps from tanh(raw_last) where the episode goes on.
    gamma, last = trainer.config.algorithm.discount_factor, rollout.num_steps - 1
    valid_last = np.ones(rollout.num_envs, bool) if rollout.valid is None else rollout.valid[last]
    alive = ~rollout.dones[last] & valid_last
    expected = rollout.rewards[last] + gamma * np.tanh(raw_last)
    np.testing.assert_allclose(rollout.returns[last][alive], expected[alive], atol=1e-5)


def test_reinforce_reads_a_bce_heads_values_on_the_return_scale() -> None:
    """Guards: REINFORCE's Monte-Carlo returns bootstrapped from the raw (logit-scale) last value of a
    ``bce`` head, or its monitors given raw values, instead of tanh of them."""
    policy = small_policy(seed=3)
    rollout = random_rollout(policy, seed=4, steps=5, envs=3)
    rollout.last_values[:] = np.array([2.0, -3.0, 0.5], np.float32)  # raw outputs, far from tanh of them
    learner = reinforce(policy, value_loss="bce", discount_factor=0.5, cut_returns=False)
    learner.update(rollout)
    np.testing.assert_allclose(rollout.scaled_values, np.tanh(rollout.values), rtol=1e-6)
    expected_last = rollout.rewards[-1] + 0.5 * np.tanh(rollout.last_values)  # no episode ends in this rollout
    np.testing.assert_allclose(rollout.returns[-1], expected_last, rtol=1e-5)
