"""Resolve the user's ``device`` parameter to a concrete torch device string."""

import torch


def resolve_device(device):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a torch.device into a string.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` picks CUDA when it is available, else the CPU.

    Returns
    -------
    device : str
        A device string torch accepts.

    Raises
    ------
    ValueError
        If the string is not a device torch knows, or CUDA is asked for and absent.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device torch knows; use 'auto', 'cpu' or "
            "'cuda' (optionally 'cuda:<index>')."
        ) from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' to fall back to the CPU."
        )
    return str(parsed)
