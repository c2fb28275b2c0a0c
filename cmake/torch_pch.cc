// Compiles the shared precompiled header for <torch/torch.h>; torch-heavy
// targets reuse it (radclear_use_torch_pch) instead of parsing torch each time.
