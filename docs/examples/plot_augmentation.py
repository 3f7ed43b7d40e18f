"""
=================================================
Over-sampling a rare class with generated rows
=================================================

Adult census rows with the high-income class made rare (5 % of the rows). We
compare a logistic regression trained on

* the real rows only,
* the real rows plus SMOTENC's interpolated minority rows,
* the real rows plus minority rows drawn from a class-conditional
  :class:`~sklearn_gen.TVAEGenerator`, through
  :class:`~sklearn_gen.GenerativeOverSampler` in an imbalanced-learn pipeline,
* the same generator inside :class:`~sklearn_gen.AugmentedEstimator`, which fits
  generator and classifier in one ``fit`` and so works in a plain scikit-learn
  pipeline.

Every resampling happens inside ``fit``, so under cross-validation the generator only
ever sees the training folds. The generator is trained for a few epochs so that the
example runs in well under a minute; ``benchmarks/bench_augmentation.py`` has the
full comparison (more data, 5 folds, CTGAN too).
"""

# %%
# A rare class
# ------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from imblearn.over_sampling import SMOTENC
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_gen import AugmentedEstimator, GenerativeOverSampler, TVAEGenerator
from sklearn_gen.datasets import load_adult

torch.set_num_threads(1)  # small networks: extra threads only add overhead

df = load_adult()
y_all = (df.pop("income").str.strip() == ">50K").astype(int)
rng = np.random.RandomState(0)
majority = np.flatnonzero(y_all == 0)
minority = np.flatnonzero(y_all == 1)
keep = np.r_[
    rng.choice(majority, 1900, replace=False), rng.choice(minority, 100, replace=False)
]
X, y = df.iloc[keep].reset_index(drop=True), y_all.iloc[keep].reset_index(drop=True)
print(y.value_counts().to_dict())

# %%
# Four ways to train the same classifier
# --------------------------------------
# The classifier one-hot encodes the string columns and scales the numbers.


def classifier():
    return make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include=object)),
            (StandardScaler(), make_column_selector(dtype_include="number")),
        ),
        LogisticRegression(max_iter=1000),
    )


generator = TVAEGenerator(epochs=10, batch_size=200, random_state=0)
categorical = list(X.select_dtypes(object).columns)
models = {
    "real only": classifier(),
    "SMOTENC": make_imb_pipeline(
        SMOTENC(categorical_features=categorical, random_state=0), classifier()
    ),
    "GenerativeOverSampler": make_imb_pipeline(
        GenerativeOverSampler(generator, sampling_strategy=0.5, random_state=0),
        classifier(),
    ),
    "AugmentedEstimator": AugmentedEstimator(
        classifier(), generator, n_synthetic=900, class_balance="balance", random_state=0
    ),
}

# %%
# Cross-validated on real held-out folds
# --------------------------------------
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
scores = {}
for name, model in models.items():
    scores[name] = cross_val_score(model, X, y, cv=cv, scoring="balanced_accuracy")
    print(f"{name:>22}: balanced accuracy {scores[name].mean():.3f} "
          f"± {scores[name].std():.3f}")

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(scores), [s.mean() for s in scores.values()],
        xerr=[s.std() for s in scores.values()])
ax.set_xlabel("balanced accuracy (3-fold CV)")
ax.set_xlim(0.5, 1.0)
fig.tight_layout()

# %%
# Re-balancing helps this linear model most, whichever way the minority rows are
# made; with a few epochs of training the generator's rows are rougher than
# SMOTENC's interpolations. See the benchmark page for the full comparison, which
# also reports where augmentation does not help.
