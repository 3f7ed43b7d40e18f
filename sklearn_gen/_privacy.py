"""Differential privacy settings for the generators (:class:`DPConfig`)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["DPConfig", "require_opacus"]

#: The message of the ImportError raised when Opacus is missing.
OPACUS_MISSING = (
    "Differentially private training needs Opacus: pip install sklearn_gen[privacy]"
)


def require_opacus():
    """Import Opacus, or raise a one-line ImportError saying how to install it."""
    try:
        import opacus
    except ImportError:
        raise ImportError(OPACUS_MISSING) from None
    return opacus


def _check_positive(name, value, *, allow_none=False, allow_zero=False):
    if value is None and allow_none:
        return
    if (
        isinstance(value, (bool,))
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        bound = ">= 0" if allow_zero else "> 0"
        none = " or None" if allow_none else ""
        raise ValueError(
            f"DPConfig.{name} must be a finite number {bound}{none}, got {value!r}."
        )


@dataclass(frozen=True)
class DPConfig:
    """Differential privacy budget of a generator's training (DP-SGD with Opacus).

    Pass it as a generator's ``privacy`` parameter, e.g.
    ``TVAEGenerator(privacy=DPConfig(epsilon=3.0))``. Training then runs DP-SGD:
    batches are Poisson-sampled (every row independently, with probability
    ``batch_size / n_rows``), each row's gradient is clipped to ``max_grad_norm``,
    Gaussian noise of standard deviation ``noise_multiplier * max_grad_norm`` is
    added to their sum by Opacus' ``DPOptimizer``, and Opacus' RDP accountant tracks
    the privacy spent. Training stops before the budget ``(epsilon, delta)`` would be
    exceeded; the generator reports what it spent in ``privacy_spent_``. What the
    guarantee covers (and what it does not) is in the user guide and in each
    generator's ``privacy`` parameter.

    The object is frozen (immutable), so it is a valid scikit-learn parameter
    value: ``clone`` and ``get_params`` keep it as given.

    Parameters
    ----------
    epsilon : float
        The privacy budget epsilon (> 0). Smaller is more private; 1 to 10 is the
        usual range.
    delta : float, default=None
        The budget's delta, in (0, 1). None means ``1 / (10 * n_rows)``: a delta
        of ``1 / n_rows`` would allow a mechanism that publishes one whole row, so
        it must be well below it.
    max_grad_norm : float, default=1.0
        Clipping bound of each row's gradient (the L2 norm over all the
        privatised network's parameters).
    noise_multiplier : float, default=None
        Standard deviation of the noise relative to ``max_grad_norm``. None
        derives it from ``epsilon``, ``delta``, the sampling rate and the number
        of steps ``epochs`` will take (Opacus' ``get_noise_multiplier`` with the
        RDP accountant), so that training uses the whole budget in exactly
        ``epochs`` epochs. A given value is used as is, and training stops early
        if the budget runs out.

    Examples
    --------
    >>> from sklearn_gen import DPConfig
    >>> DPConfig(epsilon=3.0)
    DPConfig(epsilon=3.0, delta=None, max_grad_norm=1.0, noise_multiplier=None)
    """

    epsilon: float
    delta: float | None = None
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None

    def __post_init__(self):
        _check_positive("epsilon", self.epsilon)
        _check_positive("max_grad_norm", self.max_grad_norm)
        _check_positive("noise_multiplier", self.noise_multiplier, allow_none=True)
        if self.delta is not None:
            _check_positive("delta", self.delta)
            if self.delta >= 1:
                raise ValueError(
                    f"DPConfig.delta must be in (0, 1), got {self.delta!r}."
                )

    def resolve_delta(self, n_rows):
        """The delta to use for a table of ``n_rows`` rows."""
        if self.delta is not None:
            return float(self.delta)
        return 1.0 / (10.0 * max(int(n_rows), 1))
