"""rlagent's environments, registered with Gymnasium on import.

``import envs`` makes ``gymnasium.make("rlagent/Hex-v0")`` and ``gymnasium.make_vec("rlagent/Hex-v0",
num_envs=N)`` work (likewise ``rlagent/ConnectFour-v0``, ``rlagent/PWM-v0`` and ``rlagent/Arena-v0``); each uses its batched core directly
(``vector_entry_point``), not N copies.
"""

from gymnasium.envs.registration import register, registry

ENV_IDS = {
    "hex": "rlagent/Hex-v0",
    "connect4": "rlagent/ConnectFour-v0",
    "pwm": "rlagent/PWM-v0",
    "arena": "rlagent/Arena-v0",
}


def _register() -> None:
    if "rlagent/Hex-v0" not in registry:
        register(
            id="rlagent/Hex-v0",
            entry_point="envs.hex.env:hex_env",
            vector_entry_point="envs.hex.env:hex_vector_env",
        )
    if "rlagent/ConnectFour-v0" not in registry:
        register(
            id="rlagent/ConnectFour-v0",
            entry_point="envs.connect_four.env:connect_four_env",
            vector_entry_point="envs.connect_four.env:connect_four_vector_env",
        )
    if "rlagent/PWM-v0" not in registry:
        register(
            id="rlagent/PWM-v0",
            entry_point="envs.pwm.env:pwm_env",
            vector_entry_point="envs.pwm.env:pwm_vector_env",
        )
    if "rlagent/Arena-v0" not in registry:
        register(
            id="rlagent/Arena-v0",
            entry_point="envs.arena.env:arena_env",
            vector_entry_point="envs.arena.env:arena_vector_env",
        )


_register()
