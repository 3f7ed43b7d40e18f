"""TVAE: a variational autoencoder for tables (Xu et al., NeurIPS 2019)."""

import numbers

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .._privacy import DPConfig
from .._training import VAENet, adam_fused
from ..base import BaseGenerator
from ..nn import ELBOLoss, TVAEModule, sample_outputs
from ..preprocessing import TabularEncoder
from ._docstrings import fill_shared_docs
from ._validation import check_layer_sizes


@fill_shared_docs
class TVAEGenerator(BaseGenerator):
    """Tabular variational autoencoder (TVAE) as a scikit-learn estimator.

    Continuous columns are mode-specific normalised (a Bayesian Gaussian mixture per
    column) and categorical columns one-hot encoded by
    :class:`~sklearn_gen.preprocessing.TabularEncoder`; an MLP encoder maps a row to
    a Gaussian posterior over ``embedding_dim`` latent variables and an MLP decoder
    maps a latent back to per-column distributions: a Gaussian with a learned scale
    for each scalar (after tanh) and a categorical for each one-hot block. Training
    maximises the ELBO with ``loss_factor`` weighting the reconstruction, as in the
    paper and SDV's ``TVAESynthesizer`` (whose defaults these are).

    Sampling draws a latent from N(0, I), decodes it, adds the learned noise to
    scalars and samples each categorical from its softmax. ``transform`` returns
    the posterior mean of the latent; ``inverse_transform`` decodes latents
    deterministically.

    Parameters
    ----------
    embedding_dim : int, default=128
        Size of the latent space.
    compress_dims : tuple of int, default=(128, 128)
        Hidden layer widths of the encoder.
    decompress_dims : tuple of int, default=(128, 128)
        Hidden layer widths of the decoder.
    l2scale : float, default=1e-5
        Weight decay of the Adam optimiser.
    loss_factor : float, default=2.0
        Multiplier of the reconstruction term of the ELBO.
    lr : float, default=1e-3
        Learning rate of the Adam optimiser.
    continuous : {"mode_specific", "quantile", "minmax"}, default="mode_specific"
        How the encoder normalises continuous columns.
    gmm_max_samples : int or None, default=50_000
        Values per numeric column that the encoder's Gaussian-mixture fit
        (``continuous="mode_specific"``) uses: a random subsample of larger
        columns (None: all values); every value is still encoded. On a million rows, 10,000 /
        50,000 / 200,000 take 9 / 24 / 75 s for 27 numeric columns, with mean KS
        distances of 0.065 / 0.063 / 0.063 (see ``benchmarks/results/scale.md``).
    privacy : DPConfig, default=None
        Train with differential privacy (DP-SGD with Opacus; needs
        ``pip install sklearn_gen[privacy]``): the encoder and decoder networks
        both read real rows, so the whole VAE is privatised. Batches are
        Poisson-sampled, each row's gradient is clipped to
        ``privacy.max_grad_norm`` and Gaussian noise is added; training stops
        before the budget ``(epsilon, delta)`` would be exceeded, and
        ``privacy_spent_`` reports what was spent. The guarantee covers the
        network weights given the fitted :class:`TabularEncoder`, whose
        statistics are **not** privatised: the categories of each column, the
        bounds, rounding and missing-value pattern of numeric columns and their
        Gaussian-mixture modes are computed from the data and shipped with the
        model. The training losses in ``history_`` are computed on real rows
        without noise (diagnostics, not covered either), and callbacks that act on
        them (e.g. early stopping) make data-dependent decisions. See
        :ref:`privacy`.
    %(identifiers_parameter)s
    epochs : int, default=300
        Passes over the training table (per ``fit`` / ``partial_fit`` call).
    batch_size : int, default=500
        Rows per gradient step (capped at the number of rows).
    %(device_parameters)s
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch net (e.g. ``EarlyStopping(monitor="train_loss")``,
        ``Checkpoint``, ``LRScheduler``). Copied, never modified.

    Attributes
    ----------
    encoder_ : TabularEncoder
        The fitted encoder (``encoder_.schema_`` describes every column).
    net_ : skorch.NeuralNet
        The trained network wrapper; ``net_.module_`` is the torch module.
    history_ : skorch.History
        Per-epoch training history (``history_[:, "train_loss"]``).
    n_iter_ : int
        Number of epochs trained in total.
    privacy_spent_ : tuple of (float, float)
        Only with ``privacy``: the ``(epsilon, delta)`` spent by training so far.
    identifiers_ : list of IdentifierColumn
        The columns treated as identifiers (not modelled).
    device_ : str
        The device the model lives on.
    n_train_rows_ : int
        Rows seen by the first fit (the default ``n_samples``).
    target_name_ : str or None
        Column name given to ``y`` when fitted with a target.
    n_features_in_ : int
        Number of columns of ``X`` seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X`` when it is a DataFrame with string column names.

    See Also
    --------
    sklearn_gen.preprocessing.TabularEncoder : The encoding every generator uses.

    References
    ----------
    .. [1] L. Xu, M. Skoularidou, A. Cuesta-Infante, K. Veeramachaneni, "Modeling
       Tabular data using Conditional GAN", NeurIPS 2019 (TVAE is its baseline).

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import TVAEGenerator
    >>> X = load_wine(as_frame=True).frame
    >>> gen = TVAEGenerator(epochs=1, random_state=0).fit(X)
    >>> gen.sample(5).shape
    (5, 14)
    >>> gen.transform(X).shape
    (178, 128)
    """

    _parameter_constraints = {
        **BaseGenerator._parameter_constraints,
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "compress_dims": [tuple, list],
        "decompress_dims": [tuple, list],
        "l2scale": [Interval(numbers.Real, 0, None, closed="left")],
        "loss_factor": [Interval(numbers.Real, 0, None, closed="neither")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "continuous": [StrOptions({"mode_specific", "quantile", "minmax"})],
        "gmm_max_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "privacy": [DPConfig, None],
    }

    def __init__(
        self,
        *,
        embedding_dim=128,
        compress_dims=(128, 128),
        decompress_dims=(128, 128),
        l2scale=1e-5,
        loss_factor=2.0,
        lr=1e-3,
        continuous="mode_specific",
        gmm_max_samples=50_000,
        privacy=None,
        identifiers="regenerate",
        epochs=300,
        batch_size=500,
        device="auto",
        data_parallel=False,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.embedding_dim = embedding_dim
        self.compress_dims = compress_dims
        self.decompress_dims = decompress_dims
        self.l2scale = l2scale
        self.loss_factor = loss_factor
        self.lr = lr
        self.continuous = continuous
        self.gmm_max_samples = gmm_max_samples
        self.privacy = privacy
        self.identifiers = identifiers
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.data_parallel = data_parallel
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _make_encoder(self):
        return TabularEncoder(
            continuous=self.continuous,
            categorical="onehot",
            gmm_max_samples=self.gmm_max_samples,
        )

    def _make_net(self, layout, net_kwargs):
        compress = check_layer_sizes(self.compress_dims, "compress_dims")
        decompress = check_layer_sizes(self.decompress_dims, "decompress_dims")
        net_class, private = VAENet, {}
        if self.privacy is not None:
            from .._training._privacy import PrivateVAENet

            net_class, private = PrivateVAENet, {"privacy": self.privacy}
        return net_class(
            module=TVAEModule,
            module__n_features=layout.n_features,
            module__n_outputs=layout.output_width,
            module__embedding_dim=int(self.embedding_dim),
            module__compress_dims=compress,
            module__decompress_dims=decompress,
            criterion=ELBOLoss,
            criterion__layout=layout,
            criterion__loss_factor=float(self.loss_factor),
            optimizer=torch.optim.Adam,
            lr=float(self.lr),
            optimizer__weight_decay=float(self.l2scale),
            optimizer__fused=adam_fused(self.device_),
            **private,
            **net_kwargs,
        )

    def _representation_width(self):
        return int(self.embedding_dim)

    def _span_index(self):
        return self.net_.criterion_.reconstruction.index

    def _sample_encoded(self, n_samples, generator):
        module = self.net_.module_
        z = torch.randn(
            (n_samples, int(self.embedding_dim)), generator=generator, device=self.device_
        )
        out = module.decode(z)
        return sample_outputs(
            out, self._span_index(), sigma=module.sigma, generator=generator
        )

    def _represent(self, encoded):
        mu, _ = self.net_.module_.encode(encoded)
        return mu

    def _unrepresent(self, representation):
        out = self.net_.module_.decode(representation)
        return sample_outputs(out, self._span_index(), stochastic=False)
