"""
================================================
Encoding a table: mode-specific normalisation
================================================

Every generator sees a table through a
:class:`~sklearn_gen.preprocessing.TabularEncoder`. This example encodes part of
the Adult table, looks at the layout of the encoded matrix, checks that decoding
gives the table back, and plots the Gaussian mixture that mode-specific
normalisation fitted to one column.
"""

# %%
# Encode and decode
# -----------------
import matplotlib.pyplot as plt
import numpy as np

from sklearn_gen.datasets import load_adult
from sklearn_gen.preprocessing import TabularEncoder

df = load_adult()[["age", "hours-per-week", "capital-gain", "sex", "workclass"]]
enc = TabularEncoder(continuous="mode_specific", random_state=0).fit(df)

for column in enc.schema_:
    print(f"{column.name!r:18} kind={column.kind:12} dtype={column.dtype}")

# %%
# Each column owns one or more spans of the encoded matrix, each with the
# activation a network must use for it: a ``tanh`` value and a ``softmax`` mode
# indicator for every numerical column, a ``softmax`` block for every categorical.
for span in enc.layout_:
    where = f"[{span.start:3}, {span.stop:3})"
    print(f"{span.column!r:18} {where}  {span.activation:8} {span.role}")

# %%
Z = enc.transform(df)
print(Z.shape, Z.dtype)
decoded = enc.inverse_transform(Z)
print("decoded == original:", decoded.equals(df))

# %%
# The mixture behind one column
# -----------------------------
# For ``age``, the encoder fitted a Bayesian Gaussian mixture and kept
# the modes with a non-negligible weight. A value is encoded as its mode (one-hot)
# and its offset from that mode's mean in units of four standard deviations.
name = "age"
column = next(c for c in enc.schema_ if c.name == name)
weights = column.extra["weights"]
means = column.extra["means"]
stds = column.extra["stds"]
print(f"{len(weights)} modes kept for {name!r}")

grid = np.linspace(df[name].min(), df[name].max(), 1000)
components = (
    weights[:, None]
    * np.exp(-0.5 * ((grid[None, :] - means[:, None]) / stds[:, None]) ** 2)
    / (stds[:, None] * np.sqrt(2 * np.pi))
)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(
    df[name],
    bins=np.arange(df[name].min() - 0.5, df[name].max() + 1.5),
    density=True,
    color="0.8",
    label="data",
)
for k, component in enumerate(components):
    ax.plot(grid, component, lw=1, color=plt.cm.tab10(k % 10), label=f"mode {k}")
ax.plot(grid, components.sum(axis=0), color="k", lw=1.5, label="mixture")
ax.set_xlabel(name)
ax.set_ylabel("density")
ax.set_ylim(0, None)
ax.legend(fontsize="x-small", ncol=3)
fig.tight_layout()

# %%
# The encoded value of every row lies in [-1, 1] whatever the scale of the
# column, and the mode says which part of the distribution it belongs to.
value_span, mode_span = enc.layout_.spans_for(name)
modes = Z[:, mode_span.start : mode_span.stop].argmax(axis=1)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.scatter(
    df[name], Z[:, value_span.start], c=plt.cm.tab10(modes % 10), s=4, label=None
)
ax.set_xlabel(name)
ax.set_ylabel("encoded value")
fig.tight_layout()

plt.show()
