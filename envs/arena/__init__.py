"""The Arena (issue 12, in progress): bodies in a walled map fighting over a hill.

Built so far: :mod:`envs.arena.rays`, the batched analytic ray casts the bodies see through.
The batched physics core and its Gymnasium and PettingZoo adapters come next.
"""
