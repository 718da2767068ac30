import torch

# One torch thread makes the learning tests ~4x faster on the 2-core CI (no oversubscription).
torch.set_num_threads(1)
