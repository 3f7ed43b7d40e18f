"""Latent diffusion for tables: the TabSyn design (Zhang et al., ICLR 2024)."""

import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval

from .._training import adam_fused
from .._training._latent import LatentDiffusionNet
from ..base import BaseGenerator
from ..nn._latent import (
    EDMDenoiser,
    TabularTransformerVAE,
    TabularVAELoss,
    edm_sample,
)
from ..preprocessing import TabularEncoder
from ._docstrings import fill_shared_docs

#: Rows denoised together when sampling on the CPU: the MLP's activations of a
#: block stay in cache.
_CPU_SAMPLE_BLOCK = 4096


@fill_shared_docs
class LatentDiffusionGenerator(BaseGenerator):
    """Latent diffusion model for tables (TabSyn) as a scikit-learn estimator.

    Numerical columns are quantile-normalised and categorical columns integer-coded
    by :class:`~sklearn_gen.preprocessing.TabularEncoder`. Training runs two
    stages inside one ``fit``:

    1. **VAE.** Each column becomes a token of ``d_token`` units: a numerical
       value ``x_i`` by a learned linear map ``w_i x_i + b_i``, a category by an
       embedding (a column with missing values gets one more categorical token, its
       missing indicator). A transformer (``n_layers`` layers, ``n_heads`` heads)
       gives a Gaussian posterior per token; a second transformer and per-column
       heads reconstruct the row (mean squared error for numerical columns,
       cross-entropy for categorical ones). The KL weight ``beta`` starts at
       ``beta_max`` and is multiplied by ``beta_lambda`` after every
       ``beta_patience`` epochs without a better reconstruction, down to
       ``beta_min`` (TabSyn's adaptive schedule).
    2. **Diffusion.** The training rows' latents (posterior means, flattened to
       ``n_tokens * d_token`` units and standardised per unit) are modelled by a
       score-based diffusion model with EDM's design (Karras et al. 2022):
       log-normal noise levels, the ``c_skip / c_out / c_in / c_noise``
       preconditioning and an MLP denoiser of width ``diffusion_dim`` with a
       noise-level embedding.

    Sampling integrates EDM's stochastic Heun sampler over ``sample_steps`` noise
    levels (from 80 down to 0.002, ``2 * sample_steps - 1`` denoiser calls) and
    decodes the latents with the VAE's decoder: numerical values as decoded, each
    category as the argmax of its logits (as TabSyn does).

    ``epochs`` counts both stages: the first ``vae_epochs`` epochs of a ``fit``
    call train the VAE and the remaining ``epochs - vae_epochs`` the diffusion
    model. The history (``history_``) records ``stage`` per epoch, and
    ``train_loss`` is the current stage's loss, so a callback that monitors it
    (e.g. ``EarlyStopping``) sees the loss jump when the stage changes.

    **Conditions** are native, by inpainting in the latent space (TabSyn's
    imputation): every column has its own latent token, so the tokens of the
    conditioned columns are held at their encoding during the reverse process,
    re-noised to the current noise level after every step, and the other tokens
    are denoised around them, with RePaint's resampling (``inpainting_resamples``
    rounds per step) to harmonise the two. The encoder's transformer mixes
    columns, so a conditioned column's token depends on the others; it is taken
    from encoding a row in which every unconditioned column enters as its
    expected input token (the mean numerical token, the frequency-weighted mean
    of the category embeddings), an approximation of the token the column would
    have in a full row. Conditioned numerical columns (and their missing
    indicator) are then written exactly; conditioned categorical columns are
    decoded like the others, and rows whose decoded category differs (rare once
    the VAE is trained) are redrawn by the base class's bounded rejection, so
    every returned row meets the conditions. A category that under 1% of the
    inpainted candidates decode to (one the VAE barely learned, e.g. seen once)
    is written instead, like a numerical value. Inpainting steers, it is not an
    exact posterior: the other columns follow the condition less sharply than
    in the model's own unconditional rows that happen to meet it. An interval
    condition on a numerical column fixes no value, so that column is not
    inpainted: its interval is met by rejection alone. ``fit(X, y)`` makes ``y``
    a column, so ``conditions={target_name_: label}`` gives class-conditional
    rows.

    ``transform`` returns the flattened posterior mean of the latent (with the
    target, if any, entering as its expected token) and ``inverse_transform``
    decodes latents deterministically.

    Parameters
    ----------
    d_token : int, default=4
        Width of every column's token and latent.
    n_heads : int, default=1
        Attention heads of the VAE's transformers (must divide ``d_token``).
    n_layers : int, default=2
        Transformer layers of the VAE's encoder and of its decoder.
    factor : int, default=8
        Feed-forward width of a transformer layer, in multiples of ``d_token``
        (TabSyn uses 32; 8 costs a third as much per epoch on the CPU).
    vae_lr : float, default=1e-3
        Learning rate of the VAE's Adam optimiser.
    beta_max : float, default=1e-2
        Initial KL weight.
    beta_min : float, default=1e-5
        Smallest KL weight.
    beta_lambda : float, default=0.7
        Factor applied to the KL weight on a plateau of the reconstruction loss.
    beta_patience : int, default=10
        Epochs without a better reconstruction loss before the KL weight decays.
    vae_epochs : int, default=100
        Epochs of the VAE stage in each ``fit`` call (must be below ``epochs``).
        In a ``partial_fit`` call, 0 continues the diffusion model only.
    diffusion_dim : int, default=256
        Hidden width of the denoiser MLP (its layers are ``dim, 2 dim, 2 dim,
        dim``). Wider needs a lower ``diffusion_lr``: on Adult, 512 at the
        default rate collapsed in two of three seeds (Column Shapes error 18.6
        and 9.8 %; ``benchmarks/results/exp_latent_diffusion_512.md``), while
        512 with ``diffusion_lr=5e-4`` was stable and, both without the moving
        average (``ema_decay=0``), better than 256 (shapes error 2.8 against
        3.2 %, LogisticDetection 0.90 against 0.87;
        ``benchmarks/results/exp_ld512_lr5e4.md``), at about three times the fit
        time (1,570 to 2,020 s on one CPU core). The default 256 with the
        moving average scored 2.5 % and 0.90 at the default fit time.
    diffusion_lr : float, default=1e-3
        Learning rate of the denoiser's Adam optimiser.
    ema_decay : float, default=0.999
        Decay of an exponential moving average of the denoiser's weights, kept
        during the diffusion stage and sampled from (0: sample with the trained
        weights themselves). The average restarts with every VAE stage (a new
        latent space). It changes nothing about training and costs no fit time;
        against 0 on the same seeds and splits, 0.999 lowered the Column
        Shapes error on every one of three seeds of Adult (2.51 against 3.27 % on
        average; LogisticDetection 0.901 against 0.861;
        ``benchmarks/results/exp_ld_ema.md``) and of each of the four other
        benchmark tables (12 of 12 seed-table cells; ``exp_ld_shared_ema_s*.md``).
    sample_steps : int, default=50
        Noise levels of the sampler; fewer is faster and coarser. Read at
        sampling time, so it can be changed with ``set_params`` after fitting.
        On the same fitted models (Adult, three seeds;
        ``benchmarks/results/sample_steps_latent_diffusion.md``) the Column
        Shapes error was 13.5 % with 5 levels, 3.1 % with 10, 2.4 % with 25,
        2.5 % with 50 and 2.5 % with 100 (LogisticDetection 0.89, 0.90, 0.91
        from 25 up); time is proportional to the levels.
    inpainting_resamples : int, default=5
        Conditional sampling only: RePaint's resampling rounds per noise level
        (each step is redone this many times, going back to its starting noise
        level in between), so the free latent tokens adapt to the held ones.
        Conditional rows cost this many times as much as unconditional ones.
    %(identifiers_parameter)s
    epochs : int, default=500
        Epochs per ``fit`` call, both stages together: ``vae_epochs`` of the VAE,
        then ``epochs - vae_epochs`` of the diffusion model.
    batch_size : int, default=1024
        Rows per gradient step in both stages (capped at the number of rows).
    %(device_parameters)s
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch net. Copied, never modified.

    Attributes
    ----------
    encoder_ : TabularEncoder
        The fitted encoder (``encoder_.schema_`` describes every column).
    net_ : skorch.NeuralNet
        The trained network wrapper: ``net_.module_`` is the VAE,
        ``net_.denoiser_`` the diffusion model and ``net_.ema_denoiser_`` its
        moving average (sampled from when ``ema_decay > 0``).
    history_ : skorch.History
        Per-epoch training history (``history_[:, "train_loss"]``, ``"stage"``,
        and ``"beta"`` / ``"train_reconstruction"`` / ``"train_kl"`` in VAE
        epochs).
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
    TVAEGenerator : A VAE without the diffusion stage.

    References
    ----------
    .. [1] H. Zhang, J. Zhang, B. Srinivasan, Z. Shen, X. Qin, C. Faloutsos,
       H. Rangwala, G. Karypis, "Mixed-Type Tabular Data Synthesis with
       Score-based Diffusion in Latent Space", ICLR 2024.
    .. [2] T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the Design Space
       of Diffusion-Based Generative Models", NeurIPS 2022.
    .. [3] A. Lugmayr et al., "RePaint: Inpainting using Denoising Diffusion
       Probabilistic Models", CVPR 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import LatentDiffusionGenerator
    >>> X = load_wine(as_frame=True).frame
    >>> gen = LatentDiffusionGenerator(epochs=2, vae_epochs=1, sample_steps=5,
    ...                                random_state=0).fit(X)
    >>> gen.sample(5).shape
    (5, 14)
    >>> gen.transform(X).shape
    (178, 56)
    """

    _parameter_constraints = {
        **BaseGenerator._parameter_constraints,
        "d_token": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "factor": [Interval(numbers.Integral, 1, None, closed="left")],
        "vae_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "beta_max": [Interval(numbers.Real, 0, None, closed="left")],
        "beta_min": [Interval(numbers.Real, 0, None, closed="left")],
        "beta_lambda": [Interval(numbers.Real, 0, 1, closed="right")],
        "beta_patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "vae_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "diffusion_dim": [Interval(numbers.Integral, 2, None, closed="left")],
        "diffusion_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "ema_decay": [Interval(numbers.Real, 0, 1, closed="left")],
        "sample_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "inpainting_resamples": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        d_token=4,
        n_heads=1,
        n_layers=2,
        factor=8,
        vae_lr=1e-3,
        beta_max=1e-2,
        beta_min=1e-5,
        beta_lambda=0.7,
        beta_patience=10,
        vae_epochs=100,
        diffusion_dim=256,
        diffusion_lr=1e-3,
        ema_decay=0.999,
        sample_steps=50,
        inpainting_resamples=5,
        identifiers="regenerate",
        epochs=500,
        batch_size=1024,
        device="auto",
        data_parallel=False,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.d_token = d_token
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.factor = factor
        self.vae_lr = vae_lr
        self.beta_max = beta_max
        self.beta_min = beta_min
        self.beta_lambda = beta_lambda
        self.beta_patience = beta_patience
        self.vae_epochs = vae_epochs
        self.diffusion_dim = diffusion_dim
        self.diffusion_lr = diffusion_lr
        self.ema_decay = ema_decay
        self.sample_steps = sample_steps
        self.inpainting_resamples = inpainting_resamples
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
        if self.d_token % self.n_heads:
            raise ValueError(
                f"d_token ({self.d_token}) must be a multiple of n_heads "
                f"({self.n_heads}): each attention head reads d_token / n_heads units."
            )
        if self.beta_min > self.beta_max:
            raise ValueError(
                f"beta_min ({self.beta_min}) must not exceed beta_max "
                f"({self.beta_max})."
            )
        if self.vae_epochs >= self.epochs:
            raise ValueError(
                f"vae_epochs ({self.vae_epochs}) must be smaller than epochs "
                f"({self.epochs}): epochs counts both stages, the VAE's first and "
                "the diffusion model's after it."
            )
        if self.vae_epochs < 1 and not (warm_start and hasattr(self, "net_")):
            raise ValueError(
                "vae_epochs must be at least 1 for the first fit (the VAE must be "
                "trained before its latent space can be modelled); 0 is allowed in "
                "partial_fit to continue the diffusion model only."
            )
        if warm_start and hasattr(self, "net_"):
            # The base class updates max_epochs on a warm start; the stage split too.
            self.net_.set_params(vae_epochs=int(self.vae_epochs))
        return super()._fit(X, y, warm_start=warm_start)

    def _make_encoder(self):
        return TabularEncoder(continuous="quantile", categorical="ordinal")

    def _make_net(self, layout, net_kwargs):
        fused = adam_fused(self.device_)
        return LatentDiffusionNet(
            module=TabularTransformerVAE,
            module__layout=layout,
            module__d_token=int(self.d_token),
            module__n_heads=int(self.n_heads),
            module__n_layers=int(self.n_layers),
            module__factor=int(self.factor),
            criterion=TabularVAELoss,
            optimizer=torch.optim.Adam,
            lr=float(self.vae_lr),
            optimizer__fused=fused,
            denoiser=EDMDenoiser,
            denoiser__d_in=len(layout) * int(self.d_token),
            denoiser__dim=int(self.diffusion_dim),
            optimizer_denoiser=torch.optim.Adam,
            optimizer_denoiser__lr=float(self.diffusion_lr),
            optimizer_denoiser__fused=fused,
            vae_epochs=int(self.vae_epochs),
            beta_max=float(self.beta_max),
            beta_min=float(self.beta_min),
            beta_lambda=float(self.beta_lambda),
            beta_patience=int(self.beta_patience),
            ema_decay=float(self.ema_decay),
            **net_kwargs,
        )

    def partial_fit(self, X, y=None):
        """Train for ``epochs`` more epochs on ``X`` (a warm start).

        The first call fits from scratch like :meth:`fit`. A later call trains
        the VAE for ``vae_epochs`` epochs on the new rows, then the diffusion
        model for the rest on their latents; with ``vae_epochs=0`` it only
        continues the diffusion model.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            New rows.
        y : array-like of shape (n_samples,), default=None
            Target, required exactly when the first fit had one.

        Returns
        -------
        self : object
        """
        return super().partial_fit(X, y)

    # ------------------------------------------------------------------ sample

    def _representation_width(self):
        return len(self.encoder_.layout_) * int(self.d_token)

    def _sample_encoded(self, n_samples, generator, condition=None):
        net = self.net_
        if not net.diffusion_ready():  # e.g. interrupted during the VAE stage
            resume = getattr(self, "_resume_", None)
            raise NotFittedError(net.not_ready_message(type(self).__name__, resume))
        vae, denoiser = net.module_, net.sampling_module()
        step = _CPU_SAMPLE_BLOCK if self.device_ == "cpu" else max(n_samples, 1)
        parts = []
        for start in range(0, n_samples, step):
            size = min(step, n_samples - start)
            known = mask = None
            if condition is not None:
                known, mask = condition["known"], condition["mask"]
            x = edm_sample(
                denoiser,
                size,
                generator,
                steps=int(self.sample_steps),
                known=known,
                mask=mask,
                resample=int(self.inpainting_resamples),
            )
            encoded = vae.to_encoded(*vae.decode(denoiser.unstandardize(x)))
            if condition is not None and condition["units"].numel():
                encoded[:, condition["units"]] = condition["values"]
            parts.append(encoded)
        if not parts:
            return torch.zeros(
                (0, self.encoder_.layout_.n_features), device=self.device_
            )
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    # ------------------------------------------------------------ conditions

    def _condition_row(self, target):
        """One encoded row holding the values of ``target`` (others arbitrary)."""
        encoder = self.encoder_
        row = encoder.inverse_transform(
            np.zeros((1, encoder.layout_.n_features), dtype=np.float32)
        )
        if not isinstance(row, pd.DataFrame):
            row = pd.DataFrame(row, columns=[c.name for c in encoder.schema_])
        for name, value in target.items():
            try:
                row[name] = pd.Series([value]).astype(row[name].dtype)
            except (TypeError, ValueError):
                row[name] = pd.Series([value], dtype=object)
        return encoder.encode(row, mode_assignment="argmax").astype(np.float32)

    def _latent_condition(self, target):
        """The inpainting inputs for ``target``: known latent units and their mask."""
        vae, denoiser = self.net_.module_, self.net_.denoiser_
        tokens_layout = vae.token_layout
        encoded = torch.from_numpy(self._condition_row(target)).to(self.device_)
        known_tokens = tokens_layout.tokens_of(target)
        tokens = self._masked_tokens(encoded, known_tokens)
        mu, _ = vae.encode_tokens(tokens)
        latent = denoiser.standardize(mu.reshape(1, -1))[0]
        token_mask = torch.zeros(vae.n_tokens, dtype=torch.bool, device=self.device_)
        token_mask[known_tokens] = True
        mask = token_mask.repeat_interleave(vae.d_token)
        # Numerical spans (values and missing indicators) of the conditioned
        # columns are written exactly into the decoded rows.
        units = [
            i
            for span in self.encoder_.layout_
            if span.column in target and not self._is_category_span(span)
            for i in range(span.start, span.stop)
        ]
        units = torch.tensor(units, dtype=torch.long, device=self.device_)
        return {
            "known": latent[mask],
            "mask": mask,
            "units": units,
            "values": encoded[0, units],
        }

    def _is_category_span(self, span):
        schema = self._columns_by_name()[span.column]
        return schema.is_discrete

    def _masked_tokens(self, encoded, known_tokens):
        """Input tokens where every token not in ``known_tokens`` is its mean token."""
        vae = self.net_.module_
        tokens = vae.embed(encoded)
        keep = torch.zeros(vae.n_tokens, dtype=torch.bool, device=encoded.device)
        keep[list(known_tokens)] = True
        return torch.where(keep[None, :, None], tokens, vae.mean_tokens()[None])

    def _generate_candidates(self, n_samples, target, generator):
        # Interval conditions fix no value: those columns are left to the model
        # and the base class's rejection.
        exact = {k: v for k, v in target.items() if not isinstance(v, pd.Interval)}
        if not exact:
            return super()._generate_candidates(n_samples, target, generator)
        self._eval()
        with torch.inference_mode():
            condition = self._latent_condition(exact)
        rows = self._generate(n_samples, generator, condition=condition)
        # A category the VAE barely learned seldom decodes from its inpainted latent.
        return self._write_rare_categories(rows, exact)

    # ------------------------------------------------------ representation

    def _represent(self, encoded):
        vae = self.net_.module_
        if self.target_name_ is None:
            mu, _ = vae.encode(encoded)
        else:
            # transform gets X alone: the target enters as its expected token.
            target_tokens = set(vae.token_layout.tokens_of([self.target_name_]))
            known = [i for i in range(vae.n_tokens) if i not in target_tokens]
            mu, _ = vae.encode_tokens(self._masked_tokens(encoded, known))
        return mu.reshape(encoded.shape[0], -1)

    def _unrepresent(self, representation):
        vae = self.net_.module_
        return vae.to_encoded(*vae.decode(representation))
