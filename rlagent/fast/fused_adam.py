"""``FusedAdam``: ``torch.optim.Adam(fused=True)`` with the per-step Python overhead taken out.

On a small policy the fused kernel is a small part of ``Adam.step()``: most of the call is
rebuilding the parameter and state lists (``_init_group``), grouping them by device and dtype,
the profiling wrapper around every ``step``, and a ``_foreach_add_`` that increments one scalar
step tensor per parameter, each a separate op. ``FusedAdam`` *is* a ``torch.optim.Adam(fused=True)``
(same ``param_groups``, ``state``, ``state_dict`` format and ``load_state_dict``: checkpoints move
freely between the two) and only its ``step`` differs. It builds the lists once; the step
counters of a list become views of one small tensor, so one ``add_`` increments them all; then
each step reads the current hyperparameters from ``param_groups`` (``PPO.update`` sets ``lr`` there)
and calls ``torch._fused_adam_`` exactly as torch's fused path does, so the results are the same
bit for bit.

Everything the plan does not cover runs ``torch.optim.Adam.step`` unchanged, through torch's own
profiling and hook wrapper: the first step (which creates the state), a closure, a parameter
without a gradient, a tensor learning rate, amsgrad/maximize/capturable/differentiable, a
``GradScaler``'s ``grad_scale``/``found_inf``, registered step hooks, a running profiler, and any
torch whose private ``_fused_adam_`` is missing or no longer takes these arguments (checked once
per device and dtype on a scratch tensor). ``load_state_dict`` and ``add_param_group`` drop the
plan, so it is rebuilt on the new state; replacing ``state`` entries by hand is not noticed.
Building the plan puts new (equal) "step" tensors into ``state``: a ``state_dict()`` taken before
that (before the second step, or between a load and the next step) keeps the old ones, which
stop counting; one taken to be saved right away, as checkpoints do, is unaffected.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, NamedTuple

import torch
import torch.optim.optimizer as _torch_optimizer
from torch import Tensor

_KERNEL_ERRORS = (AttributeError, TypeError, RuntimeError, NotImplementedError)
_UNSUPPORTED_FLAGS = ("amsgrad", "maximize", "capturable", "differentiable", "decoupled_weight_decay")
# Hooks registered for every optimizer, and whether a profiler runs: torch's step wrapper serves
# both, so either sends a step there. Private names; were one to go, every step goes there.
_GLOBAL_HOOKS = tuple(getattr(_torch_optimizer, name, None) for name in ("_global_optimizer_pre_hooks", "_global_optimizer_post_hooks"))
_profiler_enabled: Callable[[], bool] = getattr(torch._C._autograd, "_profiler_enabled", lambda: True)


def _unwrapped_adam_step() -> Callable[..., Any]:
    """``torch.optim.Adam.step`` without torch's profiling wrapper (added when an Adam is first built)."""
    step = torch.optim.Adam.step
    return step.__wrapped__ if getattr(step, "hooked", False) and hasattr(step, "__wrapped__") else step


def _wrapped_adam_step() -> Callable[..., Any]:
    """torch's own step, with its profiling scope and hooks: what FusedAdam runs whenever it does
    not take its fast path, so hooks and profiles see that step as they would see Adam's."""
    wrap = getattr(torch.optim.Optimizer, "profile_hook_step", None)
    return wrap(_unwrapped_adam_step()) if wrap is not None else torch.optim.Adam.step


_torch_step = _wrapped_adam_step()


class _Bucket(NamedTuple):
    """The tensors of one param group on one device and dtype, in the group's order."""

    group: dict[str, Any]
    params: list[Tensor]
    exp_avgs: list[Tensor]
    exp_avg_sqs: list[Tensor]
    steps: list[Tensor]  # 0-dim views of step_counts: the tensors the state holds as "step"
    step_counts: Tensor


def fused_kernel_works(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether ``torch._fused_adam_`` runs with the arguments ``FusedAdam`` passes, on a scratch tensor.

    One Adam step from zero state moves a parameter by about ``-lr * sign(grad)``; anything else
    (a missing op, a changed signature, an unsupported device or dtype) means: do not use it.
    """
    param = torch.zeros(1, device=device, dtype=dtype)
    moments = [torch.zeros_like(param), torch.zeros_like(param)]
    step = torch.ones((), device=device, dtype=torch.float32)
    try:
        torch._fused_adam_(
            [param], [torch.ones_like(param)], [moments[0]], [moments[1]], [], [step],
            lr=0.5, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
            amsgrad=False, maximize=False, grad_scale=None, found_inf=None,
        )  # fmt: skip
    except _KERNEL_ERRORS:
        return False
    return abs(float(param) + 0.5) < 1e-3


def _fused_step_tensor(step: Any, param: Tensor) -> bool:
    """The step counter fused Adam keeps: a float32 scalar tensor on the parameter's device."""
    return torch.is_tensor(step) and step.dim() == 0 and step.dtype == torch.float32 and step.device == param.device


class FusedAdam(torch.optim.Adam):
    """``torch.optim.Adam(..., fused=True)`` whose steps call the fused kernel on lists built once."""

    _plan: list[_Bucket] | None = None  # a class default: add_param_group runs inside Optimizer.__init__

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # load_state_dict ends here, with new state tensors: the old lists would update stale ones.
        self._plan = None
        super().__setstate__(state)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self._plan = None
        super().add_param_group(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Gradients to None directly: ``Optimizer.zero_grad`` adds a profiling scope and grouping."""
        if not set_to_none:
            super().zero_grad(set_to_none=False)
            return
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        if closure is None and not self._observed():
            if self._plan is None:
                self._plan = self._build_plan()
            if self._plan and self._fast_step(self._plan):
                self._optimizer_step_code()  # where the profiler's Python tracer looks for steps
                return None
        return _torch_step(self, closure)

    # Tells Optimizer.__init__ not to wrap this step in its profiling wrapper: the fast path is
    # taken only when nothing would observe that wrapper, and every other step goes through it.
    step.hooked = True  # type: ignore[attr-defined]

    def _observed(self) -> bool:
        """Step hooks or a profiler: what torch's step wrapper serves."""
        if self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks:
            return True
        return any(hooks is None or len(hooks) > 0 for hooks in _GLOBAL_HOOKS) or _profiler_enabled()

    def _fast_step(self, plan: list[_Bucket]) -> bool:
        """One Adam step for every bucket; False (nothing changed) where torch's own step must run."""
        if getattr(self, "grad_scale", None) is not None or getattr(self, "found_inf", None) is not None:
            return False
        grads: list[list[Tensor]] = []
        for bucket in plan:
            group = bucket.group
            if isinstance(group["lr"], Tensor) or any(group[flag] for flag in _UNSUPPORTED_FLAGS):
                return False
            bucket_grads = []
            for p in bucket.params:
                if p.grad is None:
                    return False
                bucket_grads.append(p.grad)
            grads.append(bucket_grads)
        with torch.no_grad():
            for bucket, bucket_grads in zip(plan, grads):
                group = bucket.group
                beta1, beta2 = group["betas"]
                bucket.step_counts.add_(1)
                torch._fused_adam_(
                    bucket.params, bucket_grads, bucket.exp_avgs, bucket.exp_avg_sqs, [], bucket.steps,
                    lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                    amsgrad=False, maximize=False, grad_scale=None, found_inf=None,
                )  # fmt: skip
        return True

    def _build_plan(self) -> list[_Bucket] | None:
        """The buckets; None while some state is missing (before the first step: try again after
        it), an empty list where the plan cannot serve (until ``load_state_dict``/``add_param_group``)."""
        plan: list[_Bucket] = []
        kernel_ok: dict[tuple[torch.device, torch.dtype], bool] = self.__dict__.setdefault("_kernel_ok", {})
        for group in self.param_groups:
            if not group.get("fused") or any(flag not in group for flag in _UNSUPPORTED_FLAGS):
                return []
            members: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
            for p in group["params"]:
                key = (p.device, p.dtype)
                if key not in kernel_ok:
                    kernel_ok[key] = fused_kernel_works(*key)
                if not kernel_ok[key] or p.is_sparse or torch.is_complex(p):
                    return []
                state = self.state.get(p)
                if not state:
                    return None
                step = state.get("step")
                if not _fused_step_tensor(step, p) or "exp_avg" not in state or "exp_avg_sq" not in state:
                    return []
                members.setdefault(key, []).append(p)
            plan.extend(self._bucket(group, params) for params in members.values())
        return plan

    def _bucket(self, group: dict[str, Any], params: list[Tensor]) -> _Bucket:
        """One bucket; its parameters' step tensors are replaced by views of one, same values."""
        states = [self.state[p] for p in params]
        counts = torch.stack([state["step"].detach() for state in states])
        steps = list(counts.unbind())
        for state, step in zip(states, steps):
            state["step"] = step
        return _Bucket(group, params, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], steps, counts)
