"""The optional speed paths for small MLP policies, behind one seam (:mod:`rlagent.fast.paths`).

At the batch sizes of RL on a laptop a torch call costs its dispatch, not its arithmetic, so for
plain MLP actor-critics (the usual choice for vector observations) the package can step the
rollout with a numpy copy of the policy (:mod:`~rlagent.fast.numpy_actor`) and compute PPO's
minibatch gradient by hand (:mod:`~rlagent.fast.analytic_loss`, with the loss terms' gradients in
:mod:`~rlagent.fast.loss_gradients` and the network's backward pass in
:mod:`~rlagent.fast.mlp_backprop`; :mod:`~rlagent.fast.mlp_layout` says which policies qualify).
For plain MLP Q-networks (the DQN family) the same two paths exist: a numpy epsilon-greedy actor
(:mod:`~rlagent.fast.q_actor`) and the TD-loss gradient by hand (:mod:`~rlagent.fast.td_gradient`;
:mod:`~rlagent.fast.q_layout` says which networks qualify, :mod:`~rlagent.fast.q_mlp` runs them).
:mod:`~rlagent.fast.fused_adam` and :mod:`~rlagent.fast.activations` speed up torch's own path.
Every fast path is checked against the plain one in the tests. ``run.fast: off`` turns off the two
that replace a whole computation (the numpy actor and the hand-derived gradient); FusedAdam
(torch's fused Adam, bit for bit), the ``F.linear`` shortcuts (the same op, stepping aside for
hooks) and the forward-only tanh (within 2e-7 of ``torch.tanh``, never under autograd) stay on.

This package's ``__init__`` imports nothing, so that :mod:`rlagent.nets` can use
:mod:`~rlagent.fast.activations` without loading the paths that read its networks.
"""
