"""Hot loops: numba (CPU) and cupy (GPU) kernels, each beside a plain-numpy reference.

Kernels take raw arrays and trust them; validation happens before they are called.
"""
