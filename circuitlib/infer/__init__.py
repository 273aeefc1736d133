"""Connectivity inference methods; every one is `Method(**hyperparams).fit(data)` -> `.weights` [N, N]."""
