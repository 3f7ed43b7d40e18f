"""
=====================================================
A report on synthetic data, and why it is detectable
=====================================================

Fit a :class:`~sklearn_gen.TVAEGenerator` on part of the Adult census table, then
build a :class:`~sklearn_gen.metrics.SyntheticReport` of its sample against held-out
real rows: every metric of :func:`~sklearn_gen.metrics.evaluate_synthetic`, each
column's distribution, the pairwise correlations and associations, and a detector of
synthetic rows with the columns and column pairs that give them away
(:func:`~sklearn_gen.metrics.explain_detection`).

The model is trained briefly on a few thousand rows so that this example runs in
well under a minute on a CPU: its flaws are easy to see, which is the point.
"""

# %%
# Fit a generator
# ---------------
import tempfile

import torch
from sklearn.model_selection import train_test_split

from sklearn_gen import TVAEGenerator
from sklearn_gen.datasets import load_adult
from sklearn_gen.metrics import SyntheticReport

torch.set_num_threads(1)

df = load_adult()
train, test = train_test_split(df, train_size=6000, test_size=3000, random_state=0)
gen = TVAEGenerator(epochs=15, batch_size=250, random_state=0).fit(train)

# %%
# Build the report
# ----------------
# ``from_generator`` samples as many rows as ``test`` has, with a fixed seed, and
# uses the generator's schema. ``train`` enables the privacy metrics (distance to
# the closest training row, exact copies). Everything is computed lazily, and the
# same seed gives the same report.
report = SyntheticReport.from_generator(
    gen, test, train=train, random_state=0, n_threads=1
)
report.summary.round(3)

# %%
# Per-column scores: the SDMetrics shape score (1 is a perfect match), the AUC of
# a detector that sees only the column (0.5 is ideal), and the column's
# permutation importance for the detector that sees every column.
report.column_scores.sort_values("shape_score")

# %%
# Column distributions
# --------------------
fig = report.plot_distributions()

# %%
# Pairwise trends
# ---------------
# Synthetic minus real: Pearson correlation for two numeric columns, Cramér's V
# otherwise. Unlike SDMetrics' QualityReport, every pair is scored.
fig = report.plot_pair_differences()

# %%
# The pairs whose trend is the least faithful:
report.pair_scores.sort_values("score").head(8)

# %%
# Detection
# ---------
# A gradient-boosting classifier is trained to tell synthetic rows from real ones,
# with cross-validation. Its ROC curve: the closer to the diagonal, the better the
# generator.
print(f"detector ROC AUC: {report.detection['auc']:.3f}")
fig = report.plot_roc()

# %%
# Where the generator falls short: the columns whose shuffling costs the detector
# most, the columns detectable on their own, and the pairs of columns that are
# (``lift`` is how much more a pair gives away than its better column alone: a
# dependence the generator did not learn).
fig = report.plot_detectability()

# %%
report.feature_importances.head(8)

# %%
report.pair_detection.round(3)

# %%
# Save the report
# ---------------
# ``save`` writes the four figures as PNG files and one HTML page that embeds them,
# with no reference to any other file.
with tempfile.TemporaryDirectory() as directory:
    paths = report.save(directory)
    print({name: path.name for name, path in paths.items()})
