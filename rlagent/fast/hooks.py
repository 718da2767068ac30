"""Whether torch would run user hooks on a module: the one question every shortcut past
``nn.Module.__call__`` must ask, so that a hook a user registers fires (or the shortcut steps aside).

Used by the MLP encoder's ``F.linear`` shortcut, the numpy rollout actor and the hand-derived
gradient; kept free of any rlagent import so :mod:`rlagent.nets` can use it.
"""

from __future__ import annotations

from torch import nn
from torch.nn.modules import module as _module

_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks", "_global_backward_pre_hooks")


def global_module_hooks() -> bool:
    """Hooks registered for every module (``torch.nn.modules.module.register_module_forward_hook``...)."""
    return any(getattr(_module, name, None) for name in _GLOBAL_HOOKS)


def module_hooked(module: nn.Module) -> bool:
    """Forward or backward hooks on this module itself (not its children), or on every module."""
    return (
        bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks or getattr(module, "_backward_pre_hooks", None))
        or global_module_hooks()
    )


def any_hooks(root: nn.Module, parameters: bool = True) -> bool:
    """Any module hook in ``root``'s tree, any global module hook, or (``parameters``) any gradient
    hook on its parameters."""
    if global_module_hooks():
        return True
    if any(module_hooked(m) for m in root.modules()):
        return True
    if parameters:
        return any(p._backward_hooks or getattr(p, "_post_accumulate_grad_hooks", None) for p in root.parameters())
    return False
