"""skorch ``NeuralNet`` subclasses, one per training objective.

The generators hold one of these (composition). What the subclasses change in skorch:

* the data path: the encoded table is moved to the device once, and batches are
  seeded ``torch.randperm`` index slices of it (:class:`IndexBatchIterator`), instead
  of a ``DataLoader`` collating one row per ``__getitem__``;
* the step: ``train_step_single`` / ``train_step`` compute each objective, drawing
  noise from the explicit generator ``rng_`` instead of torch's global RNG.

``fit``, ``fit_loop`` and ``run_single_epoch`` are skorch's own, so callbacks
(progress, early stopping, checkpoints, LR schedules) work unchanged.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from skorch.utils import TeeGenerator

from ..nn._ctgan import gradient_penalty
from ._batching import IndexBatchIterator


class TableNet(NeuralNet):
    """A skorch net whose training data is one tensor resident on the device.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`skorch.NeuralNet`. ``train_split`` should be None: the
        generators train on everything they are given.
    drop_last : bool, default=False
        Drop a final short batch in every epoch.

    Notes
    -----
    Set ``rng_`` (a ``torch.Generator`` on the training device) before ``fit``;
    it drives the batch permutations and every noise draw. It is not pickled.

    The generator also sets ``resumed_epochs_`` before every fit call: the
    epochs of the current run already trained before an interruption (0 for a
    new run). Nets whose schedule spans a run (a learning-rate decay, a stage
    split) continue it from there.
    """

    #: Batch-level history keys of the losses the objective records; the
    #: generators' :class:`~._callbacks.FiniteLossGuard` watches them all.
    finite_loss_keys = ("train_loss",)
    #: What some of those keys measure, for error messages.
    loss_descriptions = {}

    def __init__(self, module, *args, drop_last=False, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.drop_last = drop_last

    def _rng(self):
        rng = getattr(self, "rng_", None)
        if rng is None:
            # A net used outside a generator (or after unpickling) still trains,
            # with a fresh seed.
            rng = torch.Generator(device=self.device)
            rng.seed()
            self.rng_ = rng
        return rng

    def _parallel(self):
        """The :class:`~._distributed.DataParallel` of this fit when it has peers."""
        parallel = getattr(self, "data_parallel_", None)
        return parallel if parallel is not None and parallel.active else None

    def _batch_rng(self):
        """Generator of the batch permutations.

        ``rng_`` when training alone; with data-parallel peers, a generator seeded
        the same in every process, so that they cut the same permutation.
        """
        parallel = self._parallel()
        if parallel is None:
            return self._rng()
        rng = getattr(self, "batch_rng_", None)
        if rng is None:
            rng = self.batch_rng_ = parallel.batch_generator(self.device)
        return rng

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        parallel = self._parallel()
        if parallel is None or not training or iterator is None:
            return super().run_single_epoch(
                iterator, training, prefix, step_fn, **fit_params
            )
        super().run_single_epoch(
            parallel.shard(iterator), training, prefix, step_fn, **fit_params
        )
        parallel.sync_buffers(self)
        return None

    def _step_optimizer(self, step_fn):
        if self._parallel() is None:
            return super()._step_optimizer(step_fn)
        # Gradients first, then the steps: each optimiser's pre-step hook averages
        # them over the processes (a closure would run after the hook).
        step_fn()
        for name in self._optimizers:
            getattr(self, name + "_").step()
        return None

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(X, np.ndarray):
            X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        X = X.to(device=self.device, dtype=torch.float32)
        return X, None

    def get_iterator(self, dataset, training=False):
        if training:
            return IndexBatchIterator(
                dataset,
                self.batch_size,
                self._batch_rng(),
                shuffle=True,
                drop_last=self.drop_last and len(dataset) >= self.batch_size,
            )
        return IndexBatchIterator(dataset, self.batch_size, None, shuffle=False)

    def randn(self, *shape):
        """Standard normal noise on the training device from ``rng_``."""
        return torch.randn(shape, generator=self._rng(), device=self.device)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("rng_", None)
        state.pop("batch_rng_", None)
        state.pop("data_parallel_", None)
        return state


class VAENet(TableNet):
    """Trains a VAE module on the ELBO (one optimiser over encoder and decoder).

    The module's ``forward(x, eps)`` returns ``(out, mu, logvar, sigma)`` and the
    criterion turns that and the batch into the loss (see :class:`~sklearn_gen.nn.ELBOLoss`).
    """

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = batch
        eps = self.randn(Xi.shape[0], self.module_.fc_mu.out_features)
        outputs = self.module_(Xi, eps)
        loss = self.criterion_(outputs, Xi)
        loss.backward()
        return {"loss": loss, "y_pred": outputs[0]}

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        self.module_.clamp_sigma()
        return step


class _ResampledBatches:
    """One pass of ``n_batches`` batches of exactly ``batch_size`` rows, drawn with
    replacement: for a table smaller than a batch (a GAN needs whole packs)."""

    def __init__(self, X, batch_size, generator, n_batches=1):
        self.X = X
        self.batch_size = int(batch_size)
        self.generator = generator
        self.n_batches = int(n_batches)

    def __len__(self):
        return self.n_batches

    def __iter__(self):
        for _ in range(self.n_batches):
            idx = torch.randint(
                self.X.shape[0], (self.batch_size,), generator=self.generator,
                device=self.X.device,
            )
            yield self.X[idx], None


class GANNet(TableNet):
    """Trains a conditional WGAN-GP (CTGAN) with two optimisers.

    ``module`` is the generator (:class:`~sklearn_gen.nn.CTGANGeneratorModule`);
    ``discriminator`` (with ``discriminator__*`` parameters) becomes
    ``discriminator_``; ``optimizer`` trains only the generator and
    ``optimizer_discriminator`` (with ``optimizer_discriminator__*`` parameters,
    e.g. ``optimizer_discriminator__lr``, settable and grid-searchable like
    ``optimizer__lr``) only the discriminator. ``criterion`` is a
    :class:`~sklearn_gen.nn.CTGANLoss`: the conditional cross-entropy term, and the
    layout indices.

    Every training step (one per batch of ``batch_size`` rows) runs
    ``discriminator_steps`` critic updates on the WGAN-GP loss
    ``E[D(fake)] - E[D(real)] + gradient_penalty * GP``, then one generator update on
    ``-E[D(fake)] + CE(condition)``, the critic scoring (after its update) the fake
    rows of its last step: one generator forward pass serves both updates, and
    neither update computes gradients for the other network's weights.

    Conditions are drawn by training-by-sampling: for each row a categorical column
    uniformly, then one of its categories with probability proportional to its
    (log-)frequency, and a real row having that category. The per-category row
    tables are built on the device once per ``fit`` call (one sorted index array
    plus offsets), so a batch's conditions and matching real rows are a few tensor
    operations. History keys: ``train_loss`` (generator) and
    ``train_loss_discriminator`` (critic, without the gradient penalty).

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`TableNet`. ``batch_size`` must be a multiple of the
        discriminator's ``pac``; every batch has exactly ``batch_size`` rows.
    discriminator : type or torch.nn.Module
        The critic; called as ``discriminator_(rows, generator=...)``.
    optimizer_discriminator : type, default=torch.optim.Adam
        The critic's optimiser.
    discriminator_steps : int, default=1
        Critic updates per generator update.
    gradient_penalty : float, default=10.0
        Weight lambda of the gradient penalty.
    log_frequency : bool, default=True
        Draw training conditions by log-frequency (True) or frequency (False).
    """

    finite_loss_keys = ("train_loss_discriminator", "train_loss")
    loss_descriptions = {
        "train_loss_discriminator": "the critic's Wasserstein loss",
        "train_loss": "the generator's loss",
    }

    def __init__(
        self,
        module,
        criterion,
        *args,
        discriminator,
        optimizer_discriminator=torch.optim.Adam,
        discriminator_steps=1,
        gradient_penalty=10.0,
        log_frequency=True,
        drop_last=True,
        **kwargs,
    ):
        super().__init__(module, criterion, *args, drop_last=drop_last, **kwargs)
        self.discriminator = discriminator
        self.optimizer_discriminator = optimizer_discriminator
        self.discriminator_steps = discriminator_steps
        self.gradient_penalty = gradient_penalty
        self.log_frequency = log_frequency

    # ------------------------------------------------------------ components

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            (
                "train_loss_discriminator",
                PassthroughScoring(name="train_loss_discriminator", on_train=True),
            ),
        ]

    def initialize_module(self):
        super().initialize_module()
        params = self.get_params_for("discriminator")
        self.discriminator_ = self.initialized_instance(self.discriminator, params)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        # Each optimiser gets its own network's parameters only: the default
        # (get_all_learnable_params) would hand the critic's to the generator's.
        pgroups, params = self.get_params_for_optimizer(
            "optimizer", self.module_.named_parameters()
        )
        self.optimizer_ = self.optimizer(*pgroups, **params)
        pgroups, params = self.get_params_for_optimizer(
            "optimizer_discriminator", self.discriminator_.named_parameters()
        )
        self.optimizer_discriminator_ = self.optimizer_discriminator(*pgroups, **params)
        return self

    # ------------------------------------------------------------ data path

    def get_split_datasets(self, X, y=None, **fit_params):
        X, _ = super().get_split_datasets(X, y, **fit_params)
        self._build_condition_tables(X)
        return X, None

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training=False)
        pac = self.discriminator_.pac
        if self.batch_size % pac:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of pac ({pac}): "
                "the discriminator scores packs of pac rows."
            )
        if len(dataset) >= self.batch_size:
            return IndexBatchIterator(
                dataset, self.batch_size, self._batch_rng(), shuffle=True, drop_last=True
            )
        return _ResampledBatches(dataset, self.batch_size, self._batch_rng())

    def _build_condition_tables(self, X):
        """Per-category row tables for training-by-sampling, on X's device."""
        condition = self.criterion_.condition
        self._tables = {"X": X}
        if not condition.n_conditions:
            return
        unit_enc, _, unit_column, _ = condition.tensors(X.device)
        # Transposed one-hot: nonzero lists (category, row) pairs grouped by
        # category, rows ascending — the sorted index array, with no sort.
        categories, rows = (X[:, unit_enc].t() > 0.5).nonzero(as_tuple=True)
        counts = torch.bincount(categories, minlength=condition.n_conditions)
        offsets = torch.cumsum(counts, 0) - counts
        weights = counts.to(torch.float64)
        if self.log_frequency:
            weights = torch.log1p(weights)
        n_columns, device = condition.n_columns, X.device
        column_offsets = torch.tensor(
            condition.offsets, dtype=torch.long, device=device
        )
        position = torch.arange(condition.n_conditions, device=device) - column_offsets[
            unit_column
        ]
        totals = torch.zeros(n_columns, dtype=torch.float64, device=device).index_add_(
            0, unit_column, weights
        )
        cdf = torch.zeros(
            (n_columns, max(condition.widths)), dtype=torch.float64, device=device
        )
        cdf[unit_column, position] = weights / totals[unit_column]
        cdf = torch.cumsum(cdf, dim=1)
        # Past a column's last category the cdf is > 1 (never below a uniform
        # draw); its last category closes at exactly 1.
        widths = torch.tensor(condition.widths, device=device)
        cdf[torch.arange(cdf.shape[1], device=device)[None, :] >= widths[:, None]] = 2.0
        cdf[torch.arange(n_columns, device=device), widths - 1] = 1.0
        row_dtype = torch.int32 if X.shape[0] < 2**31 else torch.long
        self._tables.update(
            rows=rows.to(row_dtype),
            counts=counts,
            offsets=offsets,
            cdf=cdf,
            column_offsets=column_offsets,
        )
        if getattr(self, "resumed_epochs_", 0):
            return  # a resumed run: its rows were counted when it started
        seen = self.module_.condition_counts
        with torch.no_grad():
            seen += counts.to(seen.dtype)

    def on_train_end(self, net, **kwargs):
        # The training table and its index tables are not part of the model.
        self.__dict__.pop("_tables", None)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_tables", None)
        return state

    # ------------------------------------------------------------ conditions

    def _training_conditions(self, n, batch=None):
        """Training-by-sampling: ``(ids, cond, rows)`` for ``n`` rows.

        Without categorical columns there is no condition (``ids`` and ``cond``
        are None) and the real rows are ``batch``, or random rows when None.
        """
        tables, rng = self._tables, self._rng()
        X = tables["X"]
        condition = self.criterion_.condition
        if not condition.n_conditions:
            if batch is not None:
                return None, None, batch
            idx = torch.randint(X.shape[0], (n,), generator=rng, device=X.device)
            return None, None, X[idx]
        device = X.device
        column = torch.randint(condition.n_columns, (n,), generator=rng, device=device)
        u = torch.rand((n, 1), generator=rng, device=device, dtype=tables["cdf"].dtype)
        # index_select rather than advanced indexing: cheaper per call on the CPU.
        category = (tables["cdf"].index_select(0, column) <= u).sum(dim=1)
        ids = tables["column_offsets"].index_select(0, column) + category
        counts = tables["counts"].index_select(0, ids)
        pick = (torch.rand(n, generator=rng, device=device) * counts).long()
        pick = torch.minimum(pick, counts - 1)
        starts = tables["offsets"].index_select(0, ids) + pick
        rows = tables["rows"].index_select(0, starts).long()
        return ids, condition.one_hot(ids, dtype=X.dtype), X.index_select(0, rows)

    def sample_condition_ids(self, n, generator, category=None):
        """Category ids of the conditional vectors for sampling ``n`` rows.

        ``category`` fixes every row's condition (native conditional sampling);
        otherwise a column is drawn uniformly and one of its categories by its
        frequency in the training data, which recovers the joint distribution from
        the learned conditionals. None when the table has no categorical column.
        """
        condition = self.criterion_.condition
        if not condition.n_conditions:
            return None
        counts = self.module_.condition_counts
        device = counts.device
        if category is not None:
            return torch.full((n,), int(category), dtype=torch.long, device=device)
        if n == 0:
            return torch.zeros(0, dtype=torch.long, device=device)
        _, _, unit_column, _ = condition.tensors(device)
        totals = torch.zeros(condition.n_columns, dtype=counts.dtype, device=device)
        totals.index_add_(0, unit_column, counts)
        probs = counts / totals[unit_column].clamp_min(1.0)
        return torch.multinomial(probs, n, replacement=True, generator=generator)

    def generate(self, n, generator, category=None):
        """Raw generator outputs for ``n`` rows (noise and conditions drawn)."""
        module = self.module_
        device = module.condition_counts.device
        noise = torch.randn(
            (n, module.embedding_dim), generator=generator, device=device
        )
        ids = self.sample_condition_ids(n, generator, category)
        return module(noise, ids)

    # ------------------------------------------------------------ training

    @staticmethod
    def _joined(rows, cond):
        return rows if cond is None else torch.cat([rows, cond], dim=1)

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        X, _ = batch
        n = X.shape[0]
        generator, critic, loss_fn = self.module_, self.discriminator_, self.criterion_
        rng = self._rng()
        steps, pac = int(self.discriminator_steps), critic.pac
        for step in range(steps):
            # Without conditions, the first step's real rows are the batch itself.
            ids, cond, real = self._training_conditions(n, X if step == 0 else None)
            # The last critic step's fake rows also serve the generator's step
            # (through the updated critic), so they keep their graph.
            with torch.set_grad_enabled(step == steps - 1):
                raw = generator(self.randn(n, generator.embedding_dim), ids)
                fake = loss_fn.activate(raw, generator=rng)
            real_in = self._joined(real, cond)
            fake_in = self._joined(fake.detach(), cond)
            self.optimizer_discriminator_.zero_grad(set_to_none=True)
            # One pass over fake then real rows (packs never straddle the two).
            scores = critic(torch.cat([fake_in, real_in]), generator=rng)
            wasserstein = scores[: n // pac].mean() - scores[n // pac :].mean()
            penalty = gradient_penalty(
                critic, real_in, fake_in, rng, weight=float(self.gradient_penalty)
            )
            (wasserstein + penalty).backward()
            self.optimizer_discriminator_.step()
        loss_d = wasserstein.detach()

        self.optimizer_.zero_grad(set_to_none=True)
        # The critic's weights need no gradient in the generator's step.
        critic.requires_grad_(False)
        try:
            loss_g = -critic(self._joined(fake, cond), generator=rng).mean() + loss_fn(
                raw, ids
            )
            loss_g.backward()
        finally:
            critic.requires_grad_(True)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(generator.named_parameters()),
            batch=batch,
            training=True,
        )
        self.optimizer_.step()
        self.history.record_batch("train_loss_discriminator", loss_d.item())
        return {"loss": loss_g.detach(), "y_pred": fake.detach()}
