"""TabDDPM: Gaussian and multinomial diffusion for tables (Kotelnikov et al., 2023)."""

import numbers

import numpy as np
import pandas as pd
import torch
from scipy.special import ndtri
from sklearn.utils._param_validation import Interval, StrOptions

from .._training import adam_fused
from .._training._diffusion import DiffusionNet
from ..base import BaseGenerator
from ..nn._diffusion import DiffusionLoss, TabDDPMModule, reverse_sample
from ..preprocessing import TabularEncoder
from ..preprocessing._encoder import _QUANTILE_EPS
from ._docstrings import fill_shared_docs
from ._validation import check_layer_sizes

#: Rows denoised together when sampling on the CPU.
_CPU_SAMPLE_BLOCK = 2048
#: Share of training rows whose class label the denoiser does not see, so that it
#: also denoises without one (when other columns are conditions).
_LABEL_DROPOUT = 0.1


@fill_shared_docs
class TabDDPMGenerator(BaseGenerator):
    """Denoising diffusion for mixed-type tables (TabDDPM) as a scikit-learn estimator.

    Continuous, integer and datetime columns are quantile-transformed to a standard
    normal and categorical / boolean columns one-hot encoded by
    :class:`~sklearn_gen.preprocessing.TabularEncoder`; a column with missing values
    also gets a two-unit ``[observed, missing]`` one-hot block. The numerical units
    follow Gaussian diffusion and every one-hot block multinomial diffusion
    (``q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t) / K)``), over ``n_timesteps``
    steps of a cosine or linear noise schedule. One MLP denoiser (an input
    projection plus a sinusoidal timestep embedding, then ``dims`` hidden layers)
    predicts the Gaussian noise and the class probabilities of ``x_0`` for a whole
    row. Training minimises TabDDPM's loss: the mean squared error of the
    predicted noise plus the multinomial variational bound term (a KL divergence
    between the true and the predicted posteriors) divided by the number of
    blocks, with AdamW, a learning rate decaying linearly to 0 over each fit, and an
    exponential moving average of the weights used for sampling.

    Sampling starts from Gaussian noise and uniform classes and runs the reverse
    process over ``sample_steps`` evenly strided timesteps (``sample_steps=None``:
    all of them): a DDIM step for the Gaussian part, whose stochasticity ``eta``
    sets (``eta=1`` with every timestep is DDPM's ancestral sampler), and, for the
    blocks, a draw from the posterior ``q(x_s | x_t, x_0)`` with the strided
    cumulative alphas and the predicted class probabilities in place of ``x_0``.

    Parameters
    ----------
    n_timesteps : int, default=1000
        Number of diffusion steps ``T`` of training.
    scheduler : {"cosine", "linear"}, default="cosine"
        Noise schedule.
    dims : tuple of int, default=(256, 256, 256)
        Hidden layer widths of the denoiser.
    dropout : float, default=0.0
        Dropout after every hidden layer of the denoiser.
    embedding_dim : int, default=128
        Width of the denoiser's input projection and timestep embedding.
    numerical_embedding : {"linear", "periodic"}, default="linear"
        How the denoiser reads the numerical units: "linear" projects them with
        the rest of the row (TabDDPM); "periodic" also gives each a learned
        periodic embedding (PLR, Gorishniy et al., 2022; see Notes).
    class_conditional : bool, default=True
        When fitted with a class target (``fit(X, y)``, ``y`` discrete), also
        condition the denoiser on the class label, as TabDDPM does (see Notes).
        No effect without ``y`` or with a regression target.
    lr : float, default=2e-3
        Initial learning rate of AdamW (decays linearly to 0 within each fit).
    weight_decay : float, default=0.0
        Weight decay of AdamW.
    ema_decay : float, default=0.999
        Decay of the moving average of the weights used for sampling (0: sample
        with the trained weights themselves).
    sample_steps : int or None, default=100
        Reverse steps per sample; None (or any value >= ``n_timesteps``) runs all
        ``n_timesteps``. Fewer steps sample proportionally faster, at some cost in
        fidelity. Read at sampling time, so it can be changed with ``set_params``
        after fitting.
    eta : float, default=0.5
        Noise of the Gaussian reverse steps, from 0 (the deterministic DDIM step) to
        1 (sampling the posterior, DDPM's ancestral step). Read at sampling time.
    %(identifiers_parameter)s
    epochs : int, default=800
        Passes over the training table (per ``fit`` / ``partial_fit`` call).
    batch_size : int, default=1024
        Rows per gradient step (capped at the number of rows).
    %(device_parameters)s
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch net (e.g. ``EarlyStopping(monitor="train_loss")``,
        ``Checkpoint``). Copied, never modified. The learning rate is already
        annealed by the net, so an ``LRScheduler`` would compete with it.

    Attributes
    ----------
    encoder_ : TabularEncoder
        The fitted encoder (``encoder_.schema_`` describes every column).
    net_ : skorch.NeuralNet
        The trained network wrapper; ``net_.module_`` is the trained
        :class:`~sklearn_gen.nn._diffusion.TabDDPMModule` and
        ``net_.ema_module_`` its moving average.
    history_ : skorch.History
        Per-epoch training history (``train_loss``, ``train_loss_gaussian``,
        ``train_loss_multinomial``).
    n_iter_ : int
        Number of epochs trained in total.
    device_ : str
        The device the model lives on.
    n_train_rows_ : int
        Rows seen by the first fit (the default ``n_samples``).
    target_name_ : str or None
        Column name given to ``y`` when fitted with a target.
    identifiers_ : list of IdentifierColumn
        The columns treated as identifiers (not modelled).
    n_features_in_ : int
        Number of columns of ``X`` seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X`` when it is a DataFrame with string column names.

    See Also
    --------
    TVAEGenerator : A variational autoencoder, faster to train.
    CTGANGenerator : A conditional GAN.

    Notes
    -----
    **Conditions** are exact by *inpainting* (replacement, as in RePaint, Lugmayr
    et al., 2022), not by rejection: the condition values are encoded like a
    training row, and before every reverse step the units of the conditioned
    columns in ``x_t`` are replaced by a fresh draw of ``q(x_t | x_0 = value)`` —
    Gaussian noising of their quantile-normal values, multinomial noising of their
    one-hot blocks — so the denoiser, which sees the whole row, steers the other
    columns towards them; after the last step they are set to the requested
    values. A missing value asked for a numeric column fixes its missing indicator
    only. This works for any subset of columns, including the target of
    ``fit(X, y)``. The base class still checks every row and writes exact values
    for continuous columns (quantile decoding is exact up to float32 rounding).

    A value condition on a numeric column can also be an interval (see
    :meth:`sample`): intervals are not inpainted, the base class keeps the rows
    that fall inside them.

    **Class target.** Fitted with a discrete ``y`` (``class_conditional=True``),
    the denoiser also gets each row's class as a learned label embedding added
    to the timestep embedding (TabDDPM's class-conditional model); the label is
    hidden for 10 % of the training rows, so the same network also denoises
    without it. ``sample(n)`` then draws each row's class from the training
    class frequencies and generates the row given it; a condition on the target
    becomes the label (and is inpainted too). Replacement inpainting alone
    passes a class to the other columns poorly: on Adult (seed 0), a classifier
    trained on rows sampled class by class scored ROC AUC 0.768 on real rows
    without the label and 0.893 with it (against 0.926 trained on real rows),
    while unconditional fidelity stayed about the same (three seeds:
    ``benchmarks/results/suite_adult.md``). Conditions on other columns only (and
    no condition on the target) leave the label out: the model draws the target
    with the rest of the row, since its distribution given those columns is not
    known beforehand.

    **Numerical embedding.** With ``numerical_embedding="periodic"`` each
    numerical unit ``x`` also enters the denoiser as
    ``ReLU(W [cos(2 pi c x), sin(2 pi c x)] + b)`` with 16 learned frequencies
    ``c`` and a 16-wide output per column
    (:class:`~sklearn_gen.nn._diffusion.PeriodicEmbedding`), which lets an MLP
    represent sharp functions of one value (e.g. a threshold on a heavy-tailed
    column); it costs about 15 % more fit time. On Adult fitted as ``fit(X, y)``
    (three seeds, ``benchmarks/results/exp_tabddpm_cc0p.md`` against the
    default's row in ``suite_adult.md``) it lowered Column Shapes error from 1.93
    to 1.76 % and all-pairs Column Pair Trends error from 4.92 to 4.67 %, raised
    LogisticDetection from 0.963 to 0.980 and TSTR from 0.904 to 0.909, with
    gradient-boosting detection 0.636 against 0.658; fitted as ``fit(X)``, shapes
    1.78 against 1.89 % and LogisticDetection 0.972 against 0.953. It is not the
    default because it did not carry to the four shared tables (10,000 rows each,
    fewer training steps; ``exp_tabddpm_periodic.md`` against ``suite_shared.md``):
    Column Shapes error rose on 9 of 12 seed-table cells, on credit_default from
    4.87 to 5.64 %, and LogisticDetection fell on 9 of 12 (bank_marketing 0.942
    to 0.917).

    **Defaults and cost.** Training costs about three denoiser passes per row and
    epoch; sampling costs ``sample_steps`` passes per row. The defaults are
    TabDDPM's design (``T = 1000``, cosine schedule, AdamW with a linearly annealed
    learning rate of about ``2e-3``) scaled down to fit Adult (26,048 training rows,
    15 columns) on a 2-core CPU in well under 15 minutes: TabDDPM's tuned Adult
    denoiser (six layers up to 1024 wide, 30,000 steps of 4,096 rows) would take
    hours there. On that CPU (AMD EPYC, one torch thread, the other core running
    another fit) the default ``fit(X, y)`` took 381 s (an epoch about 0.5 s) and
    sampling 26,048 rows with 100 steps about 15 s (``suite_adult.md``); 50 steps
    take about half that. What fewer steps cost, on the same trained networks
    (Adult, ``fit(X, y)``, three seeds; ``benchmarks/results/sample_steps_tabddpm.md``):
    Column Shapes error 1.79 % with all 1,000 steps, 1.90 % with 250, 1.93 % with
    100, 2.02 % with 50, 2.21 % with 25 and 4.61 % with 10 (all-pairs trends 4.78,
    4.92 and 5.21 % at 1,000, 100 and 25); 100 steps sample 10.5 times faster than
    1,000. At 100 steps ``eta=0.5`` scored better than ``eta=1`` (2.19 %) and
    ``eta=0`` (2.35 %, which also puts too much mass in the tails of numeric
    columns), and better than DDPM's own sampler over all 1,000 steps (``eta=1``:
    2.03 %).
    ``transform`` returns the encoded table.

    References
    ----------
    .. [1] A. Kotelnikov, D. Baranchuk, I. Rubachev, A. Babenko, "TabDDPM: Modelling
       Tabular Data with Diffusion Models", ICML 2023.
    .. [2] E. Hoogeboom, D. Nielsen, P. Jaini, P. Forré, M. Welling, "Argmax Flows
       and Multinomial Diffusion", NeurIPS 2021.
    .. [3] J. Song, C. Meng, S. Ermon, "Denoising Diffusion Implicit Models",
       ICLR 2021.
    .. [4] A. Lugmayr et al., "RePaint: Inpainting using Denoising Diffusion
       Probabilistic Models", CVPR 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import TabDDPMGenerator
    >>> X = load_wine(as_frame=True).frame
    >>> gen = TabDDPMGenerator(epochs=1, sample_steps=10, random_state=0).fit(X)
    >>> gen.sample(5).shape
    (5, 14)
    >>> rows = gen.sample(3, conditions={"target": 2}, random_state=0)
    >>> rows["target"].tolist()
    [2, 2, 2]
    """

    _parameter_constraints = {
        **BaseGenerator._parameter_constraints,
        "n_timesteps": [Interval(numbers.Integral, 1, None, closed="left")],
        "scheduler": [StrOptions({"cosine", "linear"})],
        "dims": [tuple, list],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "ema_decay": [Interval(numbers.Real, 0, 1, closed="left")],
        "sample_steps": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "eta": [Interval(numbers.Real, 0, 1, closed="both")],
        "numerical_embedding": [StrOptions({"linear", "periodic"})],
        "class_conditional": ["boolean"],
    }

    def __init__(
        self,
        *,
        n_timesteps=1000,
        scheduler="cosine",
        dims=(256, 256, 256),
        dropout=0.0,
        embedding_dim=128,
        numerical_embedding="linear",
        class_conditional=True,
        lr=2e-3,
        weight_decay=0.0,
        ema_decay=0.999,
        sample_steps=100,
        eta=0.5,
        identifiers="regenerate",
        epochs=800,
        batch_size=1024,
        device="auto",
        data_parallel=False,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.n_timesteps = n_timesteps
        self.scheduler = scheduler
        self.dims = dims
        self.dropout = dropout
        self.embedding_dim = embedding_dim
        self.numerical_embedding = numerical_embedding
        self.class_conditional = class_conditional
        self.lr = lr
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.sample_steps = sample_steps
        self.eta = eta
        self.identifiers = identifiers
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.data_parallel = data_parallel
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _make_encoder(self):
        return TabularEncoder(continuous="quantile", categorical="onehot")

    def _reverse_steps(self):
        """Reverse steps per sample: ``sample_steps`` capped at ``n_timesteps``."""
        steps = self.sample_steps
        if steps is not None and (
            isinstance(steps, (bool, np.bool_))
            or not isinstance(steps, numbers.Integral)
            or steps < 1
        ):
            raise ValueError(
                f"sample_steps must be None or an int >= 1, got {steps!r}."
            )
        n_timesteps = self.net_.module_.n_timesteps
        return None if steps is None or steps >= n_timesteps else int(steps)

    def _make_net(self, layout, net_kwargs):
        dims = check_layer_sizes(self.dims, "dims")
        return DiffusionNet(
            module=TabDDPMModule,
            module__layout=layout,
            module__dims=dims,
            module__dropout=float(self.dropout),
            module__embedding_dim=int(self.embedding_dim),
            module__periodic_embedding=self.numerical_embedding == "periodic",
            module__label_block=self._label_block(layout),
            module__label_dropout=_LABEL_DROPOUT,
            module__n_timesteps=int(self.n_timesteps),
            module__scheduler=self.scheduler,
            # The quantile encoder's range: clip predicted x0 to it when sampling.
            module__numeric_bound=float(ndtri(1.0 - _QUANTILE_EPS)),
            criterion=DiffusionLoss,
            optimizer=torch.optim.AdamW,
            lr=float(self.lr),
            optimizer__weight_decay=float(self.weight_decay),
            optimizer__fused=adam_fused(self.device_),
            ema_decay=float(self.ema_decay),
            **net_kwargs,
        )

    def _label_block(self, layout):
        """Index among the one-hot blocks of the class target, or None.

        None unless ``class_conditional`` and fitted with a discrete ``y``.
        """
        if not (self.class_conditional and self.target_name_ is not None):
            return None
        if not self.target_is_discrete_:
            return None
        blocks = [span for span in layout if span.activation == "softmax"]
        (span,) = layout.spans_for(self.target_name_)
        return blocks.index(span)

    def _class_prior(self):
        """Training frequencies of the target's classes (a float tensor)."""
        cols, means = self._target_fill_
        (span,) = self.encoder_.layout_.spans_for(self.target_name_)
        prior = means[(cols >= span.start) & (cols < span.stop)]
        return torch.as_tensor(prior, dtype=torch.float32, device=self.device_)

    def _with_labels(self, module, n_samples, generator, known):
        """Inpainting values, mask and labels of ``n_samples`` rows.

        A label-conditioned module gets the target's class as its label when it
        is a condition; draws it from the training class frequencies (and
        inpaints the target's units to it) when nothing is conditioned on; and
        gets no label when other columns are conditions, since the target's
        distribution given them is unknown: the model draws it with the rest.
        """
        values, mask = known if known is not None else (None, None)
        if module.label_block is None:
            return values, mask, None
        start, stop = module.label_units
        if mask is not None and bool(mask[start:stop].all()):
            labels = module.labels_of(values).expand(n_samples)
            return values, mask, labels
        if mask is not None:
            return values, mask, None
        labels = torch.multinomial(
            self._class_prior(), n_samples, replacement=True, generator=generator
        )
        values = torch.zeros((n_samples, module.n_features), device=self.device_)
        values[:, start:stop] = torch.nn.functional.one_hot(labels, stop - start).to(
            values.dtype
        )
        mask = torch.zeros(module.n_features, dtype=torch.bool, device=self.device_)
        mask[start:stop] = True
        return values, mask, labels

    def _sample_encoded(self, n_samples, generator, known=None):
        module = self.net_.sampling_module()
        n_steps, eta = self._reverse_steps(), float(self.eta)
        # On the CPU, denoising a few thousand rows at a time keeps every step's
        # intermediates in cache; a GPU takes the whole chunk at once.
        block = _CPU_SAMPLE_BLOCK if self.device_ == "cpu" else max(n_samples, 1)
        parts = []
        for start in range(0, n_samples, block):
            size = min(block, n_samples - start)
            values, mask, labels = self._with_labels(module, size, generator, known)
            parts.append(
                reverse_sample(
                    module,
                    size,
                    generator,
                    n_steps=n_steps,
                    eta=eta,
                    known=values,
                    known_mask=mask,
                    labels=labels,
                )
            )
        if not parts:
            parts = [torch.zeros((0, module.n_features), device=self.device_)]
        return module.to_encoded(torch.cat(parts) if len(parts) > 1 else parts[0])

    # ------------------------------------------------------------ conditions

    def _known_units(self, target):
        """Grouped values and mask of the units fixed by ``target`` ({column: value}).

        None when nothing can be inpainted: interval conditions (``pd.Interval``)
        constrain a range, not a value, and are left to the base class's check.
        """
        target = {k: v for k, v in target.items() if not isinstance(v, pd.Interval)}
        if not target:
            return None
        encoder = self.encoder_
        layout = encoder.layout_
        # Any valid row, then the requested values: encoded like a training row.
        row = encoder.inverse_transform(
            np.zeros((1, layout.n_features), dtype=np.float32)
        )
        for name, value in target.items():
            row[name] = pd.Series([value], dtype=object)
        encoded = encoder.encode(row, mode_assignment="argmax")
        schemas = self._columns_by_name()
        mask = np.zeros(layout.n_features, dtype=bool)
        for name, value in target.items():
            numeric_missing = pd.isna(value) and not schemas[name].is_discrete
            for span in layout.spans_for(name):
                if numeric_missing and span.role != "missing":
                    continue  # a missing number: only its indicator is fixed
                mask[span.start : span.stop] = True
        module = self.net_.module_
        order = module.order.cpu().numpy()
        values = torch.from_numpy(np.ascontiguousarray(encoded[:, order])).to(
            self.device_
        )
        return values, torch.from_numpy(mask[order]).to(self.device_)

    def _generate_candidates(self, n_samples, target, generator):
        return self._generate(n_samples, generator, known=self._known_units(target))
