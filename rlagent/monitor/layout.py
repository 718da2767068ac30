"""TensorBoard's custom-scalars layout: the dashboard opens grouped, not as a flat list of tags.

A run logs a hundred tags or more once diagnostics are on (a few per layer). The Custom Scalars
tab shows them as the categories a user asks questions in: is it learning, is the value right,
are the gradients healthy, are units dying, is it getting stronger. Charts are regular
expressions over tag names, so the layout is written once at the start of a run and picks up
tags (per layer, per game stage) as they appear.
"""

from __future__ import annotations

# category -> chart -> tag patterns (one multi-line chart each)
LAYOUT: dict[str, dict[str, list[str]]] = {
    "learning": {
        "return": [r"rollout/ep_rew_mean", r"rollout/win_rate", r"trial/accuracy"],
        "losses": [r"train/policy_gradient_loss", r"train/value_loss", r"train/entropy_loss", r"train/loss"],
        "KL and clipping": [r"train/approx_kl", r"train/clip_fraction", r"train/early_stopped"],
        "explained variance": [r"train/explained_variance"],
        "speed": [r"time/fps"],
    },
    "value": {
        "value vs return": [r"value/mean", r"value/std", r"value/return_.*"],
        "error by stage": [r"value/by_stage/.*/mse"],
        "sign accuracy by stage": [r"value/by_stage/.*/sign_accuracy"],
        "calibration": [r"value/ece"],
    },
    "policy": {
        "entropy by stage": [r"policy/by_stage/.*/entropy", r"policy/entropy"],
        "confidence by stage": [r"policy/by_stage/.*/top_prob", r"policy/top_prob"],
        "legal mass": [r".*legal_mass"],
    },
    "gradients": {
        "norms by part": [r"grad/norm_.*"],
        "actor vs critic on the trunk": [r"grad/trunk_from_.*", r"grad/trunk_actor_critic_ratio"],
        "loss balance": [r"train/policy_value_loss_ratio"],
        "update-to-weight ratio": [r"update_ratio/.*"],
    },
    "activations": {
        "dead units": [r"act/.*/dead_fraction"],
        "saturated units": [r"act/.*/saturated_fraction"],
        "activation std": [r"act/.*/std"],
    },
    "league": {
        "Elo": [r"elo/.*"],
        "evaluation": [r"eval/.*"],
    },
}


def custom_scalars_layout() -> dict[str, dict[str, list]]:
    """The layout in the form ``SummaryWriter.add_custom_scalars`` takes."""
    return {category: {chart: ["Multiline", patterns] for chart, patterns in charts.items()} for category, charts in LAYOUT.items()}
