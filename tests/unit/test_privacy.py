"""Privacy building blocks: DPConfig, Poisson batches, per-row gradient clipping,
identifier columns, and the attack-based risk scores."""

import re
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from sklearn_gen import CTGANGenerator, DPConfig, TVAEGenerator
from sklearn_gen._training._batching import PoissonBatchIterator
from sklearn_gen._training._privacy import (
    _UseTape,
    clipped_backward,
    elbo_rows,
    row_gradient_norms,
)
from sklearn_gen.metrics import (
    attribute_inference_score,
    evaluate_synthetic,
    membership_inference_score,
)
from sklearn_gen.nn import CTGANDiscriminatorModule, ELBOLoss, TVAEModule
from sklearn_gen.preprocessing import TabularEncoder, detect_identifiers
from sklearn_gen.preprocessing._identifiers import generate_identifiers

from ..conftest import make_generator, read_shared

# ------------------------------------------------------------------ DPConfig


def test_dpconfig_is_a_frozen_validated_parameter():
    config = DPConfig(epsilon=2.0, max_grad_norm=0.5)
    assert repr(config) == (
        "DPConfig(epsilon=2.0, delta=None, max_grad_norm=0.5, noise_multiplier=None)"
    )
    with pytest.raises(AttributeError):
        config.epsilon = 3.0
    assert config.resolve_delta(1000) == pytest.approx(1e-4)
    assert DPConfig(1.0, delta=1e-6).resolve_delta(1000) == 1e-6
    for bad in (
        dict(epsilon=0),
        dict(epsilon=-1),
        dict(epsilon=float("inf")),
        dict(epsilon=1, delta=1.5),
        dict(epsilon=1, delta=0),
        dict(epsilon=1, max_grad_norm=0),
        dict(epsilon=1, noise_multiplier=-1.0),
    ):
        with pytest.raises(ValueError, match="DPConfig"):
            DPConfig(**bad)
    gen = TVAEGenerator(privacy=config)
    copy = clone(gen)
    assert copy.get_params()["privacy"] == config
    with pytest.raises(ValueError, match="privacy"):
        TVAEGenerator(privacy=3.0).fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))


def test_missing_opacus_gives_one_line_install_hint(monkeypatch):
    df = pd.DataFrame({"a": np.arange(50.0), "b": ["x", "y"] * 25})
    monkeypatch.setitem(sys.modules, "opacus", None)
    gen = make_generator(TVAEGenerator, privacy=DPConfig(1.0))
    with pytest.raises(ImportError) as info:
        gen.fit(df)
    message = str(info.value)
    assert "pip install sklearn_gen[privacy]" in message and "\n" not in message


def test_private_ctgan_needs_pac_1(adult):
    gen = make_generator(CTGANGenerator, privacy=DPConfig(1.0), pac=4)
    with pytest.raises(ValueError, match="pac=1"):
        gen.fit(adult.iloc[:100])


# ------------------------------------------------------------ Poisson batches


def test_poisson_batches_have_the_expected_size_and_inclusion_rate():
    n, rate = 2000, 0.05
    X = torch.arange(n, dtype=torch.float32)[:, None]
    generator = torch.Generator().manual_seed(0)
    batches = PoissonBatchIterator(X, rate, 400, generator)
    assert len(batches) == 400
    sizes, counts = [], torch.zeros(n)
    for rows, none in batches:
        assert none is None
        sizes.append(rows.shape[0])
        counts[rows[:, 0].long()] += 1
        # Rows of a batch are distinct rows of X (an index selection).
        assert torch.unique(rows).numel() == rows.shape[0]
    sizes = np.array(sizes)
    expected = rate * n  # 100, binomial standard deviation ~9.7
    assert abs(sizes.mean() - expected) < 3 * np.sqrt(expected * (1 - rate) / 400)
    assert sizes.std() == pytest.approx(np.sqrt(expected * (1 - rate)), rel=0.2)
    assert len(set(sizes)) > 10  # variable batch sizes, not a fixed slice
    # Each row is included independently with probability rate: ~20 times.
    assert counts.mean().item() == pytest.approx(20, rel=0.02)
    spread = np.sqrt(400 * rate * (1 - rate))
    assert counts.std().item() == pytest.approx(spread, rel=0.15)


# ------------------------------------------------- per-row clipping (ghost norms)


def _per_row_grads(rows, params):
    """Brute force: every row's gradient with autograd, one row at a time."""
    grads = []
    for i in range(rows.shape[0]):
        g = torch.autograd.grad(rows[i], params, retain_graph=True, allow_unused=True)
        grads.append(
            torch.cat([(x if x is not None else torch.zeros_like(p)).reshape(-1)
                       for x, p in zip(g, params)])
        )
    return torch.stack(grads)


def _tvae_rows(adult):
    encoder = TabularEncoder(random_state=0).fit(adult.iloc[:200])
    layout = encoder.layout_
    X = torch.from_numpy(
        encoder.encode(adult.iloc[:12], mode_assignment="sample", random_state=0)
    ).float()
    torch.manual_seed(0)
    module = TVAEModule(layout.n_features, layout.output_width, 4, (8,), (8,))
    criterion = ELBOLoss(layout)
    tape = _UseTape()
    eps = torch.randn(X.shape[0], 4)
    with tape.watching(module):
        out, mu, logvar, sigma = module(X, eps)
    ones = X.new_ones((X.shape[0], 1))
    sigma_rows = ones @ sigma[None, :]
    tape.add(sigma, "right", ones, sigma_rows)
    rows = elbo_rows(
        out, mu, logvar, sigma_rows, X, criterion.reconstruction.index, 2.0
    )
    reference = criterion((out, mu, logvar, sigma), X)
    return module, rows, tape, reference


def test_elbo_rows_average_to_the_elbo_loss(adult):
    _, rows, _, reference = _tvae_rows(adult)
    assert rows.mean().item() == pytest.approx(reference.item(), rel=1e-5)


def test_vae_row_gradient_norms_match_per_row_autograd(adult):
    module, rows, tape, _ = _tvae_rows(adult)
    params = list(module.parameters())
    norms = row_gradient_norms(rows, tape, params)
    brute = _per_row_grads(rows, params)
    torch.testing.assert_close(norms, brute.norm(dim=1), rtol=1e-4, atol=1e-5)
    clipped_backward(rows, tape, params, max_norm=1.0)
    coef = (1.0 / (brute.norm(dim=1) + 1e-6)).clamp(max=1.0)
    expected = (coef[:, None] * brute).sum(dim=0)
    got = torch.cat([p.grad.reshape(-1) for p in params])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert (brute.norm(dim=1) > 1.0).any()  # clipping actually happened


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_critic_row_gradient_norms_match_per_row_autograd(dropout):
    from sklearn_gen._training._privacy import PrivateGANNet

    torch.manual_seed(0)
    critic = CTGANDiscriminatorModule(6, (8, 5), pac=1, dropout=dropout).train()
    real = torch.randn(10, 6)
    fake = torch.randn(7, 6)

    class _Net:  # the attributes PrivateGANNet._critic_rows reads
        discriminator_ = critic
        gradient_penalty = 10.0

    tape = _UseTape()
    rng = torch.Generator().manual_seed(1)
    rows, scores = PrivateGANNet._critic_rows(_Net(), real, fake, rng, tape)
    assert rows.shape == (10,) and scores.shape == (10,)
    params = list(critic.parameters())
    norms = row_gradient_norms(rows, tape, params)
    brute = _per_row_grads(rows, params)
    torch.testing.assert_close(norms, brute.norm(dim=1), rtol=1e-4, atol=1e-5)
    # The penalty is really a function of the input gradient: matches autograd.
    if dropout == 0.0:
        rng = torch.Generator().manual_seed(1)
        pick = torch.randint(7, (10,), generator=rng)
        alpha = torch.rand((10, 1), generator=rng)
        mixed = (alpha * real + (1 - alpha) * fake[pick]).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed)
        penalty = 10.0 * (grad.norm(dim=1) - 1) ** 2
        torch.testing.assert_close(rows, penalty - critic(real).reshape(-1))


def test_an_unrecorded_parameter_is_refused():
    layer = torch.nn.Linear(3, 2)
    extra = torch.nn.Parameter(torch.ones(2))
    tape = _UseTape()
    with tape.watching(layer):
        rows = (layer(torch.randn(4, 3)) * extra).sum(dim=1)
    with pytest.raises(RuntimeError, match="no recorded per-row gradient"):
        row_gradient_norms(rows, tape, [layer.weight, layer.bias, extra])


def test_noise_of_the_private_step_has_the_calibrated_scale(adult, monkeypatch):
    """Update = (clipped sum + N(0, (sigma C)^2)) / E[batch]: fails without noise."""
    from opacus.optimizers import DPOptimizerFastGradientClipping

    residuals = []
    original = DPOptimizerFastGradientClipping.pre_step

    def spy(self, closure=None):
        summed = [p.grad.detach().clone() for p in self.params]
        result = original(self, closure)
        for p, s in zip(self.params, summed):
            residuals.append((p.grad * self.expected_batch_size - s).reshape(-1))
        return result

    monkeypatch.setattr(DPOptimizerFastGradientClipping, "pre_step", spy)
    config = DPConfig(epsilon=50.0, noise_multiplier=2.0, max_grad_norm=0.5)
    gen = make_generator(TVAEGenerator, epochs=1, privacy=config).fit(adult)
    noise = torch.cat(residuals)
    assert noise.numel() > 10_000
    assert noise.mean().item() == pytest.approx(0.0, abs=0.05)
    assert noise.std().item() == pytest.approx(2.0 * 0.5, rel=0.05)
    assert gen.privacy_spent_[0] <= 50.0


# ------------------------------------------------------------- identifiers


def _people(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.permutation(10**6)[:n] + 10,
            "Code": [f"AB-{v:05d}" for v in rng.permutation(99999)[:n]],
            "email": [
                f"person{i}.x@{'gmail.com' if i % 3 else 'corp.example'}"
                for i in range(n)
            ],
            "phone": [
                f"+351 {rng.integers(100, 999)} {rng.integers(100, 999)} "
                f"{rng.integers(100, 999)}"
                for _ in range(n)
            ],
            "uuid": [
                "-".join(
                    f"{int(rng.integers(16**k)):0{k}x}" for k in (8, 4, 4, 4, 12)
                )
                for _ in range(n)
            ],
            "full_name": [
                f"{a} {b}{c}"
                for a, b, c in zip(
                    rng.choice(["Ana", "Rui", "Marta", "Joao"], n),
                    rng.choice(["Silva", "Costa", "Santos"], n),
                    [chr(97 + i % 26) + chr(97 + i // 26 % 26) for i in range(n)],
                )
            ],
            "age": rng.integers(18, 90, n),
            "amount": rng.integers(0, 10**8, n),  # unique, but a measurement
            "income": rng.normal(3000, 500, n).round(2),
            "city": rng.choice(["Lisbon", "Porto"], n),
            "joined": pd.date_range("2020-01-01", periods=n, freq="h").astype(str),
            "note": [f"{w} {i}" for i, w in enumerate(rng.choice(["ok", "late"], n))],
        }
    )


def test_detect_identifiers_flags_ids_emails_phones_uuids_names_codes():
    found = {c.name: c.format for c in detect_identifiers(_people())}
    assert found == {
        "customer_id": "integer",
        "Code": "pattern",
        "email": "email",
        "phone": "phone",
        "uuid": "uuid",
        "full_name": "name",
    }


def test_detect_identifiers_is_conservative():
    people = _people()
    # Too few rows to tell; a repeated value; the excluded target.
    assert detect_identifiers(people.iloc[:19]) == []
    dup = people[["customer_id"]].copy()
    dup.iloc[1, 0] = dup.iloc[0, 0]
    assert detect_identifiers(dup) == []
    assert detect_identifiers(people[["customer_id"]], exclude=["customer_id"]) == []
    # Unique integers without an id name are measurements, unless a row number.
    frame = pd.DataFrame({"value": np.random.default_rng(0).permutation(5000)[:900]})
    assert detect_identifiers(frame) == []
    rows = pd.DataFrame({0: np.random.default_rng(0).permutation(1500)})
    assert [c.format for c in detect_identifiers(rows)] == ["integer"]
    # Unique floats, datetime strings, category-like strings are never flagged.
    assert detect_identifiers(pd.DataFrame({"x": np.linspace(0, 1, 500)})) == []


@pytest.mark.parametrize(
    "name",
    ["adult.csv", "bank_marketing.csv", "california_housing.csv", "nyc_taxis.csv"],
)
def test_no_column_of_the_shared_datasets_is_flagged(name):
    frame = read_shared(name)
    assert detect_identifiers(frame) == []
    for seed in range(3):  # small samples make more columns unique by chance
        assert detect_identifiers(frame.sample(300, random_state=seed)) == []


def test_credit_default_flags_only_its_id_column():
    frame = read_shared("credit_default.csv")
    found = detect_identifiers(frame)
    assert [(c.name, c.format) for c in found] == [("ID", "integer")]
    sample = frame.sample(300, random_state=0)
    assert [c.name for c in detect_identifiers(sample)] == ["ID"]


def test_generated_identifiers_are_fresh_unique_and_of_the_same_format():
    people = _people()
    rng = np.random.default_rng(0)
    patterns = {
        "Code": r"[A-Z]{2}-\d{5}",
        "email": r"[a-z][a-z0-9]{9}@(gmail\.com|corp\.example|example\.com)",
        "phone": r"\+\d{3} \d{3} \d{3} \d{3}",
        "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        "full_name": r"[A-Z][a-z]+ [A-Z][a-z]+",
    }
    for column in detect_identifiers(people):
        values = pd.Series(generate_identifiers(column, 1000, rng))
        assert values.is_unique
        assert not values.isin(people[column.name]).any()
        if column.format == "integer":
            assert values.dtype == people[column.name].dtype
            assert values.min() > people[column.name].max()
        else:
            assert values.str.fullmatch(patterns[column.name]).all(), column.name
    # Rare email domains are not reproduced.
    rare = people.assign(email=[f"p{i}@own-{i % 40}.org" for i in range(len(people))])
    (email,) = [c for c in detect_identifiers(rare) if c.format == "email"]
    values = pd.Series(generate_identifiers(email, 200, rng))
    assert values.str.endswith("@example.com").all()


def test_generated_identifiers_keep_missing_values_and_dtypes():
    rng = np.random.default_rng(0)
    ids = pd.array(np.arange(100, 400), dtype="Int64")
    ids[::10] = pd.NA
    frame = pd.DataFrame({"row_id": ids, "code": pd.array(
        [f"X{i:04d}" if i % 5 else None for i in range(300)], dtype="string")})
    found = {c.name: c for c in detect_identifiers(frame)}
    assert set(found) == {"row_id", "code"}
    values = generate_identifiers(found["row_id"], 2000, rng)
    assert values.dtype == "Int64"
    assert pd.isna(values).mean() == pytest.approx(0.1, abs=0.03)
    codes = generate_identifiers(found["code"], 2000, rng)
    assert codes.dtype == "string"
    assert pd.isna(codes).mean() == pytest.approx(0.2, abs=0.03)


# ------------------------------------------------------------- risk scores


def test_membership_attack_flags_copies_not_fresh_samples(adult_full):
    train, holdout = adult_full.iloc[:1500], adult_full.iloc[1500:3000]
    fresh = adult_full.iloc[3000:4500]  # independent rows of the true distribution
    assert membership_inference_score(train, train, holdout) > 0.99
    assert membership_inference_score(train, fresh, holdout) == pytest.approx(
        0.5, abs=0.05
    )
    half = pd.concat([train.iloc[:750], fresh.iloc[:750]])
    assert 0.65 < membership_inference_score(train, half, holdout) < 0.85
    copies = membership_inference_score(train, train, holdout, method="density_ratio")
    indep = membership_inference_score(train, fresh, holdout, method="density_ratio")
    assert copies > 0.8 and indep == pytest.approx(0.5, abs=0.06)
    # Deterministic, and arrays work.
    first = membership_inference_score(train, fresh, holdout)
    assert first == membership_inference_score(train, fresh, holdout)
    numeric = ["age", "fnlwgt", "hours-per-week"]
    value = membership_inference_score(
        train[numeric].to_numpy(),
        train[numeric].to_numpy(),
        holdout[numeric].to_numpy(),
    )
    assert value > 0.95
    with pytest.raises(ValueError, match="method"):
        membership_inference_score(train, train, holdout, method="shadow")


def test_attribute_inference_equals_sdmetrics_disclosure_protection(adult_full):
    from sdmetrics.single_table import DisclosureProtection

    real = adult_full.iloc[:300].reset_index(drop=True)
    synthetic = adult_full.iloc[300:700].reset_index(drop=True)
    known = ["age", "sex", "race", "relationship"]
    for method in ("cap", "zero_cap"):
        ours = attribute_inference_score(
            real, synthetic, sensitive="income", known=known, method=method
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = DisclosureProtection.compute(
                real,
                synthetic,
                known_column_names=known,
                sensitive_column_names=["income"],
                computation_method=method,
                continuous_column_names=["age"],
            )
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_attribute_inference_lower_for_copies(adult_full):
    train = adult_full.iloc[:1500]
    known = ["age", "sex", "race", "marital-status", "education"]
    copies = attribute_inference_score(train, train, sensitive="income", known=known)
    fresh = attribute_inference_score(
        train, adult_full.iloc[1500:3000], sensitive="income", known=known
    )
    assert 0 <= copies < fresh <= 1
    with pytest.raises(ValueError, match="not a column"):
        attribute_inference_score(train, train, sensitive="salary")
    with pytest.raises(ValueError, match="both known and sensitive"):
        attribute_inference_score(train, train, sensitive="income", known=["income"])
    with pytest.raises(ValueError, match="method"):
        attribute_inference_score(train, train, sensitive="income", method="gcap")


def test_evaluate_synthetic_lists_the_attack_scores(adult_full):
    train, real = adult_full.iloc[:800], adult_full.iloc[800:1200]
    scores = evaluate_synthetic(
        real,
        train.iloc[:400],
        train=train,
        target="income",
        metrics=["membership_inference", "attribute_inference"],
    )
    assert list(scores.index) == ["membership_inference", "attribute_inference"]
    assert scores["membership_inference"] > 0.7
    with pytest.raises(ValueError, match="needs train"):
        evaluate_synthetic(real, real, metrics=["membership_inference"])
    assert re.search("membership_inference", evaluate_synthetic.__doc__)
