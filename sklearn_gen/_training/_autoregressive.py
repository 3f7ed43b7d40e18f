"""skorch net for the any-order autoregressive transformer."""

import torch

from ._nets import TableNet


class AutoregressiveNet(TableNet):
    """Trains an autoregressive transformer over columns by maximum likelihood.

    The module is a :class:`~sklearn_gen.nn._autoregressive.AutoregressiveTransformer`.

    The encoded table is turned into column tokens once, on the device
    (``module_.tokenize``); batches are index slices of that token table. Every
    training step draws one column order per row from ``rng_`` (or uses the fixed
    ``order``) and minimises the mean negative log-likelihood of the tokens, each
    column given the ones before it in its row's order (the criterion, a
    :class:`~sklearn_gen.nn._autoregressive.TokenNLLLoss`).

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`TableNet`.
    order : sequence of int or None, default=None
        None: a uniformly random column order per row and step (any-order
        training). A permutation of the column indices: that order always.
    """

    def __init__(self, module, *args, order=None, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.order = order

    def get_split_datasets(self, X, y=None, **fit_params):
        X, _ = super().get_split_datasets(X, y, **fit_params)
        with torch.no_grad():
            tokens = self.module_.tokenize(X)
        return tokens, None

    def column_orders(self, n):
        """Column orders for ``n`` rows, LongTensor of shape (n, n_columns)."""
        n_columns = self.module_.n_columns
        if self.order is None:
            keys = torch.rand((n, n_columns), generator=self._rng(), device=self.device)
            return keys.argsort(dim=1)
        order = torch.as_tensor(list(self.order), dtype=torch.long, device=self.device)
        return order.expand(n, -1)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        tokens, _ = batch
        log_likelihood = self.module_.log_likelihood(
            tokens, self.column_orders(tokens.shape[0]), generator=self._rng()
        )
        loss = self.criterion_(log_likelihood)
        loss.backward()
        return {"loss": loss, "y_pred": log_likelihood.detach()}
