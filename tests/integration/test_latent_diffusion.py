"""LatentDiffusionGenerator (TabSyn) on real tables: stages, latents, conditions."""

import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gen import LatentDiffusionGenerator

from ..conftest import make_generator

#: Small, but trained enough for the VAE to reconstruct Adult's categories.
SMALL = dict(
    epochs=45,
    vae_epochs=30,
    vae_lr=5e-3,
    batch_size=128,
    factor=4,
    n_layers=1,
    diffusion_dim=64,
    sample_steps=10,
)


@pytest.fixture(scope="module")
def fitted_adult(adult):
    return make_generator(LatentDiffusionGenerator, **SMALL).fit(adult)


@pytest.fixture(scope="module")
def fitted_adult_y(adult):
    X, y = adult.drop(columns="income"), adult["income"]
    return make_generator(LatentDiffusionGenerator, **SMALL).fit(X, y)


def test_both_stages_train_through_skorch(fitted_adult):
    history = fitted_adult.history_
    stages = history[:, "stage"]
    assert stages == ["vae"] * 30 + ["diffusion"] * 15
    assert fitted_adult.n_iter_ == 45
    # The VAE's reconstruction improves and beta is recorded (never above beta_max).
    reconstruction = history[:30, "train_reconstruction"]
    assert reconstruction[-1] < 0.5 * reconstruction[0]
    betas = history[:30, "beta"]
    assert max(betas) == pytest.approx(1e-2) and min(betas) >= 1e-5
    losses = history[:, "train_loss"]
    assert np.isfinite(losses).all()
    # The denoiser learned something: its EDM loss fell during its stage.
    assert losses[-1] < losses[30]
    # The latent standardisation was set from the training latents.
    denoiser = fitted_adult.net_.denoiser_
    assert not torch.equal(denoiser.latent_std, torch.ones_like(denoiser.latent_std))


def test_adult_sample_keeps_columns_dtypes_and_categories(adult, fitted_adult):
    sample = fitted_adult.sample(1000, random_state=0)
    assert list(sample.columns) == list(adult.columns)
    assert (sample.dtypes == adult.dtypes).all()
    for column in adult.select_dtypes("object"):
        assert set(sample[column]) <= set(adult[column]), column
    for column in adult.select_dtypes("number"):
        assert sample[column].between(adult[column].min(), adult[column].max()).all()
    assert not sample.isna().any().any()
    # Not a constant decoder: the main categories all appear.
    assert sample["sex"].nunique() == 2
    assert sample["relationship"].nunique() >= 4


def test_transform_is_the_flattened_posterior_mean(adult, fitted_adult):
    Z = fitted_adult.transform(adult.iloc[:200])
    n_tokens = len(fitted_adult.encoder_.layout_)
    assert Z.shape == (200, n_tokens * 4) and Z.dtype == np.float32
    np.testing.assert_array_equal(Z, fitted_adult.transform(adult.iloc[:200]))
    # Batch-invariant: one row at a time gives the same latents.
    np.testing.assert_allclose(fitted_adult.transform(adult.iloc[:5]), Z[:5], atol=1e-6)
    # Decoding the posterior mean reconstructs the rows' categories.
    decoded = fitted_adult.inverse_transform(Z)
    assert (
        decoded["sex"].to_numpy() == adult["sex"].iloc[:200].to_numpy()
    ).mean() > 0.95
    assert fitted_adult.get_feature_names_out().shape == (Z.shape[1],)


def test_categorical_condition_is_exact_and_mostly_decoded_right(fitted_adult):
    rows = fitted_adult.sample(300, conditions={"sex": " Female"}, random_state=0)
    assert len(rows) == 300 and (rows["sex"] == " Female").all()
    # The inpainted latents decode to the requested category in most rows, so
    # the base class's rejection has little to redraw.
    candidates = fitted_adult._generate_candidates(
        1000, {"sex": " Female"}, torch.Generator().manual_seed(0)
    )
    assert (candidates["sex"] == " Female").mean() > 0.9
    # Conditioning steers the other columns too: in Adult no woman is a husband.
    husband_f = (rows["relationship"] == " Husband").mean()
    men = fitted_adult.sample(300, conditions={"sex": " Male"}, random_state=0)
    husband_m = (men["relationship"] == " Husband").mean()
    unconditional = fitted_adult.sample(1000, random_state=0)
    assert husband_f < (unconditional["relationship"] == " Husband").mean() < husband_m
    assert husband_m > 2 * husband_f


def test_numeric_and_joint_conditions_are_exact(fitted_adult):
    rows = fitted_adult.sample(100, conditions={"age": 30}, random_state=0)
    assert len(rows) == 100 and (rows["age"] == 30).all()
    rows = fitted_adult.sample(
        60, conditions={"sex": " Male", "hours-per-week": 45}, random_state=0
    )
    assert (rows["sex"] == " Male").all() and (rows["hours-per-week"] == 45).all()
    per_row = pd.DataFrame(
        {"race": [" White", " Black", " White"], "age": [25, 60, 40]}
    )
    rows = fitted_adult.sample(conditions=per_row, random_state=0)
    assert list(rows["race"]) == list(per_row["race"])
    assert list(rows["age"]) == list(per_row["age"])


def test_interval_condition_is_met_by_rejection(fitted_adult):
    rows = fitted_adult.sample(50, conditions={"age": (30, 40)}, random_state=0)
    assert rows["age"].between(30, 40).all()


def test_target_condition_is_exact(adult, fitted_adult_y):
    gen = fitted_adult_y
    assert gen.target_name_ == "income"
    X_new, y_new = gen.sample(200, conditions={"income": " >50K"}, random_state=0)
    assert len(X_new) == 200 and (y_new == " >50K").all()
    X_new, y_new = gen.sample(200, random_state=0)
    assert set(y_new) <= {" <=50K", " >50K"} and y_new.nunique() == 2
    Z = gen.transform(adult.drop(columns="income").iloc[:50])
    assert Z.shape == (50, len(gen.encoder_.layout_) * 4) and np.isfinite(Z).all()


def test_same_seed_same_model_and_rows(adult):
    small = adult.iloc[:300]
    params = dict(SMALL, epochs=6, vae_epochs=4)
    a = make_generator(LatentDiffusionGenerator, **params).fit(small)
    b = make_generator(LatentDiffusionGenerator, **params).fit(small)
    pd.testing.assert_frame_equal(
        a.sample(50, random_state=1), b.sample(50, random_state=1)
    )
    assert not a.sample(50, random_state=1).equals(a.sample(50, random_state=2))
    c = make_generator(LatentDiffusionGenerator, **dict(params, random_state=1)).fit(
        small
    )
    assert not a.sample(50, random_state=1).equals(c.sample(50, random_state=1))


def test_pickle_round_trip_on_cpu(fitted_adult):
    expected = fitted_adult.sample(100, random_state=7)
    restored = pickle.loads(pickle.dumps(fitted_adult))
    pd.testing.assert_frame_equal(restored.sample(100, random_state=7), expected)
    buffer = io.BytesIO()
    joblib.dump(fitted_adult, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    pd.testing.assert_frame_equal(
        loaded.sample(20, conditions={"sex": " Female"}, random_state=3),
        fitted_adult.sample(20, conditions={"sex": " Female"}, random_state=3),
    )
    assert loaded.device_ == "cpu"
    assert not hasattr(loaded.net_, "_latents") or loaded.net_._latents is None


def test_partial_fit_with_zero_vae_epochs_keeps_the_vae(adult):
    gen = make_generator(
        LatentDiffusionGenerator, **dict(SMALL, epochs=4, vae_epochs=2)
    ).fit(adult.iloc[:600])
    vae_before = {k: v.clone() for k, v in gen.net_.module_.state_dict().items()}
    den_before = {k: v.clone() for k, v in gen.net_.denoiser_.state_dict().items()}
    # New rows (a subset here, so that no category is unseen).
    gen.set_params(vae_epochs=0, epochs=3).partial_fit(adult.iloc[:300])
    assert gen.n_iter_ == 7 and gen.history_[-3:, "stage"] == ["diffusion"] * 3
    for name, value in gen.net_.module_.state_dict().items():
        if name in ("category_counts", "numeric_sum", "n_observed"):
            continue  # the input statistics do count the new rows
        torch.testing.assert_close(value, vae_before[name])
    assert gen.net_.module_.n_observed.item() == 900
    changed = [
        not torch.equal(v, den_before[k])
        for k, v in gen.net_.denoiser_.state_dict().items()
    ]
    assert any(changed)
    torch.testing.assert_close(gen.net_.denoiser_.latent_std, den_before["latent_std"])


def test_samples_from_the_moving_average_by_default(fitted_adult):
    net = fitted_adult.net_
    assert fitted_adult.ema_decay == 0.999 and net.ema_decay == 0.999
    assert net.sampling_module() is net.ema_denoiser_


def test_ema_averages_the_denoiser_over_diffusion_batches_only(adult):
    small = adult.iloc[:600]
    params = dict(SMALL, epochs=6, vae_epochs=3, batch_size=256)
    plain = make_generator(LatentDiffusionGenerator, ema_decay=0.0, **params)
    plain.fit(small)
    assert plain.net_.sampling_module() is plain.net_.denoiser_
    averaged = make_generator(LatentDiffusionGenerator, ema_decay=0.9, **params)
    averaged.fit(small)
    net = averaged.net_
    assert net.sampling_module() is net.ema_denoiser_
    # Three diffusion epochs of three batches: VAE batches do not count.
    assert net.ema_updates_ == 9
    # The average changes nothing about training, lags the weights, and carries
    # the denoiser's latent standardisation.
    for a, b in zip(plain.net_.denoiser_.parameters(), net.denoiser_.parameters()):
        torch.testing.assert_close(a, b)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(net.denoiser_.parameters(), net.ema_denoiser_.parameters())
    )
    torch.testing.assert_close(net.ema_denoiser_.latent_std, net.denoiser_.latent_std)
    rows = averaged.sample(50, random_state=0)
    assert not rows.equals(plain.sample(50, random_state=0))
    restored = pickle.loads(pickle.dumps(averaged))
    pd.testing.assert_frame_equal(restored.sample(50, random_state=0), rows)
    # Continuing the diffusion stage continues the average; a new VAE stage (a
    # new latent space) restarts it.
    averaged.set_params(vae_epochs=0, epochs=1).partial_fit(small)
    assert averaged.net_.ema_updates_ == 12
    averaged.set_params(vae_epochs=1, epochs=2).partial_fit(small)
    assert averaged.net_.ema_updates_ == 3


def test_global_random_state_is_left_alone(adult):
    np.random.seed(123)
    torch.manual_seed(123)
    expected_np = np.random.get_state()[1].copy()
    expected_torch = torch.random.get_rng_state().clone()
    gen = make_generator(LatentDiffusionGenerator, epochs=3, vae_epochs=2).fit(
        adult.iloc[:200]
    )
    gen.sample(10, conditions={"sex": " Male"})
    np.testing.assert_array_equal(np.random.get_state()[1], expected_np)
    assert torch.equal(torch.random.get_rng_state(), expected_torch)


@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(d_token=6, n_heads=4), ValueError, "multiple of n_heads"),
        (dict(epochs=5, vae_epochs=5), ValueError, "smaller than epochs"),
        (dict(epochs=5, vae_epochs=0), ValueError, "at least 1"),
        (dict(beta_min=1e-1, beta_max=1e-2), ValueError, "beta_min"),
        (dict(beta_lambda=1.5), InvalidParameterError, "beta_lambda"),
        (dict(vae_lr=0.0), InvalidParameterError, "vae_lr"),
        (dict(sample_steps=0), InvalidParameterError, "sample_steps"),
        (dict(d_token=2.5), InvalidParameterError, "d_token"),
        (dict(ema_decay=1.0), InvalidParameterError, "ema_decay"),
    ],
)
def test_bad_parameters_raise_clear_errors(adult, params, error, message):
    gen = make_generator(LatentDiffusionGenerator, **params)
    with pytest.raises(error, match=message):
        gen.fit(adult.iloc[:50])


def test_user_callbacks_and_progress_bar_see_both_stages(adult, capsys):
    from skorch.callbacks import Callback

    class Stages(Callback):
        def initialize(self):
            self.seen = []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.seen.append((net.history[-1, "stage"], net.history[-1, "train_loss"]))

    recorder = Stages()
    gen = make_generator(
        LatentDiffusionGenerator,
        **dict(SMALL, epochs=5, vae_epochs=3, verbose=1),
        callbacks=[("stages", recorder)],
    ).fit(adult.iloc[:300])
    assert not hasattr(recorder, "seen")  # the user's instance is copied, not used
    seen = dict(gen.net_.callbacks_)["stages"].seen
    assert [stage for stage, _ in seen] == ["vae"] * 3 + ["diffusion"] * 2
    assert all(np.isfinite(loss) for _, loss in seen)
    assert "LatentDiffusionGenerator" in capsys.readouterr().err
