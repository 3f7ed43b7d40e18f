"""Data-parallel training of one generator over several processes (GPUs).

Launched with ``accelerate launch`` (or ``torchrun``), every process runs the same
script and fits the same generator. Hugging Face Accelerate sets up the process
group and gives each process its device; this module does the rest, for every
family, without changing a training step:

* **data**: the batch permutation is drawn from a generator seeded identically in
  every process, and process ``r`` of ``w`` takes batches ``r, r + w, r + 2w, ...``
  of it — a partition of the table, like ``DistributedSampler``. Every process takes
  the same number of batches, so their optimiser steps pair up;
* **noise**: each process draws its noise (latents, timesteps, conditions) from its
  own seed, so the processes' batches are not given the same noise;
* **gradients**: before each optimiser step the gradients of that optimiser's
  parameters are averaged over the processes (one flat all-reduce); the weights
  start identical (same seed, then a broadcast from process 0), so they stay so;
* **buffers** (batch-norm statistics) are broadcast from process 0 after each epoch.

skorch's ``AccelerateMixin`` is not used: it wraps modules in
``DistributedDataParallel`` (the training steps read attributes of their modules),
prepares ``DataLoader`` objects (ours are index slices of a resident tensor), and
replaces ``train_step_single`` (the families define their own).
"""

import os

import torch

_MISSING_ACCELERATE = (
    "data_parallel=True needs Hugging Face Accelerate: pip install accelerate "
    "(then launch the script with `accelerate launch` or `torchrun`)."
)


def process_state(cpu=False):
    """Accelerate's ``PartialState``: rank, world size and this process's device.

    Parameters
    ----------
    cpu : bool, default=False
        Use the CPU even where there are GPUs (the first call in a process
        decides: the state is shared by the whole process).

    Raises
    ------
    ImportError
        If ``accelerate`` is not installed.
    """
    try:
        from accelerate import PartialState
    except ImportError as exc:  # pragma: no cover - accelerate is a test dependency
        raise ImportError(_MISSING_ACCELERATE) from exc
    state = PartialState(cpu=cpu)
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and state.num_processes != launched:
        raise RuntimeError(
            f"The launcher started {launched} processes but Accelerate set up "
            f"{state.num_processes}; each would train alone on the whole table. "
            "Check the accelerate config (accelerate env) and the launch command."
        )
    return state


class DataParallel:
    """What a :class:`~._nets.TableNet` needs to train as one of several processes.

    Parameters
    ----------
    state : accelerate.PartialState
        The process group (``process_index``, ``num_processes``, ``device``).
    batch_seed : int
        Seed of the batch permutations, equal in every process.
    """

    def __init__(self, state, batch_seed):
        self.state = state
        self.rank = int(state.process_index)
        self.world = int(state.num_processes)
        self.batch_seed = int(batch_seed)
        self._hooks = []

    @property
    def active(self):
        """Whether there is more than one process (else nothing to do)."""
        return self.world > 1

    def batch_generator(self, device):
        """The generator of the batch permutations: the same in every process."""
        generator = torch.Generator(device=device)
        generator.manual_seed(self.batch_seed)
        return generator

    def shard(self, iterator):
        """This process's batches of one pass of ``iterator``."""
        return _Shard(iterator, self.rank, self.world)

    # ------------------------------------------------------------ collectives

    def attach(self, net):
        """Start: equal weights everywhere, and gradient averaging on every step."""
        if not self.active:
            return
        for module in _modules(net):
            for tensor in list(module.parameters()) + list(module.buffers()):
                torch.distributed.broadcast(tensor.data, src=0)
        for name in net._optimizers:
            optimizer = getattr(net, name + "_")
            self._hooks.append(optimizer.register_step_pre_hook(self._average_gradients))

    def __getstate__(self):
        # Pickled only by a checkpoint taken mid-training: the process group and
        # the hooks belong to this process.
        state = self.__dict__.copy()
        state["state"] = None
        state["_hooks"] = []
        return state

    def detach(self):
        """End of a fit: remove the hooks (they hold this object, not picklable)."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    def _average_gradients(self, optimizer, args, kwargs):
        if self.state is None:
            return
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = [
            p.grad if p.grad is not None else torch.zeros_like(p) for p in params
        ]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p, g in zip(params, grads):
            n = g.numel()
            p.grad = flat[offset : offset + n].view_as(p).clone()
            offset += n

    def sum_over_processes(self, values, device):
        """Sums of a few numbers over the processes (as Python floats)."""
        flat = torch.tensor(
            [float(v) for v in values], dtype=torch.float64, device=device
        )
        torch.distributed.all_reduce(flat)
        return flat.tolist()

    def sync_buffers(self, net):
        """Broadcast buffers (e.g. batch-norm running statistics) from process 0."""
        if not self.active:
            return
        for module in _modules(net):
            for buffer in module.buffers():
                torch.distributed.broadcast(buffer.data, src=0)


def _modules(net):
    return [
        getattr(net, name + "_")
        for name in net._modules
        if isinstance(getattr(net, name + "_", None), torch.nn.Module)
    ]


class _Shard:
    """Batches ``rank, rank + world, ...`` of each pass of a batch iterator.

    Every process gets ``max(1, n // world)`` batches, so the optimiser steps of the
    processes pair up; with fewer batches than processes, some processes repeat a
    batch (tiny tables only).
    """

    def __init__(self, iterator, rank, world):
        self.iterator = iterator
        self.rank = rank
        self.world = world

    def __len__(self):
        return max(1, len(self.iterator) // self.world)

    def __iter__(self):
        n = len(self.iterator)
        if n < self.world:
            batches = list(self.iterator)
            yield batches[self.rank % len(batches)]
            return
        wanted = len(self) * self.world
        for i, batch in enumerate(self.iterator):
            if i >= wanted:
                break
            if i % self.world == self.rank:
                yield batch
