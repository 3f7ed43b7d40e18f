"""Sphinx configuration for the sklearn_gen documentation.

Build with::

    pip install ".[docs]"
    python -m sphinx -b html docs docs/_build/html

Set ``SKLEARN_GEN_DOCS_PLOT=0`` to build without running the gallery examples.
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import sklearn_gen  # noqa: E402

# -- Project ----------------------------------------------------------------
project = "sklearn_gen"
author = "sklearn_gen developers"
copyright = "sklearn_gen developers"
version = sklearn_gen.__version__
release = sklearn_gen.__version__

# -- General ----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
# examples/ is the sphinx-gallery source; the gallery pages go to auto_examples/.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"

autosummary_generate = True
# Document each class's own members and those of our base classes, not the standard
# scikit-learn ones (get_params, set_output, ...), whose docstrings refer to labels
# of scikit-learn's own documentation.
# (The class template, _templates/class.rst, lists the classes to leave out.)
autodoc_default_options = {"members": True}
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- Example gallery --------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": os.environ.get("SKLEARN_GEN_DOCS_PLOT", "1") != "0",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_gen",),
    "backreferences_dir": None,
}

# -- HTML -------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401
except ImportError:
    html_theme = "alabaster"
    html_theme_options = {}
else:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
    }
html_title = f"sklearn_gen {release}"
html_static_path = []


_SHAPE = re.compile(r"shape \(([^)`]*)\)")


def _quote_fitted_names_in_shapes(app, what, name, obj, options, lines):
    """Quote fitted attributes in shapes, e.g. ``shape (n_features_in_,)``.

    A bare word ending in ``_`` is a hyperlink reference in reStructuredText
    ("Unknown target name"); scikit-learn writes ``(`n_features_in_`,)``.
    """

    def quote(match):
        parts = match.group(1).split(",")
        quoted = [
            f"`{part.strip()}`"
            if re.search(r"\w_(\.|$)", part.strip())
            else part.strip()
            for part in parts
        ]
        return "shape (" + ", ".join(quoted).replace(", )", ",)").rstrip() + ")"

    lines[:] = [_SHAPE.sub(quote, line) for line in lines]


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Hide scikit-learn's generated ``set_*_request`` methods (metadata routing):
    their docstrings link into scikit-learn's own glossary."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _quote_fitted_names_in_shapes)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)


# -- Benchmark results --------------------------------------------------------
def _write_benchmark_results():
    """List benchmarks/results/*.md in generated/benchmark_results.inc.

    benchmarks.rst includes that file, so the page shows whatever results exist
    and never refers to a file that does not.
    """
    results = sorted((ROOT / "benchmarks" / "results").glob("*.md"))
    lines = []
    if not results:
        lines += ["No benchmark results have been written yet.", ""]
    for path in results:
        first_line = path.read_text(encoding="utf-8").lstrip().split("\n", 1)[0]
        if first_line.startswith("# "):
            title = first_line[2:].strip()
        else:
            title = path.stem.replace("_", " ").replace("-", " ").capitalize()
        # literalinclude paths are relative to the including document (docs/).
        relative = os.path.relpath(path, DOCS)
        lines += [
            title,
            "-" * len(title),
            "",
            f"``benchmarks/results/{path.name}``:",
            "",
            f".. literalinclude:: {relative}",
            "   :language: markdown",
            "",
        ]
    target = DOCS / "generated" / "benchmark_results.inc"
    target.parent.mkdir(exist_ok=True)
    text = "\n".join(lines)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_benchmark_results()
