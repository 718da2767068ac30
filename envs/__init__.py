"""rlagent's environments, registered with Gymnasium on import.

``import envs`` makes ``gymnasium.make("rlagent/Hex-v0")`` and ``gymnasium.make_vec("rlagent/Hex-v0",
num_envs=N)`` work (likewise ``rlagent/ConnectFour-v0``, ``rlagent/PWM-v0``, ``rlagent/DMS-v0`` and
``rlagent/Arena-v0``); ``make_vec`` uses each batched core directly (``vector_entry_point``), not N
copies. An env's options are its factories' signatures (for trial tasks, read from the task class:
:mod:`envs.trial_options`), so registering one is its id, its CLI short name and the module holding
its two factories.
"""

from gymnasium.envs.registration import register, registry

# CLI short name -> (Gymnasium id, module, single-env factory, vector-env factory)
_ENVS = {
    "hex": ("rlagent/Hex-v0", "envs.hex.env", "hex_env", "hex_vector_env"),
    "connect4": ("rlagent/ConnectFour-v0", "envs.connect_four.env", "connect_four_env", "connect_four_vector_env"),
    "pwm": ("rlagent/PWM-v0", "envs.pwm.env", "pwm_env", "pwm_vector_env"),
    "dms": ("rlagent/DMS-v0", "envs.dms.env", "dms_env", "dms_vector_env"),
    "arena": ("rlagent/Arena-v0", "envs.arena.env", "arena_env", "arena_vector_env"),
}
ENV_IDS = {short: env_id for short, (env_id, *_) in _ENVS.items()}


def _register() -> None:
    for env_id, module, single, vector in _ENVS.values():
        if env_id not in registry:
            register(id=env_id, entry_point=f"{module}:{single}", vector_entry_point=f"{module}:{vector}")


_register()
