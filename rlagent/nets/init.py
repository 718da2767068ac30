"""Weight initialisation as in SB3 and CleanRL, which the PPO literature found to matter.

Hidden layers: orthogonal with gain sqrt(2), bias 0. Final layers: orthogonal scaled by a small gain
(0.01 for the policy, so the first policy is near-uniform whatever the trunk outputs; 1.0 for the
value), bias 0. An orthogonal matrix with gain g maps a feature vector of norm |f| to outputs of
norm at most g |f|, independent of the layer's fan-in, which a plain N(0, g) draw would not be
(its outputs grow like sqrt(fan_in)). GRU weights: orthogonal with gain 1, biases 0.
"""

from __future__ import annotations

import math
from typing import Iterable

from torch import nn

from rlagent.nets.encoders import HexConv2d

HIDDEN_GAIN = math.sqrt(2.0)


def init_hidden(module: nn.Module, gain: float = HIDDEN_GAIN) -> None:
    """Orthogonal init of every linear, convolutional and recurrent layer inside ``module``."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.orthogonal_(layer.weight, gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
            if isinstance(layer, HexConv2d):
                layer.mask_weight_()
        elif isinstance(layer, nn.GRUCell):
            nn.init.orthogonal_(layer.weight_ih, 1.0)
            nn.init.orthogonal_(layer.weight_hh, 1.0)
            nn.init.zeros_(layer.bias_ih)
            nn.init.zeros_(layer.bias_hh)


def init_output(layers: Iterable[nn.Linear | nn.Conv2d], gain: float) -> None:
    """Orthogonal with ``gain`` (0 gives all-zero weights), bias 0: the scale of a head's first outputs."""
    for layer in layers:
        nn.init.orthogonal_(layer.weight, gain)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
