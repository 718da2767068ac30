"""The fast paths of the update step: ``rlagent.fast.activations.tanh`` and ``rlagent.fast.fused_adam.FusedAdam``.

Each must be what it replaces: tanh to float rounding (values and gradients), FusedAdam bit for
bit against ``torch.optim.Adam(fused=True)``, including across a saved and reloaded state.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

import rlagent.fast.fused_adam
from rlagent.algos.optimizing import make_optimizer
from rlagent.config import resolve
from rlagent.fast.activations import MIN_ELEMENTS, tanh
from rlagent.fast.fused_adam import FusedAdam, fused_kernel_works
from rlagent.nets.encoders import ACTIVATIONS, MLPEncoder

FLOAT32_MAX = torch.finfo(torch.float32).max


# --- tanh --------------------------------------------------------------------------------------
def _float32_sweep() -> torch.Tensor:
    """Values across the float32 range: dense near 0 where tanh bends, tiny ones, huge ones, infinities."""
    dense = torch.linspace(-12.0, 12.0, 1_200_001)
    tiny = torch.tensor([0.0, -0.0, 1e-45, -1e-45, 1e-38, -1e-38, 1e-20, -1e-20, 1e-7, -1e-7])
    large = torch.tensor([9.0, -9.0, 20.0, -20.0, 44.0, -44.0, 88.0, -88.0, 89.0, -89.0, 1e4, -1e4, 1e30, -1e30, FLOAT32_MAX, -FLOAT32_MAX])
    magnitudes = torch.logspace(-30, 38, 20_000)
    return torch.cat([dense, tiny, large, magnitudes, -magnitudes, torch.tensor([float("inf"), float("-inf")])])


def test_tanh_matches_torch_tanh_over_the_float32_range() -> None:
    x = _float32_sweep()
    assert x.numel() >= MIN_ELEMENTS
    y = tanh(x)
    assert y.dtype == torch.float32 and y.shape == x.shape
    exact = torch.tanh(x.double())
    assert (y.double() - exact).abs().max().item() <= 1e-6
    assert (y - torch.tanh(x)).abs().max().item() <= 1e-6
    assert y.abs().max().item() <= 1.0
    assert y[-2].item() == 1.0 and y[-1].item() == -1.0


def test_tanh_keeps_nan_and_leaves_its_input_alone() -> None:
    x = torch.randn(100, 64)
    x[3, 5] = float("nan")
    before = x.clone()
    y = tanh(x)
    assert torch.isnan(y[3, 5]) and torch.isnan(y).sum().item() == 1
    assert torch.equal(x.nan_to_num(), before.nan_to_num()) and torch.isnan(x[3, 5])


def test_tanh_float64_is_close_to_double_precision() -> None:
    x = torch.randn(128, 64, dtype=torch.float64) * 4
    y = tanh(x)
    assert y.dtype == torch.float64
    assert (y - torch.tanh(x)).abs().max().item() <= 1e-14


@pytest.mark.parametrize("shape", [(8, 8), (64, 64)])
def test_tanh_gradient_passes_gradcheck_in_float64(shape: tuple[int, int]) -> None:
    x = (torch.randn(*shape, dtype=torch.float64) * 3).requires_grad_(True)
    assert torch.autograd.gradcheck(tanh, (x,), fast_mode=x.numel() > 100)


def test_tanh_gradient_agrees_with_torch_tanh_in_float32() -> None:
    x = torch.randn(256, 64) * 3
    grad = torch.randn(256, 64)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    tanh(a).backward(grad)
    torch.tanh(b).backward(grad)
    assert torch.allclose(a.grad, b.grad, atol=1e-6)


@pytest.mark.parametrize("context", [torch.inference_mode, torch.no_grad])
def test_tanh_without_autograd(context) -> None:
    weight = torch.randn(64, 4, requires_grad=True)
    obs = torch.randn(256, 4)
    with context():
        y = tanh(obs @ weight.t())
    assert not y.requires_grad
    assert torch.allclose(y, torch.tanh(obs @ weight.detach().t()), atol=1e-6)


def test_small_and_low_precision_tensors_get_torch_tanh_itself() -> None:
    small = torch.randn(8, 64)
    assert torch.equal(tanh(small), torch.tanh(small))
    for dtype in (torch.bfloat16, torch.float16):
        x = torch.randn(256, 64).to(dtype)
        assert torch.equal(tanh(x), torch.tanh(x))


def test_tanh_on_other_devices_is_torch_tanh() -> None:
    meta = torch.empty(256, 64, device="meta")
    assert tanh(meta).device.type == "meta" and tanh(meta).shape == meta.shape
    if torch.cuda.is_available():
        x = torch.randn(256, 64, device="cuda")
        assert torch.equal(tanh(x), torch.tanh(x))


def test_mlp_encoder_uses_the_registered_tanh() -> None:
    assert ACTIVATIONS["tanh"] is tanh
    encoder = MLPEncoder(4, (64, 64), "tanh")
    assert encoder.activation is tanh
    x = torch.randn(512, 4)
    with torch.no_grad():
        fast = encoder(x)
        reference = torch.tanh(torch.nn.functional.linear(torch.tanh(torch.nn.functional.linear(x, *_wb(encoder, 0))), *_wb(encoder, 1)))
    assert torch.allclose(fast, reference, atol=1e-6)
    assert torch.allclose(encoder(x), reference, atol=1e-6)  # under autograd


def _wb(encoder: MLPEncoder, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    return encoder.layers[i].weight, encoder.layers[i].bias


# --- FusedAdam ---------------------------------------------------------------------------------
SHAPES = [(64, 4), (64,), (64, 64), (64,), (2, 64), (2,), (1, 64), (1,)]


def _params(seed: int = 0, dtypes: tuple[torch.dtype, ...] = (torch.float32,)) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen).to(dtypes[i % len(dtypes)]).requires_grad_(True) for i, s in enumerate(SHAPES)]


def _clone(params: list[torch.Tensor]) -> list[torch.Tensor]:
    return [p.detach().clone().requires_grad_(True) for p in params]


def _run(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], steps: range, skip_every: int = 0) -> None:
    """Steps with seeded gradients over several magnitudes, a decaying lr set as PPO does, and
    (with ``skip_every``) some steps where one parameter has no gradient."""
    for i in steps:
        gen = torch.Generator().manual_seed(1000 + i)
        optimizer.zero_grad(set_to_none=True)
        for j, p in enumerate(params):
            if skip_every and i % skip_every == 0 and j == 1:
                continue
            p.grad = (torch.randn(p.shape, generator=gen) * 10.0 ** (i % 5 - 2)).to(p.dtype)
        optimizer.param_groups[0]["lr"] = 1e-3 * (1 - i / 1000)
        optimizer.step()


def _adam_pair() -> tuple[torch.optim.Optimizer, list[torch.Tensor], FusedAdam, list[torch.Tensor]]:
    """torch's fused Adam and ours at lr 1e-3, each on its own copy of the same parameters."""
    reference_params = _params()
    params = _clone(reference_params)
    return torch.optim.Adam(reference_params, lr=1e-3, fused=True), reference_params, FusedAdam(params, lr=1e-3), params


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def _same_state(a: torch.optim.Optimizer, b: torch.optim.Optimizer, pa: list[torch.Tensor], pb: list[torch.Tensor]) -> bool:
    return all(all(torch.equal(a.state[x][key], b.state[y][key]) for key in ("step", "exp_avg", "exp_avg_sq")) for x, y in zip(pa, pb))


@pytest.mark.parametrize(
    "kwargs, dtypes, skip_every",
    [
        ({"eps": 1e-5}, (torch.float32,), 0),
        ({"eps": 1e-8, "weight_decay": 0.01, "betas": (0.8, 0.99)}, (torch.float32,), 0),
        ({"eps": 1e-5}, (torch.float32, torch.float64), 7),
    ],
)
def test_fused_adam_is_torch_fused_adam_bit_for_bit(kwargs: dict, dtypes: tuple, skip_every: int) -> None:
    reference_params = _params(dtypes=dtypes)
    params = _clone(reference_params)
    reference = torch.optim.Adam(reference_params, lr=1e-3, fused=True, **kwargs)
    ours = FusedAdam(params, lr=1e-3, **kwargs)
    _run(reference, reference_params, range(300), skip_every)
    _run(ours, params, range(300), skip_every)
    assert ours._plan, "the fast path never ran"
    assert _same(params, reference_params) and _same_state(ours, reference, params, reference_params)


def test_fused_adam_with_several_param_groups_and_one_added_later() -> None:
    reference_params = _params()
    params = _clone(reference_params)
    reference = torch.optim.Adam([{"params": reference_params[:4]}, {"params": reference_params[4:], "lr": 3e-4}], lr=1e-3, fused=True)
    ours = FusedAdam([{"params": params[:4]}, {"params": params[4:], "lr": 3e-4}], lr=1e-3)
    for optimizer, ps in ((reference, reference_params), (ours, params)):
        _run(optimizer, ps, range(50))
        extra = torch.ones(3, requires_grad=True)
        optimizer.add_param_group({"params": [extra], "lr": 1e-2})
        ps.append(extra)
        _run(optimizer, ps, range(50, 60))
    assert ours._plan and _same(params, reference_params) and _same_state(ours, reference, params, reference_params)


@pytest.mark.parametrize("save_from, load_into", [(FusedAdam, FusedAdam), ("torch", FusedAdam), (FusedAdam, "torch")])
def test_state_dict_round_trip_resumes_exactly(save_from, load_into) -> None:
    def make(kind, params):
        return torch.optim.Adam(params, lr=1e-3, eps=1e-5, fused=True) if kind == "torch" else FusedAdam(params, lr=1e-3, eps=1e-5)

    straight_params = _params()
    straight = make(load_into, straight_params)
    _run(straight, straight_params, range(60))

    first_params = _params()
    first = make(save_from, first_params)
    _run(first, first_params, range(25))
    buffer = io.BytesIO()
    torch.save({"optimizer": first.state_dict(), "params": [p.detach() for p in first_params]}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    resumed_params = [p.clone().requires_grad_(True) for p in saved["params"]]
    resumed = make(load_into, resumed_params)
    resumed.load_state_dict(saved["optimizer"])
    _run(resumed, resumed_params, range(25, 60))
    assert _same(resumed_params, straight_params) and _same_state(resumed, straight, resumed_params, straight_params)


def test_load_state_dict_mid_run_rebuilds_the_plan() -> None:
    params = _params()
    optimizer = FusedAdam(params, lr=1e-3)
    _run(optimizer, params, range(10))
    snapshot = torch.load(_saved(optimizer.state_dict()), weights_only=True)
    values = [p.detach().clone() for p in params]
    _run(optimizer, params, range(10, 20))
    after_twenty = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, v in zip(params, values):
            p.copy_(v)
    optimizer.load_state_dict(snapshot)
    _run(optimizer, params, range(10, 20))
    assert _same(params, after_twenty)


def _saved(obj: object) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


def test_step_hooks_run_and_results_stay_the_same() -> None:
    reference, reference_params, ours, params = _adam_pair()
    calls = {"pre": 0, "post": 0}
    ours.register_step_pre_hook(lambda *_: calls.__setitem__("pre", calls["pre"] + 1))
    handle = ours.register_step_post_hook(lambda *_: calls.__setitem__("post", calls["post"] + 1))
    _run(reference, reference_params, range(20))
    _run(ours, params, range(10))
    handle.remove()
    _run(ours, params, range(10, 20))
    assert calls == {"pre": 20, "post": 10}
    assert _same(params, reference_params)


def test_a_profiler_sees_the_step_and_results_stay_the_same() -> None:
    reference, reference_params, ours, params = _adam_pair()
    _run(reference, reference_params, range(10))
    _run(ours, params, range(5))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        _run(ours, params, range(5, 10))
    assert _same(params, reference_params)
    assert sum(event.name == "Optimizer.step#FusedAdam.step" for event in profiler.events()) == 5


def test_closure_is_evaluated_and_its_loss_returned() -> None:
    param = torch.tensor([1.0, -2.0], requires_grad=True)
    optimizer = FusedAdam([param], lr=0.1)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (param**2).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == pytest.approx(5.0)
    assert param[0].item() < 1.0 and param[1].item() > -2.0


def test_without_a_usable_kernel_it_is_torch_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rlagent.fast.fused_adam, "fused_kernel_works", lambda device, dtype: False)
    reference, reference_params, ours, params = _adam_pair()
    _run(reference, reference_params, range(30))
    _run(ours, params, range(30))
    assert ours._plan == [] and _same(params, reference_params)


def test_kernel_check_rejects_a_changed_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fused_kernel_works(torch.device("cpu"), torch.float32)

    def other_signature(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1):
        raise AssertionError("never called with keywords it lacks")

    monkeypatch.setattr(torch, "_fused_adam_", other_signature)
    assert not fused_kernel_works(torch.device("cpu"), torch.float32)
    monkeypatch.delattr(torch, "_fused_adam_")
    assert not fused_kernel_works(torch.device("cpu"), torch.float32)


def test_zero_grad() -> None:
    params = _params()
    optimizer = FusedAdam(params)
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in params)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_a_pickled_fused_adam_keeps_working() -> None:
    import copy
    import pickle

    params = _params()
    optimizer = FusedAdam(params, lr=1e-3)
    _run(optimizer, params, range(5))
    clone = pickle.loads(pickle.dumps({"params": params, "optimizer": optimizer}))
    reference_params = _clone(clone["params"])
    reference = torch.optim.Adam(reference_params, lr=1e-3, fused=True)
    reference.load_state_dict(copy.deepcopy(clone["optimizer"].state_dict()))  # loading aliases the tensors
    _run(clone["optimizer"], clone["params"], range(5, 15))
    _run(reference, reference_params, range(5, 15))
    assert clone["optimizer"]._plan and _same(clone["params"], reference_params)


def test_make_optimizer_picks_fused_adam_and_keeps_rmsprop(tmp_path: Path) -> None:
    params = _params()
    adam = resolve("ppo", "CartPole-v1", extra={"logdir": str(tmp_path)}).algorithm
    assert isinstance(make_optimizer(params, adam), FusedAdam)
    rmsprop = resolve("a2c", "CartPole-v1", extra={"logdir": str(tmp_path)}).algorithm
    assert rmsprop.optimizer == "rmsprop" and isinstance(make_optimizer(params, rmsprop), torch.optim.RMSprop)


# --- PPO's gradient bookkeeping ------------------------------------------------------------------
def _reference_clip(parameters: list[torch.Tensor], group_index: dict[str, torch.Tensor], max_norm: float) -> dict[str, torch.Tensor]:
    """The gradient clipping as it was written before the slices: the values the metrics must keep."""
    grads = [p.grad for p in parameters]
    squares = torch.stack(torch._foreach_norm(grads)).square()
    total = squares.sum().sqrt()
    result = {name: squares[index].sum().sqrt() for name, index in group_index.items()}
    result["total"] = total
    torch._foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp(max=1.0))
    return result


@pytest.mark.parametrize("shuffled", [False, True])
def test_clip_gradients_keeps_its_norms_and_clipping_bit_for_bit(tmp_path: Path, shuffled: bool) -> None:
    import gymnasium as gym

    from rlagent.algos.ppo import PPO
    from rlagent.nets import PolicyConfig, build_policy

    env = gym.make("CartPole-v1")
    policy = build_policy(env.observation_space, env.action_space, PolicyConfig(encoder="mlp", separate_critic=True))
    config = resolve("ppo", "CartPole-v1", overrides=["ppo.max_grad_norm=0.5"], extra={"logdir": str(tmp_path)}).algorithm
    ppo = PPO(policy, config, total_updates=1, device=torch.device("cpu"))
    if shuffled:  # parts that are not runs of consecutive parameters keep their index tensors
        ppo.gradient.parts = {"odd": torch.arange(1, 12, 2), "even": torch.arange(0, 12, 2), "none": torch.arange(0)}
    gen = torch.Generator().manual_seed(0)
    for trial in range(50):
        grads = [torch.randn(p.shape, generator=gen) * 10.0 ** (trial % 7 - 4) for p in ppo.gradient.parameters]
        reference_params = [torch.zeros_like(p) for p in ppo.gradient.parameters]
        for p, r, g in zip(ppo.gradient.parameters, reference_params, grads):
            p.grad, r.grad = g.clone(), g.clone()
        ours = ppo.gradient.part_norms(ppo.gradient.clip_gradients())
        expected = _reference_clip(reference_params, ppo.gradient.parts, 0.5)
        assert list(ours) == list(expected)
        assert all(torch.equal(ours[k], expected[k]) for k in expected)
        assert all(torch.equal(p.grad, r.grad) for p, r in zip(ppo.gradient.parameters, reference_params))
