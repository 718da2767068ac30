"""A trial task's env options, read from its ``__init__``: the one place a task declares them.

Before this, PWM's options (``task``, ``preset``, ``epoch_len``, ... ``obs_noise``) were written out
four times: in the task class, in the Gymnasium env factory, in the vector env factory, and in the
positional call each factory made. A new task had to copy all of them and keep them in step. Now the
task's ``__init__`` is the declaration, and everything else derives from it:

- :func:`task_options` turns it into an :class:`inspect.Signature` of env options, dropping what is
  no env option (``batch_size``: the vector env's ``num_envs`` says it; ``seed``: ``reset`` says it)
  and, where ``__init__`` forwards ``**kwargs`` to :class:`~envs.trial_task.TrialTask`, adding the
  base's shared keyword options (``r_wrong``, ``r_early``, ``abort_on_early``, ``obs_noise``) with
  the base's defaults, unless the task declares one itself to give it its own default;
- the factories of :mod:`envs.trial_task_env` carry that signature, so ``inspect.signature`` (which
  :func:`rlagent.gym_envs.env_parameters` reads), ``help()`` and an unknown option's ``TypeError``
  all see the task's options without a copy of them.

Checking the values stays in the task (``check_int`` and the like): that is where the rules live.
"""

from __future__ import annotations

import inspect
from typing import Any

from envs.trial_task import TrialTask

NOT_OPTIONS = ("self", "batch_size", "seed")


def _own_parameters(cls: type) -> tuple[list[inspect.Parameter], bool]:
    """``cls.__init__``'s named parameters (less the non-options) and whether it takes ``**kwargs``."""
    parameters = inspect.signature(vars(cls)["__init__"]).parameters.values()
    named = [p for p in parameters if p.name not in NOT_OPTIONS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    forwards = any(p.kind is p.VAR_KEYWORD for p in parameters)
    return named, forwards


def task_options(task_class: type[TrialTask]) -> inspect.Signature:
    """The env options of ``task_class``, in declaration order, every one with a default.

    Walks up the classes while an ``__init__`` forwards ``**kwargs``, so a task that passes the
    shared options through to :class:`TrialTask` offers them without naming them. Options become
    positional-or-keyword (``pwm_env("pwm3")`` keeps working) and must have defaults: an env is
    made from ``gymnasium.make(id)`` with none given.
    """
    options: dict[str, inspect.Parameter] = {}
    for cls in task_class.__mro__:
        if cls is object or "__init__" not in vars(cls):
            continue
        named, forwards = _own_parameters(cls)
        for parameter in named:
            if parameter.default is parameter.empty and cls is not TrialTask:
                raise TypeError(f"{task_class.__name__}.__init__: option {parameter.name!r} needs a default")
            if parameter.name not in options and parameter.default is not parameter.empty:
                options[parameter.name] = parameter.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if not forwards:
            break
    return inspect.Signature(list(options.values()))


def bind_options(signature: inspect.Signature, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``args``/``kwargs`` as keyword options of ``signature``; a wrong name or count raises the
    ``TypeError`` a plain function named ``name`` would."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{name}() {error}") from None
    return dict(bound.arguments)
