"""
=====================================
Synthetic census rows with TVAE
=====================================

Fit a :class:`~sklearn_gen.TVAEGenerator` on the Adult census table bundled with
the package, sample as many synthetic rows as the training split has, and compare
them with held-out real rows: the distribution of ``age``, the frequencies of
``workclass`` and the SDMetrics quality score.

The model is trained for a few epochs only, so that this example runs in well under
a minute on a CPU; more epochs (TVAE's default is 300) give better samples.
"""

# %%
# Load the data and fit the model
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_gen import TVAEGenerator
from sklearn_gen.datasets import load_adult
from sklearn_gen.metrics import quality_score

df = load_adult()
train, test = train_test_split(df, test_size=0.2, random_state=0)

gen = TVAEGenerator(epochs=20, random_state=0).fit(train)
synthetic = gen.sample(len(train), random_state=0)
synthetic.head()

# %%
# The synthetic table has the columns and dtypes of the real one.
print((synthetic.dtypes == train.dtypes).all())

# %%
# Compare a numerical column
# --------------------------
bins = np.arange(15, 95, 2.5)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(test["age"], bins=bins, density=True, alpha=0.6, label="real (held out)")
ax.hist(synthetic["age"], bins=bins, density=True, alpha=0.6, label="synthetic")
ax.set_xlabel("age")
ax.set_ylabel("density")
ax.legend()
fig.tight_layout()

# %%
# Compare a categorical column
# ----------------------------
real_freq = test["workclass"].value_counts(normalize=True)
synthetic_freq = (
    synthetic["workclass"]
    .value_counts(normalize=True)
    .reindex(real_freq.index, fill_value=0)
)
positions = np.arange(len(real_freq))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.barh(positions - 0.2, real_freq.to_numpy(), height=0.4, label="real (held out)")
ax.barh(positions + 0.2, synthetic_freq.to_numpy(), height=0.4, label="synthetic")
ax.set_yticks(positions, [label.strip() for label in real_freq.index])
ax.invert_yaxis()
ax.set_xlabel("share of rows")
ax.set_title("workclass")
ax.legend()
fig.tight_layout()

# %%
# Quality score
# -------------
# The SDMetrics QualityReport score of the synthetic rows against the held-out
# ones: the mean of Column Shapes and Column Pair Trends, 1 being a perfect match.
# The metadata SDMetrics needs is built from the generator's schema.
score, report = quality_score(
    test, synthetic, schema=gen.encoder_.schema_, return_report=True
)
print(f"quality score: {score:.3f}")
print(report.get_properties())

# %%
# ``gen.score(test)`` computes the same quality for a fresh sample of
# ``len(test)`` rows, which is what ``GridSearchCV`` uses to compare models.
print(f"gen.score(test): {gen.score(test):.3f}")

plt.show()
