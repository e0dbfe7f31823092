"""Installation script for evonas."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="evonas",
    version=re.search(r'__version__ = "([^"]+)"', (HERE / "evonas" / "version.py").read_text()).group(1),
    description="Evolutionary neural architecture search: DEAP / pymoo populations, "
    "weight-sharing supernet evaluators, DARTS and SCARLET spaces.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["evonas", "evonas.*"]),
    package_data={"evonas.data": ["_embedded/*.npz", "_embedded/*.csv.gz", "_embedded/*.txt"],
                  "evonas.report": ["page.js", "page.css"]},
    include_package_data=True,
    install_requires=[
        "torch>=2.1",
        "torchvision>=0.16",
        "deap>=1.4",
        "pymoo>=0.6.1",
        "moocore>=0.3",  # Pareto fronts and hypervolume (pymoo depends on it too)
        "numba>=0.58",  # pymoo's AGE-MOEA needs it
        "numpy>=1.24",
        "scipy>=1.10",
        "lmdb>=1.4",
        "dill>=0.3.6",
        "pillow>=9.0",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "plotly>=5.0",  # evonas report: its JavaScript is written into the self-contained HTML page
        "tomli>=2.0; python_version < '3.11'",
    ],
    extras_require={
        "dev": ["pytest>=7.4", "pytest-timeout>=2.2", "xgboost>=2.0", "lightgbm>=4.0", "ray>=2.9",
                "onnx>=1.15", "onnxruntime>=1.17", "onnxscript>=0.1",
                "mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=1.0",
                "tensorboard>=2.10",  # --tensorboard; its event reader checks the files in the tests
                "playwright>=1.40",  # drives the system's Chromium (/usr/bin/chromium) in the report's browser tests
                "ruff==0.17.6"],  # the linter CI runs (tests/test_lint.py): pinned, so a new rule never turns main red
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=1.0"],  # mkdocs build --strict
        "nb301": ["xgboost>=2.0", "lightgbm>=4.0"],
        "surrogate": ["xgboost>=2.0", "lightgbm>=4.0"],
        "yaml": ["pyyaml>=6.0"],
        "tensorboard": ["tensorboard>=2.10"],  # evonas search --tensorboard DIR
        "ray": ["ray>=2.9"],  # --executor ray
        "onnx": ["onnx>=1.15", "onnxruntime>=1.17", "onnxscript>=0.1"],  # evonas export, onnxruntime latency
    },
    entry_points={"console_scripts": ["evonas=evonas.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
