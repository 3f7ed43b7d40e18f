"""CTGAN: a conditional Wasserstein GAN for tables (Xu et al., NeurIPS 2019)."""

import numbers

import pandas as pd
import torch
from sklearn.utils._param_validation import Interval

from .._privacy import DPConfig
from .._training import GANNet, adam_fused
from ..base import BaseGenerator
from ..nn import (
    CTGANDiscriminatorModule,
    CTGANGeneratorModule,
    CTGANLoss,
    sample_outputs,
)
from ..preprocessing import TabularEncoder
from ..preprocessing._schema import column_to_codes
from ._docstrings import fill_shared_docs
from ._validation import check_layer_sizes

#: Rows generated per forward pass when sampling on the CPU.
_CPU_SAMPLE_BLOCK = 2048


@fill_shared_docs
class CTGANGenerator(BaseGenerator):
    """Conditional tabular GAN (CTGAN) as a scikit-learn estimator.

    Continuous columns are mode-specific normalised (a Bayesian Gaussian mixture per
    column) and categorical columns one-hot encoded by
    :class:`~sklearn_gen.preprocessing.TabularEncoder`. A generator of residual
    blocks maps noise and a *conditional vector* (one category of one categorical
    column) to a row: tanh for scalars, Gumbel-softmax (temperature 0.2) for every
    one-hot block. A critic with PacGAN packing (``pac`` rows scored together, leaky
    ReLU, dropout) is trained with the WGAN-GP loss (gradient penalty weight 10);
    the generator also gets the cross-entropy between its output for the
    conditioned column and the condition. Training conditions are drawn by
    *training-by-sampling*: a categorical column uniformly, one of its categories by
    its log-frequency (``log_frequency=True``) and a real row with that category,
    so rare categories are learned as well as common ones. Parameters and defaults
    are those of SDV's ``CTGANSynthesizer``.

    Sampling draws noise and a conditional vector (a column uniformly, a category by
    its frequency in the training data, which recovers the joint distribution from
    the learned conditionals) and takes each class from its softmax.

    **Native conditioning.** ``sample(n, conditions={"workclass": " Private"})``
    sets the conditional vector to the requested category, so the generator
    produces that category in most rows even when it is rare; rows that still miss
    are redrawn (rejection), so the condition holds exactly in every row. If under
    1% of the rows generated for the category show it (a category the generator
    barely learned, e.g. seen once), it is written into them instead. With
    several conditions, the rarest categorical one steers the generator and all are
    checked by rejection; conditions on numeric columns alone use the base class's
    bounded rejection. ``fit(X, y)`` with class labels makes ``y`` a categorical
    column, so ``sample(n, conditions={target_name_: label})`` gives
    class-conditional rows the same way.

    ``transform`` returns the encoded table (the GAN has no encoder network) and
    ``inverse_transform`` decodes it.

    Parameters
    ----------
    embedding_dim : int, default=128
        Size of the generator's noise vector.
    generator_dim : tuple of int, default=(256, 256)
        Widths of the generator's residual blocks.
    discriminator_dim : tuple of int, default=(256, 256)
        Hidden widths of the critic.
    generator_lr : float, default=2e-4
        Learning rate of the generator's Adam optimiser (betas 0.5, 0.9).
    generator_decay : float, default=1e-6
        Weight decay of the generator's optimiser.
    discriminator_lr : float, default=2e-4
        Learning rate of the critic's Adam optimiser (betas 0.5, 0.9).
    discriminator_decay : float, default=1e-6
        Weight decay of the critic's optimiser.
    discriminator_steps : int, default=1
        Critic updates per generator update.
    log_frequency : bool, default=True
        Draw training conditions by the log of the category frequencies (True) or
        by the frequencies (False).
    gmm_max_samples : int or None, default=50_000
        Values per numeric column that the encoder's Gaussian-mixture fit uses: a
        random subsample of larger columns (None: all values); every value is
        still encoded. On a million rows, 10,000 / 50,000 / 200,000 take 9 / 24 / 75 s for 27 numeric
        columns, with mean KS distances of 0.065 / 0.063 / 0.063 (see
        ``benchmarks/results/scale.md``).
    pac : int, default=10
        Rows per critic pack (PacGAN); ``batch_size`` must be a multiple of it.
        Must be 1 with ``privacy``.
    privacy : DPConfig, default=None
        Train with differential privacy (DP-SGD with Opacus; needs
        ``pip install sklearn_gen[privacy]``). Only the critic reads real rows,
        so only its updates are privatised (Poisson-sampled batches, each real
        row's gradient, gradient penalty included, clipped to
        ``privacy.max_grad_norm``, Gaussian noise added); the generator learns
        from the private critic alone. Training stops before the budget
        ``(epsilon, delta)`` would be exceeded and ``privacy_spent_`` reports
        what was spent. Requires ``pac=1``: a pack would put several real rows in
        one clipped gradient. The critic sees each real row with a conditional
        vector made from the row itself, and fake rows with conditions drawn by
        category frequency (training-by-sampling, which picks real rows by
        category, is not used and ``log_frequency`` has no effect).

        What the guarantee does **not** cover: the fitted
        :class:`TabularEncoder` (categories, numeric bounds, rounding, missing
        pattern and Gaussian-mixture modes of every column) and the per-category
        row counts (``net_.module_.condition_counts``), which set the
        distribution of the generator's conditional vectors in training and
        sampling, are computed from the data without noise and are part of the
        model. The losses in ``history_`` are computed on real rows without
        noise (diagnostics only), and callbacks acting on them (e.g. early
        stopping) make data-dependent decisions. See :ref:`privacy`.
    %(identifiers_parameter)s
    epochs : int, default=300
        Passes over the training table (per ``fit`` / ``partial_fit`` call); a pass
        is ``max(n_rows // batch_size, 1)`` steps.
    batch_size : int, default=500
        Rows per step, a multiple of ``pac``. Tables smaller than a batch are
        resampled with replacement to a full batch.
    %(device_parameters)s
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch net (e.g. ``EarlyStopping(monitor="train_loss")``,
        ``Checkpoint``, ``LRScheduler``). Copied, never modified.

    Attributes
    ----------
    encoder_ : TabularEncoder
        The fitted encoder (``encoder_.schema_`` describes every column).
    net_ : skorch.NeuralNet
        The trained network wrapper: ``net_.module_`` is the generator,
        ``net_.discriminator_`` the critic, ``net_.optimizer_`` and
        ``net_.optimizer_discriminator_`` their optimisers.
    history_ : skorch.History
        Per-epoch training history: ``history_[:, "train_loss"]`` (generator) and
        ``history_[:, "train_loss_discriminator"]`` (critic, E[D(fake)] - E[D(real)]
        without the gradient penalty).
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
    TVAEGenerator : The variational autoencoder of the same paper.
    sklearn_gen.preprocessing.TabularEncoder : The encoding every generator uses.

    References
    ----------
    .. [1] L. Xu, M. Skoularidou, A. Cuesta-Infante, K. Veeramachaneni, "Modeling
       Tabular data using Conditional GAN", NeurIPS 2019.
    .. [2] I. Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    .. [3] Z. Lin et al., "PacGAN: The power of two samples in generative
       adversarial networks", NeurIPS 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import CTGANGenerator
    >>> X = load_wine(as_frame=True).frame.astype({"target": "category"})
    >>> gen = CTGANGenerator(epochs=1, batch_size=50, random_state=0).fit(X)
    >>> gen.sample(5).shape
    (5, 14)
    >>> rows = gen.sample(5, conditions={"target": 2}, random_state=0)
    >>> rows["target"].tolist()
    [2, 2, 2, 2, 2]
    """

    _parameter_constraints = {
        **BaseGenerator._parameter_constraints,
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "generator_dim": [tuple, list],
        "discriminator_dim": [tuple, list],
        "generator_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "generator_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "discriminator_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "discriminator_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "discriminator_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "log_frequency": ["boolean"],
        "gmm_max_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "pac": [Interval(numbers.Integral, 1, None, closed="left")],
        "privacy": [DPConfig, None],
    }

    def __init__(
        self,
        *,
        embedding_dim=128,
        generator_dim=(256, 256),
        discriminator_dim=(256, 256),
        generator_lr=2e-4,
        generator_decay=1e-6,
        discriminator_lr=2e-4,
        discriminator_decay=1e-6,
        discriminator_steps=1,
        log_frequency=True,
        gmm_max_samples=50_000,
        pac=10,
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
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.generator_lr = generator_lr
        self.generator_decay = generator_decay
        self.discriminator_lr = discriminator_lr
        self.discriminator_decay = discriminator_decay
        self.discriminator_steps = discriminator_steps
        self.log_frequency = log_frequency
        self.gmm_max_samples = gmm_max_samples
        self.pac = pac
        self.privacy = privacy
        self.identifiers = identifiers
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.data_parallel = data_parallel
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ fit

    def _fit(self, X, y, *, warm_start):
        if self.privacy is not None and self.pac != 1:
            raise ValueError(
                f"privacy needs pac=1 (got pac={self.pac}): the critic must score "
                "one real row at a time so that each row's gradient can be clipped. "
                "Set pac=1."
            )
        if self.batch_size % self.pac:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of pac "
                f"({self.pac}): the discriminator scores packs of pac rows. Use e.g. "
                f"batch_size={max(self.pac, self.batch_size // self.pac * self.pac)}."
            )
        check_layer_sizes(self.generator_dim, "generator_dim")
        check_layer_sizes(self.discriminator_dim, "discriminator_dim")
        return super()._fit(X, y, warm_start=warm_start)

    def _make_encoder(self):
        return TabularEncoder(
            continuous="mode_specific",
            categorical="onehot",
            gmm_max_samples=self.gmm_max_samples,
        )

    def _make_net(self, layout, net_kwargs):
        generator_dim = check_layer_sizes(self.generator_dim, "generator_dim")
        discriminator_dim = check_layer_sizes(
            self.discriminator_dim, "discriminator_dim"
        )
        # Every step scores whole packs: batches are exactly batch_size rows
        # (resampled when the table is smaller), not capped at the table size.
        net_kwargs = {**net_kwargs, "batch_size": int(self.batch_size)}
        keys = ("train_loss", "train_loss_discriminator")
        for name, callback in net_kwargs["callbacks"]:
            if name in ("finite_loss", "epoch_progress"):  # the base's own callbacks
                callback.keys = keys
        criterion = CTGANLoss(layout)
        n_conditions = criterion.condition.n_conditions
        betas = (0.5, 0.9)
        fused = adam_fused(self.device_)
        net_class, private = GANNet, {}
        if self.privacy is not None:
            from .._training._privacy import PrivateGANNet

            net_class, private = PrivateGANNet, {"privacy": self.privacy}
        return net_class(
            module=CTGANGeneratorModule,
            module__embedding_dim=int(self.embedding_dim),
            module__n_conditions=n_conditions,
            module__generator_dim=generator_dim,
            module__n_outputs=layout.output_width,
            discriminator=CTGANDiscriminatorModule,
            discriminator__input_dim=layout.n_features + n_conditions,
            discriminator__discriminator_dim=discriminator_dim,
            discriminator__pac=int(self.pac),
            criterion=criterion,
            optimizer=torch.optim.Adam,
            lr=float(self.generator_lr),
            optimizer__betas=betas,
            optimizer__weight_decay=float(self.generator_decay),
            optimizer__fused=fused,
            optimizer_discriminator=torch.optim.Adam,
            optimizer_discriminator__lr=float(self.discriminator_lr),
            optimizer_discriminator__betas=betas,
            optimizer_discriminator__weight_decay=float(self.discriminator_decay),
            optimizer_discriminator__fused=fused,
            discriminator_steps=int(self.discriminator_steps),
            log_frequency=bool(self.log_frequency),
            **private,
            **net_kwargs,
        )

    # ------------------------------------------------------------------ sample

    def _sample_encoded(self, n_samples, generator, category=None):
        # On the CPU, blocks of a few thousand rows keep the generator's wide
        # activations in cache: about twice as fast as one block of 65,536 rows.
        step = _CPU_SAMPLE_BLOCK if self.device_ == "cpu" else max(n_samples, 1)
        index = self.net_.criterion_.index
        parts = [
            sample_outputs(
                self.net_.generate(min(step, n_samples - start), generator, category),
                index,
                generator=generator,
            )
            for start in range(0, n_samples, step)
        ]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return torch.zeros((0, index.n_encoded), device=self.device_)
        return torch.cat(parts)

    def _condition_category(self, target):
        """``(conditional-vector id, column, value)`` to steer towards ``target``.

        None when no requested column is in the conditional vector.

        Among the categorical / boolean columns of ``target``, the rarest requested
        category (by training frequency) is used: it is the hardest to hit by chance.
        """
        condition = self.net_.criterion_.condition
        if not condition.n_conditions:
            return None
        schemas = self._columns_by_name()
        counts = self.net_.module_.condition_counts.cpu().numpy()
        best = None
        for name, value in target.items():
            if name not in condition.columns:
                continue
            try:
                codes = column_to_codes(pd.Series([value], dtype=object), schemas[name])
            except (ValueError, TypeError):
                continue
            ident = condition.offsets[condition.columns.index(name)] + int(codes[0])
            if best is None or counts[ident] < counts[best[0]]:
                best = (ident, name, value)
        return best

    def _generate_candidates(self, n_samples, target, generator):
        steer = self._condition_category(target)
        if steer is None:
            return super()._generate_candidates(n_samples, target, generator)
        ident, name, value = steer
        rows = self._generate(n_samples, generator, category=int(ident))
        return self._write_rare_categories(rows, {name: value})
