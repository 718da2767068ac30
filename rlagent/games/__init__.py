"""Two-player and multi-seat play: players by name, batched matches, the self-play pool, Elo
ratings and the league, solved-position grading and the PUCT search. Import the public names from
``rlagent`` itself (see its docstring)."""
