"""The autoregressive transformer's modules and skorch net (no estimator)."""

import itertools

import numpy as np
import pytest
import torch

from sklearn_gen._training._autoregressive import AutoregressiveNet
from sklearn_gen.nn._autoregressive import (
    AutoregressiveTransformer,
    CausalBlock,
    ColumnPlan,
    TokenNLLLoss,
    gumbel_argmax,
)

N_BINS = 8


def _columns():
    """A discrete column (3 codes), a numerical one with missing values, a
    numerical one without, and a discrete one with 2 codes; encoded width 6."""
    thresholds = list(np.arange(1, N_BINS) / N_BINS)
    return [
        dict(kind="discrete", code=0, n_tokens=3),
        dict(
            kind="numeric",
            value=1,
            missing=2,
            n_tokens=N_BINS + 1,
            thresholds=thresholds,
        ),
        dict(
            kind="numeric",
            value=4,
            missing=None,
            n_tokens=N_BINS,
            thresholds=thresholds,
        ),
        dict(kind="discrete", code=5, n_tokens=2),
    ]


def _module(seed=0, **kwargs):
    torch.manual_seed(seed)
    params = dict(embedding_dim=16, n_heads=2, n_layers=2, feedforward_dim=32)
    module = AutoregressiveTransformer(_columns(), N_BINS, 6, **{**params, **kwargs})
    # Non-trivial weights everywhere (the head starts small).
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return module.eval()


def _random_tokens(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    sizes = [3, N_BINS + 1, N_BINS, 2]
    return torch.stack([torch.randint(s, (n,), generator=g) for s in sizes], dim=1)


def test_cached_steps_equal_the_full_causal_pass():
    torch.manual_seed(0)
    block = CausalBlock(16, 4, 32).eval()
    x = torch.randn(5, 7, 16)
    full = block(x)
    cache = block.new_cache(5, 7, x)
    steps = torch.stack([block.step(x[:, t], cache, t) for t in range(7)], dim=1)
    torch.testing.assert_close(steps, full, rtol=1e-5, atol=1e-5)


def test_embedding_dim_must_split_into_heads():
    with pytest.raises(ValueError, match="multiple of n_heads"):
        CausalBlock(10, 4, 8)


def test_log_probs_are_normalised_and_causal():
    module = _module()
    tokens = _random_tokens(6)
    order = torch.tensor([2, 0, 3, 1]).expand(6, -1)
    with torch.no_grad():
        log_probs = module(tokens, order)
    assert log_probs.shape == (6, 4, N_BINS + 1)
    total = torch.logsumexp(log_probs, dim=-1)
    torch.testing.assert_close(total, torch.zeros_like(total), atol=1e-5, rtol=0)
    # Padding of the 3- and 2-token columns is impossible.
    assert (
        torch.isinf(log_probs[:, 0, 3:]).all()
        and torch.isinf(log_probs[:, 3, 2:]).all()
    )
    # Changing the last column of the order (column 1) changes nothing before it.
    changed = tokens.clone()
    changed[:, 1] = (changed[:, 1] + 1) % (N_BINS + 1)
    with torch.no_grad():
        again = module(changed, order)
    torch.testing.assert_close(again, log_probs)
    # Changing the first column (2) changes the predictions of the later ones.
    changed = tokens.clone()
    changed[:, 2] = (changed[:, 2] + 3) % N_BINS
    with torch.no_grad():
        again = module(changed, order)
    torch.testing.assert_close(again[:, 2], log_probs[:, 2])
    assert not torch.allclose(again[:, 0], log_probs[:, 0])


def test_first_column_is_predicted_from_nothing():
    """The column placed first gets the same distribution whatever the row holds
    and whatever comes after it (its marginal)."""
    module = _module()
    tokens = _random_tokens(5)
    with torch.no_grad():
        a = module(tokens, torch.tensor([1, 3, 0, 2]).expand(5, -1))
        b = module(tokens, torch.tensor([1, 0, 2, 3]).expand(5, -1))
    torch.testing.assert_close(a[:, 1], a[:1, 1].expand(5, -1))
    torch.testing.assert_close(a[:, 1], b[:, 1])
    assert not torch.allclose(a[:, 0], b[:, 0])


def test_per_row_orders_match_one_row_at_a_time():
    module = _module()
    tokens = _random_tokens(3)
    orders = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]])
    with torch.no_grad():
        together = module.log_likelihood(tokens, orders)
        alone = torch.cat(
            [
                module.log_likelihood(tokens[i : i + 1], orders[i : i + 1])
                for i in range(3)
            ]
        )
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_generate_samples_from_the_modelled_distribution():
    """Sampled rows (all-discrete view) follow exp(log_likelihood)."""
    columns = [
        dict(kind="discrete", code=0, n_tokens=3),
        dict(kind="discrete", code=1, n_tokens=2),
    ]
    torch.manual_seed(0)
    module = AutoregressiveTransformer(
        columns, 4, 2, embedding_dim=8, n_heads=2, n_layers=1, feedforward_dim=8
    )
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))
    module.eval()
    g = torch.Generator().manual_seed(1)
    tokens, _, _ = module.generate(60_000, [0, 1], g)
    grid = torch.tensor(list(itertools.product(range(3), range(2))))
    with torch.no_grad():
        expected = (
            module.log_likelihood(grid, torch.tensor([0, 1]).expand(6, -1)).sum(1).exp()
        )
    counts = torch.tensor([((tokens == row).all(1)).float().mean() for row in grid])
    assert float(expected.sum()) == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(counts, expected.float(), atol=0.01, rtol=0)


def test_tokenize_and_to_encoded_round_trip():
    module = _module()
    levels = torch.tensor([0.01, 0.13, 0.5, 0.99], dtype=torch.float64)
    encoded = torch.zeros(4, 6)
    encoded[:, 0] = torch.tensor([0.0, 1.0, 2.0, 1.0])
    encoded[:, 1] = torch.special.ndtri(levels).float()
    encoded[:, 2] = torch.tensor([1.0, 0.0, 1.0, 1.0])  # observed
    encoded[:, 3] = torch.tensor([0.0, 1.0, 0.0, 0.0])  # missing in row 1
    encoded[:, 4] = torch.special.ndtri(levels.flip(0)).float()
    encoded[:, 5] = torch.tensor([1.0, 0.0, 0.0, 1.0])
    tokens = module.tokenize(encoded)
    expected_bins = torch.floor(levels * N_BINS).long()
    assert tokens[:, 0].tolist() == [0, 1, 2, 1]
    assert tokens[:, 1].tolist() == [
        expected_bins[0],
        N_BINS,
        expected_bins[2],
        expected_bins[3],
    ]
    assert tokens[:, 2].tolist() == expected_bins.flip(0).tolist()
    level_grid = torch.zeros(4, 4, dtype=torch.float64)
    level_grid[:, 1], level_grid[:, 2] = levels, levels.flip(0)
    back = module.to_encoded(tokens, level_grid)
    assert back.dtype == torch.float64
    torch.testing.assert_close(back[:, 0], encoded[:, 0].double())
    assert back[:, 2:4].tolist() == encoded[:, 2:4].double().tolist()
    observed = [0, 2, 3]
    torch.testing.assert_close(back[observed, 1], torch.special.ndtri(levels[observed]))


def test_level_token_uses_the_thresholds():
    module = _module()
    level = torch.tensor([0.0, 0.124, 0.125, 0.126, 0.999], dtype=torch.float64)
    assert module.level_token(1, level).tolist() == [0, 0, 1, 1, 7]


def test_generate_honours_forced_tokens_and_intervals():
    module = _module()
    n = 400
    forced = torch.zeros(n, dtype=torch.bool)
    forced[:200] = True
    plans = {
        0: ColumnPlan(torch.ones(n, dtype=torch.bool), torch.full((n,), 2)),
        1: ColumnPlan(
            forced,
            torch.full((n,), N_BINS),  # missing
            p=torch.full((n,), 0.5, dtype=torch.float64),
            interval=~forced,
            low=torch.full((n,), 0.30, dtype=torch.float64),
            high=torch.full((n,), 0.40, dtype=torch.float64),
        ),
    }
    g = torch.Generator().manual_seed(0)
    tokens, levels, log_weight = module.generate(n, [0, 1, 2, 3], g, plans=plans)
    assert (tokens[:, 0] == 2).all()
    assert (tokens[:200, 1] == N_BINS).all()
    inside = levels[200:, 1]
    assert ((inside >= 0.30) & (inside <= 0.40)).all()
    assert set(tokens[200:, 1].tolist()) <= {
        2,
        3,
    }  # bins [0.25, 0.375) and [0.375, 0.5)
    assert (log_weight < 0).all() and torch.isfinite(log_weight).all()


def test_gumbel_argmax_follows_softmax():
    g = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([0.2, 0.5, 0.3])).expand(50_000, -1)
    draws = gumbel_argmax(logits, g)
    freq = torch.bincount(draws, minlength=3).float() / len(draws)
    torch.testing.assert_close(freq, torch.tensor([0.2, 0.5, 0.3]), atol=0.01, rtol=0)
    masked = logits.clone()
    masked[:, 1] = float("-inf")
    assert (gumbel_argmax(masked, g) != 1).all()


def test_token_nll_loss_is_the_mean_negative_log_likelihood():
    ll = torch.tensor([[-1.0, -2.0], [-3.0, -4.0]])
    assert float(TokenNLLLoss()(ll)) == pytest.approx(2.5)


def _net(order=None, **kwargs):
    net = AutoregressiveNet(
        module=AutoregressiveTransformer,
        module__columns=_columns(),
        module__n_bins=N_BINS,
        module__n_features=6,
        module__embedding_dim=16,
        module__n_heads=2,
        module__n_layers=1,
        module__feedforward_dim=16,
        criterion=TokenNLLLoss,
        optimizer=torch.optim.Adam,
        lr=1e-2,
        batch_size=64,
        max_epochs=30,
        train_split=None,
        verbose=0,
        order=order,
        **kwargs,
    )
    return net.initialize()


def _encoded_table(n=256, seed=0):
    """Column 3 copies column 0's parity; the numericals are bin-aligned levels."""
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 6), dtype=np.float32)
    X[:, 0] = rng.randint(0, 3, n)
    levels = (rng.randint(0, N_BINS, n) + 0.5) / N_BINS
    X[:, 1] = torch.special.ndtri(torch.tensor(levels)).numpy()
    X[:, 2] = 1.0
    X[:, 4] = torch.special.ndtri(torch.tensor(levels[::-1].copy())).numpy()
    X[:, 5] = X[:, 0] % 2
    return X


def test_net_trains_on_random_orders_reproducibly():
    X = _encoded_table()
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        net = _net()
        net.rng_ = torch.Generator().manual_seed(0)
        net.fit(X)
        losses.append(net.history[:, "train_loss"])
    assert losses[0] == losses[1]
    assert losses[0][-1] < losses[0][0]
    orders = net.column_orders(50)
    assert orders.shape == (50, 4)
    assert (orders.sort(dim=1).values == torch.arange(4)).all()
    assert len({tuple(o) for o in orders.tolist()}) > 5


def test_net_with_a_fixed_order():
    net = _net(order=[3, 1, 0, 2])
    net.rng_ = torch.Generator().manual_seed(0)
    assert net.column_orders(3).tolist() == [[3, 1, 0, 2]] * 3
    net.partial_fit(_encoded_table(64))
    assert len(net.history) == 30
