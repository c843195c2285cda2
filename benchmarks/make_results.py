"""Assemble ``benchmarks/RESULTS.md`` from the tables the benchmark scripts wrote under ``benchmarks/results/``.

Each section is a results file written by the command shown above it; this script only puts them in
order with their titles and commands. The files in :data:`ANALYSES` are the exception: written by hand,
they read several results files together and name the commands whose records they summarise; they are
appended as they are.

    python benchmarks/make_results.py
"""

from __future__ import annotations

import pathlib
import statistics

from invimpute.bench.results import read_results, select_records
from invimpute.runtime.files import write_atomic

HERE = pathlib.Path(__file__).resolve().parent

SECTIONS = [
    (
        "A messy table at the defaults at the session's end (issue 28 and the wild tables): `Imputer()`, "
        "`boosted` and IterativeImputer, one run",
        "messy_defaults20.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/messy_defaults.py boosted iterative auto",
    ),
    (
        "Latency with the trees' refit kept for hold-outs of 5% (issue 28): letter, credit and the 100,000-row "
        "table, `Imputer()` and IterativeImputer; one run on an otherwise idle machine",
        "latency22.md",
        "python benchmarks/latency.py --tables letter credit generated_100k --methods auto iterative --timeout 900 "
        "--out benchmarks/results/latency22.md --jsonl benchmarks/results/latency22.jsonl",
    ),
    (
        "The defaults with the trees' refit kept for hold-outs of 5% (issue 28; letter and credit re-run, every "
        "other record that of `defaults17.jsonl`, same masks)",
        "defaults18.md",
        "invimpute bench --datasets letter credit --mechanisms mcar --rates 0.2 --seeds 0 1 2 --methods auto --out "
        "benchmarks/results/defaults18.jsonl (every record of defaults17.jsonl but auto's on those two tables copied "
        "into it first); report: `invimpute bench --report-only --out benchmarks/results/defaults18.jsonl --report "
        "benchmarks/results/defaults18.md`",
    ),
    (
        "The trees' refit on long tables: development masks (issue 28)",
        "refit_trees_dev.md",
        "the commands in the section",
    ),
    (
        "`auto` with and without its inverted candidate, after its 15 steps (issue 24): the GAIN tables, seeds 0-2",
        "auto_inverted2.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/auto_inverted.py --datasets breast breast_diagnostic spam "
        "letter credit --seeds 0 1 2 --out benchmarks/results/auto_inverted2.jsonl",
    ),
    (
        "Latency with the inverted candidate's 15 steps (issue 28): the tables the hold-out floor, the step cap "
        "or the candidate reach, `Imputer()` and IterativeImputer; one run on an otherwise idle machine",
        "latency21.md",
        "python benchmarks/latency.py --tables letter credit generated_100k --methods auto iterative --timeout 900 "
        "--out benchmarks/results/latency21.md --jsonl benchmarks/results/latency21.jsonl",
    ),
    (
        "The defaults with the inverted candidate's 15 steps (issues 24 and 28; letter and credit re-run, every "
        "other record that of `defaults16.jsonl`, same masks)",
        "defaults17.md",
        "invimpute bench --datasets letter credit --mechanisms mcar --rates 0.2 --seeds 0 1 2 --methods auto --out "
        "benchmarks/results/defaults17.jsonl (every record of defaults16.jsonl but auto's on those two tables copied "
        "into it first); report: `invimpute bench --report-only --out benchmarks/results/defaults17.jsonl --report "
        "benchmarks/results/defaults17.md`",
    ),
    (
        "The default on Mushroom with the inverted candidate's 15 steps, 10% MCAR, 5 seeds",
        "defaults12_mushroom.md",
        "invimpute bench --datasets mushroom --mechanisms mcar --rates 0.1 --seeds 0 1 2 3 4 --methods auto --out "
        "benchmarks/results/defaults12_mushroom.jsonl; report: `invimpute bench --report-only --out "
        "benchmarks/results/defaults12_mushroom.jsonl --report benchmarks/results/defaults12_mushroom.md`",
    ),
    (
        "The default's belief on letter with the inverted candidate's 15 steps (issue 25): 90% intervals' "
        "coverage, 3 seeds, full size",
        "uncertainty_default_letter_steps.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 30000 --default-tables letter "
        "--out benchmarks/results/uncertainty_default_letter_steps.md",
    ),
    (
        "The inverted candidate's steps: development masks (issues 24 and 28)",
        "inversion_steps_dev.md",
        "the commands in the section",
    ),
    (
        "Latency with the hold-out floor at 2.5% and the step cap at 10,000 (issue 28): the tables they reach, "
        "`Imputer()` and IterativeImputer; one run on an otherwise idle machine",
        "latency20.md",
        "python benchmarks/latency.py --tables letter credit generated_100k --methods auto iterative --timeout 900 "
        "--out benchmarks/results/latency20.md --jsonl benchmarks/results/latency20.jsonl",
    ),
    (
        "The defaults with the hold-out floor at 2.5% and the step cap at 10,000 (issue 28; only letter and credit "
        "reach either, so auto's records of the other tables are those of `defaults15.jsonl`, copied with the "
        "peers' records, same masks)",
        "defaults16.md",
        "invimpute bench --datasets letter credit --mechanisms mcar --rates 0.2 --seeds 0 1 2 --methods auto --out "
        "benchmarks/results/defaults16.jsonl (every record of defaults15.jsonl but auto's on those two tables copied "
        "into it first); report: `invimpute bench --report-only --out benchmarks/results/defaults16.jsonl --report "
        "benchmarks/results/defaults16.md`",
    ),
    (
        "The default on Mushroom with the hold-out floor at 2.5% (issue 28), 10% MCAR, 5 seeds",
        "defaults11_mushroom.md",
        "invimpute bench --datasets mushroom --mechanisms mcar --rates 0.1 --seeds 0 1 2 3 4 --methods auto --out "
        "benchmarks/results/defaults11_mushroom.jsonl; report: `invimpute bench --report-only --out "
        "benchmarks/results/defaults11_mushroom.jsonl --report benchmarks/results/defaults11_mushroom.md`",
    ),
    (
        "The default's belief with the hold-out floor at 2.5% and the step cap at 10,000 (issue 25): letter and "
        "credit, 90% intervals' coverage, 3 seeds, full size",
        "uncertainty_default_holdout.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 30000 --default-tables letter credit "
        "--out benchmarks/results/uncertainty_default_holdout.md",
    ),
    (
        "The default's belief with the hold-out floor at 2.5% (issue 25): Mushroom's ECE, 3 seeds, full size",
        "uncertainty_default_mushroom2.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 10000 --default-tables mushroom "
        "--out benchmarks/results/uncertainty_default_mushroom2.md",
    ),
    (
        "A smaller hold-out floor and a lower step cap: development masks (issue 28)",
        "holdout_dev.md",
        "the commands in the section",
    ),
    (
        "A messy table at the defaults with the richer trees and the faster trees' fit (issue 28 and the wild "
        "tables): `Imputer()`, `boosted` and IterativeImputer, two runs",
        "messy_defaults19.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/messy_defaults.py boosted iterative auto",
    ),
    (
        "Latency with the richer trees on tables that afford them and the faster trees' fit (issue 28): "
        "`Imputer()` and IterativeImputer; one run on an otherwise idle machine",
        "latency19.md",
        "python benchmarks/latency.py --tables diabetes breast spam letter credit generated_100k --methods auto "
        "iterative --timeout 900 --out benchmarks/results/latency19.md --jsonl benchmarks/results/latency19.jsonl",
    ),
    (
        "Latency of breast and diabetes rerun, before and after the richer trees (issue 28)",
        "latency19_small.md",
        "the commands in the section",
    ),
    (
        "The frontier protocol on three seeds (issue 27): `frontier4.jsonl` and seed 2 of every mechanism "
        "with every method, run at low priority beside other work from a snapshot of 88929d6 (the library before the "
        "hold-out floor, the inverted candidate's 15 steps and the trees' refit rule; of these tables only "
        "letter's fills would move), so its seconds are not comparable",
        "frontier5.md",
        "invimpute bench --protocol frontier --datasets california magic letter spam default bike shoppers obesity "
        "students income --mechanisms mcar mar mnar --seeds 2 --methods mean knn iterative auto boosted miceforest missforest "
        "remasker-cpu --max-rows 2000 --out benchmarks/results/frontier5.jsonl (every record of frontier4.jsonl "
        "copied into it first); report: `invimpute bench --protocol frontier --report-only --out "
        "benchmarks/results/frontier5.jsonl --report benchmarks/results/frontier5.md --figures benchmarks/figures/frontier5`",
    ),
    (
        "The frontier protocol with the richer trees (issue 27): MCAR, MAR and MNAR on seeds 0 and 1 "
        "(CACTI's ten tables at 2,000 rows; seed 0's and MCAR seed 1's peers' records those of `frontier3.jsonl`, "
        "same masks, auto's records of every cell run again; MAR and MNAR seed 1 run with every method at low "
        "priority beside other work, so their seconds are not comparable)",
        "frontier4.md",
        "invimpute bench --protocol frontier --datasets california magic letter spam default bike shoppers "
        "obesity students income --mechanisms mcar --seeds 0 1 --methods auto --max-rows 2000 --out "
        "benchmarks/results/frontier4.jsonl (every record of frontier3.jsonl but auto's copied into it first), "
        "and the same with `--mechanisms mar mnar --seeds 0`, then `--mechanisms mar mnar --seeds 1 --methods mean knn "
        "iterative auto boosted miceforest missforest remasker-cpu`; report: `invimpute bench --protocol frontier "
        "--report-only --out benchmarks/results/frontier4.jsonl --report benchmarks/results/frontier4.md "
        "--figures benchmarks/figures/frontier4`",
    ),
    (
        "Richer trees where the table affords them, and a faster trees' fit: development seeds (issue 27)",
        "rich_trees_dev.md",
        "the commands in the section",
    ),
    (
        "A messy table at the defaults after the trees' shards and the floor at 200 passes (issues 28 and the "
        "wild tables): `Imputer()`, `boosted` and IterativeImputer in one run",
        "messy_defaults18.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/messy_defaults.py boosted iterative auto",
    ),
    (
        "Latency with the budget's floor at 200 passes and the trees' fit in shards (issue 28): `Imputer()` and "
        "IterativeImputer; one run on an otherwise idle machine",
        "latency18.md",
        "python benchmarks/latency.py --tables diabetes breast spam letter credit --methods auto iterative "
        "--timeout 600 --out benchmarks/results/latency18.md --jsonl benchmarks/results/latency18.jsonl",
    ),
    (
        "The frontier protocol, MCAR on seeds 0 and 1, MAR and MNAR on seed 0, with the budget's floor at 200 "
        "passes (issue 27; CACTI's ten tables at 2,000 rows; seed 0's peers' records from `frontier2.jsonl`, same "
        "masks; auto's records of every cell run again after the floor change)",
        "frontier3.md",
        "invimpute bench --protocol frontier --datasets california magic letter spam default bike shoppers "
        "obesity students income --mechanisms mcar --seeds 1 --methods mean knn iterative auto boosted missforest "
        "miceforest remasker-cpu --max-rows 2000 --out benchmarks/results/frontier3.jsonl (every record of "
        "frontier2.jsonl copied into it first), then auto's records removed and `--methods auto` run again with "
        "`--mechanisms mcar --seeds 0 1` and with `--mechanisms mar mnar --seeds 0`; report: `invimpute bench "
        "--protocol frontier --report-only --out benchmarks/results/frontier3.jsonl --report "
        "benchmarks/results/frontier3.md --figures benchmarks/figures/frontier3`",
    ),
    (
        "The default's belief on breast and breast_diagnostic with the budget's floor at 200 passes (issue 25): "
        "90% intervals' coverage, 3 seeds, full size",
        "uncertainty_default_breast3.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 30000 --default-tables breast "
        "breast_diagnostic --out benchmarks/results/uncertainty_default_breast3.md",
    ),
    (
        "The defaults with the budget's floor at 200 passes: the GAIN tables at 20% MCAR, 3 seeds, full size "
        "(issue 28; only breast and breast_diagnostic reach the floor, so auto's records of the other tables are "
        "those of `defaults14.jsonl`, copied with the peers' records, same masks)",
        "defaults15.md",
        "invimpute bench --datasets breast breast_diagnostic --mechanisms mcar --rates 0.2 --seeds 0 1 2 --methods "
        "auto --out benchmarks/results/defaults15.jsonl (every record of defaults14.jsonl but auto's on those two "
        "tables copied into it first); report: `invimpute bench --report-only --out "
        "benchmarks/results/defaults15.jsonl --report benchmarks/results/defaults15.md`",
    ),
    (
        "The mixed tables with the budget's floor at 200 passes (issue 28)",
        "mixed_tables12.md",
        "python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables12.md --jsonl "
        "benchmarks/results/mixed_tables12.jsonl",
    ),
    (
        "The budget's floor at 200 passes instead of 250, chosen on development masks (issue 28)",
        "floor_dev.md",
        "the commands in the section",
    ),
    (
        "Latency with the trees' fit in shards on both cores (issue 28): `Imputer()` and IterativeImputer; one "
        "run on an otherwise idle machine",
        "latency17.md",
        "python benchmarks/latency.py --tables diabetes breast spam letter credit --methods auto iterative "
        "--timeout 600 --out benchmarks/results/latency17.md --jsonl benchmarks/results/latency17.jsonl",
    ),
    (
        "The trees' fit in shards run at once on both cores: the library before and after, paired (issue 28)",
        "speed17.md",
        "the commands in the section",
    ),
    (
        "Where auto loses the frontier tables: its trees candidate and its hold-out share, development seeds "
        "(issue 27; no default changed)",
        "frontier_trees_dev.md",
        "the commands in the section",
    ),
    (
        "The defaults with the budget capped at 12,800 steps: the GAIN tables at 20% MCAR, 3 seeds, full size "
        "(issue 28; only credit's budget reaches the cap, so auto's records of the other tables are those of "
        "`defaults13.jsonl`, copied with the peers' records, same masks)",
        "defaults14.md",
        "invimpute bench --datasets credit --mechanisms mcar --rates 0.2 --seeds 0 1 2 --methods auto --out "
        "benchmarks/results/defaults14.jsonl (every record of defaults13.jsonl but auto's on credit copied into "
        "it first); report: `invimpute bench --report-only --out benchmarks/results/defaults14.jsonl --report "
        "benchmarks/results/defaults14.md`",
    ),
    (
        "Latency with the budget capped at 12,800 steps, the row-wise candidates imputing only the rows they "
        "help and half the compiled programs per fit (issue 28): `Imputer()` and IterativeImputer; one run",
        "latency16.md",
        "python benchmarks/latency.py --tables diabetes breast spam letter credit --methods auto iterative "
        "--timeout 600 --out benchmarks/results/latency16.md --jsonl benchmarks/results/latency16.jsonl",
    ),
    (
        "Fewer programs per fit, the budget capped at 12,800 steps, row-wise candidates on the rows they help: "
        "the library before and after, paired (issue 28)",
        "speed16.md",
        "the commands in the section",
    ),
    (
        "The default's belief on credit at the 12,800-step cap (issue 25): 90% intervals' coverage, 3 seeds, "
        "full size",
        "uncertainty_default_credit3.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 30000 --default-tables credit "
        "--out benchmarks/results/uncertainty_default_credit3.md",
    ),
    (
        "Messy tables after the speed changes of issue 28 (the trees among auto's candidates, half the programs "
        "per fit): the 3,000-row base table with one wild column (part b)",
        "wild_tables16_b.md",
        "python benchmarks/wild_tables.py --parts b --out benchmarks/results/wild_tables16_b.md --jsonl "
        "benchmarks/results/wild_tables16_b.jsonl",
    ),
    (
        "The default budget's step cap on development masks (issue 28)",
        "max_steps_dev.md",
        "the commands in the section",
    ),
    (
        "The defaults with gradient-boosted trees among auto's candidates: the GAIN tables at 20% MCAR, "
        "3 seeds, full size (issues 27 and 28; the peers' records copied from `defaults4.jsonl`, same masks)",
        "defaults13.md",
        "invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto --out benchmarks/results/defaults13.jsonl (the records of mean, knn, "
        "iterative, gaussian, hyperimpute, missforest and miceforest copied into it from defaults4.jsonl); "
        "report: `invimpute bench --report-only --out benchmarks/results/defaults13.jsonl --report "
        "benchmarks/results/defaults13.md`",
    ),
    (
        "The frontier protocol with the trees among the defaults: MCAR, MAR and MNAR at 30%, seed 0, CACTI's ten "
        "tables at 2,000 rows (issue 27; MCAR peers' records copied from `frontier1.jsonl`, same masks; on MAR and "
        "MNAR every peer of MCAR, ReMasker and miceforest run last; seed 0 only, resumable)",
        "frontier2.md",
        "invimpute bench --protocol frontier --datasets california magic letter spam default bike shoppers "
        "obesity students income --mechanisms mcar --seeds 0 --methods auto --max-rows 2000 --out "
        "benchmarks/results/frontier2.jsonl (every record of frontier1.jsonl but auto's and auto-trees' copied "
        "into it first), then the same with `--mechanisms mar` and `--mechanisms mnar` and `--methods mean knn "
        "iterative auto boosted missforest`, then `--methods miceforest remasker-cpu` (the commands at the end of the section); report: `invimpute bench --protocol frontier --report-only --out "
        "benchmarks/results/frontier2.jsonl --report benchmarks/results/frontier2.md --figures "
        "benchmarks/figures/frontier2`",
    ),
    (
        "Latency with the trees among auto's candidates (issue 28): `Imputer()` and IterativeImputer; one run",
        "latency15.md",
        "python benchmarks/latency.py --tables diabetes breast spam letter credit --methods auto iterative "
        "--timeout 600 --out benchmarks/results/latency15.md --jsonl benchmarks/results/latency15.jsonl",
    ),
    (
        "The mixed tables with the trees among auto's candidates (issues 27 and 28). 2-core CPU shared with the "
        "frontier's MAR slice, so the seconds are inflated",
        "mixed_tables11.md",
        "python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables11.md --jsonl "
        "benchmarks/results/mixed_tables11.jsonl",
    ),
    (
        "The default's belief and multiple imputations on the GAIN tables at full size, with the trees among "
        "auto's candidates (issue 25). CPU shared with the frontier's MAR slice",
        "uncertainty_default_full2.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 30000 --default-tables breast "
        "breast_diagnostic spam letter credit --out benchmarks/results/uncertainty_default_full2.md",
    ),
    (
        "The trees among auto's candidates: latency before and after on one machine (issues 27 and 28)",
        "trees_speed.md",
        "the commands inside (`benchmarks/latency.py` from a worktree of 11aba3e and from 29e79d1)",
    ),
    (
        "Latency after the inverted candidate's screen on long tables (issue 28): `Imputer()` and "
        "IterativeImputer. Quiet CPU but slower than latency13's run; one run",
        "latency14.md",
        "python benchmarks/latency.py --tables diabetes breast spam letter credit --methods auto iterative "
        "--timeout 600 --out benchmarks/results/latency14.md --jsonl benchmarks/results/latency14.jsonl",
    ),
    (
        "The inverted candidate's screen, credit before and after on one machine (issue 28)",
        "screen_speed.md",
        "the commands inside (`benchmarks/latency.py` on credit from a worktree of 051bedd and from 86982b1, alternated)",
    ),
    (
        "The frontier protocol, a first published slice: MCAR 30%, seed 0, CACTI's ten tables at 2,000 rows "
        "(issue 27; partial, resumable)",
        "frontier1.md",
        "the commands at the end of the section (`invimpute bench --protocol frontier ...`), then `invimpute bench "
        "--protocol frontier --report-only --out benchmarks/results/frontier1.jsonl --report "
        "benchmarks/results/frontier1.md --figures benchmarks/figures/frontier1`",
    ),
    (
        "`auto` with its trees candidate at the boosted peer's settings, when the candidate was optional, on "
        "the GAIN tables' published masks (issues 27 and 28; the `auto-trees` preset)",
        "defaults12_trees.md",
        "invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto-trees --out benchmarks/results/defaults12_trees.jsonl; report: `invimpute "
        "bench --report-only --out benchmarks/results/defaults12_trees.jsonl --report "
        "benchmarks/results/defaults12_trees.md`",
    ),
    (
        "A tree candidate for `auto`, on development tables (issue 27)",
        "tree_candidate_dev.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/tree_candidate_dev.py --tables breast "
        "breast_diagnostic california magic bean gesture letter spam --seeds 3 4 5 --out "
        "benchmarks/results/tree_candidate_dev.jsonl",
    ),
    (
        "Chained passes of the `boosted` peer, on development tables (issue 27)",
        "boosted_chain_dev.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/boosted_chain_dev.py --tables letter california magic "
        "breast breast_diagnostic spam --seeds 3 4 --out benchmarks/results/boosted_chain_dev.jsonl",
    ),
    (
        "The inverted candidate's screen, chosen on development seeds (issues 24 and 28)",
        "inversion_screen_dev.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/inversion_screen_dev.py --datasets letter spam credit "
        "--seeds 5 6 7 8 --out benchmarks/results/inversion_screen_dev.jsonl",
    ),
    (
        "Latency after the Gaussian model's block ladder and the inverted candidate's gain rule (issue 28): "
        "`Imputer()` and IterativeImputer. Quiet CPU, one run",
        "latency13.md",
        "python benchmarks/latency.py --tables diabetes breast spam letter credit --methods auto iterative "
        "--timeout 600 --out benchmarks/results/latency13.md --jsonl benchmarks/results/latency13.jsonl",
    ),
    (
        "Latency of the mixed tables after the Gaussian model's block ladder and the inverted candidate's gain "
        "rule (issue 28). Quiet CPU, one run",
        "latency13_small.md",
        "python benchmarks/latency.py --tables penguins Housing Fair --methods auto iterative --timeout 600 "
        "--out benchmarks/results/latency13_small.md --jsonl benchmarks/results/latency13_small.jsonl",
    ),
    (
        "The GAIN tables after the inverted candidate's gain rule (issues 24 and 28): `Imputer()`, 20% MCAR, "
        "seeds 0-2, full size, on the masks of `defaults10.jsonl`. CPU shared with simulations: read the RMSE",
        "defaults12.md",
        "invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto --out benchmarks/results/defaults12.jsonl; report: `invimpute bench "
        "--report-only --out benchmarks/results/defaults12.jsonl --report benchmarks/results/defaults12.md`",
    ),
    (
        "The held-out gain the inverted candidate must show, chosen on development seeds (issues 24 and 28)",
        "inversion_gain_dev.md",
        "python benchmarks/auto_inverted.py --datasets letter spam credit breast breast_diagnostic --seeds 5 6 "
        "--gain -1 --out benchmarks/results/inversion_gain_dev.jsonl",
    ),
    (
        "MNIST at the defaults of `Imputer` on images (issue 24): 10 of 28 pixel rows removed, 8,000 training / "
        "2,000 test digits, seed 0. Loaded CPU: read the accuracies",
        "image_defaults_mnist.md",
        "python benchmarks/image_defaults.py --data mnist --data-home /work/shared/data --seeds 0 --out "
        "benchmarks/results/image_defaults_mnist.md --jsonl benchmarks/results/image_defaults_mnist.jsonl",
    ),
    (
        "letter and credit after KNN's two-stage search and evaluations over at most 8,192 rows (issue 28): "
        "`Imputer()`, 20% MCAR, seeds 0-2, full size, on the masks of `defaults10.jsonl` (same mask_sha256), the "
        "only GAIN tables either change reaches. Quiet 2-core CPU",
        "defaults11.md",
        "invimpute bench --datasets letter credit --mechanisms mcar --rates 0.2 --seeds 0 1 2 --methods auto "
        "--out benchmarks/results/defaults11.jsonl; report: `invimpute bench --report-only --out "
        "benchmarks/results/defaults11.jsonl --report benchmarks/results/defaults11.md`",
    ),
    (
        "Latency after KNN's two-stage search and evaluations over at most 8,192 rows (issue 28): the tables "
        "the changes reach, `Imputer()` and IterativeImputer. Quiet CPU, one run",
        "latency12.md",
        "python benchmarks/latency.py --tables breast spam letter credit generated_100k --methods auto iterative "
        "--timeout 600 --out benchmarks/results/latency12.md --jsonl benchmarks/results/latency12.jsonl",
    ),
    (
        "The defaults after a fit and its warm refit share one compiled training program (issue 28): "
        "`Imputer()` on the GAIN tables, 20% MCAR, seeds 0-2, full size, on the masks of `defaults4.jsonl` (same "
        "mask_sha256; the peers' figures are in the section 'The defaults'). 2-core CPU; short import-time "
        "measurements ran beside the letter and credit cells, so their seconds are inflated",
        "defaults10.md",
        "invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto --out benchmarks/results/defaults10.jsonl; report: `invimpute bench "
        "--report-only --out benchmarks/results/defaults10.jsonl --report benchmarks/results/defaults10.md`",
    ),
    (
        "Latency after the shared training program, 256-row chunks and the categorical budget (issue 28). Quiet "
        "CPU, one run",
        "latency11_small.md",
        "python benchmarks/latency.py --tables diabetes breast penguins Housing Fair --methods auto iterative "
        "--timeout 300 --out benchmarks/results/latency11_small.md --jsonl benchmarks/results/latency11_small.jsonl",
    ),
    (
        "Latency of `Imputer()` and its peers, every table, after the shared training program (issue 28). "
        "Quiet CPU, one run",
        "latency11.md",
        "python benchmarks/latency.py --timeout 300 --out benchmarks/results/latency11.md --jsonl "
        "benchmarks/results/latency11.jsonl",
    ),
    (
        "Mushroom after the shared training program (issue 28): `Imputer()`, 10% MCAR, seeds 0-4, on the masks of "
        "`defaults4_mushroom.jsonl` (same mask_sha256; KNN's figures are there). Quiet CPU",
        "defaults10_mushroom.md",
        "invimpute bench --datasets mushroom --mechanisms mcar --rates 0.1 --seeds 0 1 2 3 4 --methods auto --out "
        "benchmarks/results/defaults10_mushroom.jsonl",
    ),
    (
        "The mixed tables after the shared training program and the categorical budget (issue 28). 2-core CPU "
        "shared with short import-time measurements, so the seconds are inflated",
        "mixed_tables10.md",
        "python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables10.md --jsonl "
        "benchmarks/results/mixed_tables10.jsonl",
    ),
    (
        "The categorical recipe's budget, chosen on development masks (issue 28)",
        "categorical_budget_dev.md",
        "python benchmarks/categorical_budget_dev.py --steps 4800 450 900 1800",
    ),
    (
        "The default network's width floor on development masks (issue 28; the floor stays 256)",
        "width_dev.md",
        "python benchmarks/budget_dev.py --set MIN_WIDTH=W -- ... (the commands in the section)",
    ),
    (
        "The defaults with the batch of long tables and KNN's donors bounded by work (issue 28): `Imputer()` on "
        "the GAIN tables, 20% MCAR, seeds 0-2, full size, on the masks of `defaults4.jsonl` (same mask_sha256; "
        "the peers' figures are in the section 'The defaults'). Quiet 2-core CPU",
        "defaults9.md",
        "invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto --out benchmarks/results/defaults9.jsonl; report: `invimpute bench "
        "--report-only --out benchmarks/results/defaults9.jsonl --report benchmarks/results/defaults9.md`",
    ),
    (
        "Latency after fewer compiled programs per fit (issue 28): the model's parameters, the members' stacked "
        "state and the hold-out draw each one program; the fits are bit for bit those of 'Latency' below (same "
        "RMSE). Quiet CPU, one run",
        "latency10_small.md",
        "python benchmarks/latency.py --tables diabetes breast penguins Housing Fair --methods auto iterative "
        "--timeout 300 --out benchmarks/results/latency10_small.md --jsonl benchmarks/results/latency10_small.jsonl",
    ),
    (
        "Mushroom with KNN's donors bounded by work (issue 28): `Imputer()`, 10% MCAR, seeds 0-4, on the masks of "
        "`defaults4_mushroom.jsonl` (same mask_sha256; KNN's figures are there). Quiet CPU",
        "defaults9_mushroom.md",
        "invimpute bench --datasets mushroom --mechanisms mcar --rates 0.1 --seeds 0 1 2 3 4 --methods auto --out "
        "benchmarks/results/defaults9_mushroom.jsonl",
    ),
    (
        "The mixed tables with the batch of long tables and KNN's donors bounded by work (issue 28). Quiet CPU",
        "mixed_tables9.md",
        "python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables9.md --jsonl "
        "benchmarks/results/mixed_tables9.jsonl",
    ),
    (
        "Latency of `Imputer()` and its peers, every table, quiet CPU (issue 28)",
        "latency.md",
        "python benchmarks/latency.py --timeout 300 --out benchmarks/results/latency.md --jsonl "
        "benchmarks/results/latency.jsonl",
    ),
    (
        "Messy tables after the batch of long tables: the 3,000-row base table with one wild column (part b). "
        "Quiet CPU",
        "wild_tables9_b.md",
        "python benchmarks/wild_tables.py --parts b --out benchmarks/results/wild_tables9_b.md --jsonl "
        "benchmarks/results/wild_tables9_b.jsonl",
    ),
    (
        "The batch of long tables, KNN's donors and the scoring pass, chosen on development seeds (issue 28)",
        "speed_batch_dev.md",
        "the commands in the section",
    ),
    (
        "The defaults with the training floor counted in passes over the rows (issue 28): `Imputer()` on the "
        "GAIN tables, 20% MCAR, seeds 0-2, full size, on the masks of `defaults4.jsonl` (same mask_sha256; the "
        "peers' figures are in the section 'The defaults'). Quiet 2-core CPU",
        "defaults8.md",
        "invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto --out benchmarks/results/defaults8.jsonl; report: `invimpute bench "
        "--report-only --out benchmarks/results/defaults8.jsonl --report benchmarks/results/defaults8.md`",
    ),
    (
        "The mixed tables with the training floor counted in passes over the rows (issue 28). Quiet CPU",
        "mixed_tables8.md",
        "python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables8.md --jsonl "
        "benchmarks/results/mixed_tables8.jsonl",
    ),
    (
        "The defaults with the inverted candidate, the Gaussian row cap and warm refit (issues 24, 25 and 28; before the training floor in passes): "
        "`Imputer()` on the GAIN tables, 20% MCAR, seeds 0-2, full size, on the masks of `defaults4.jsonl` "
        "(same mask_sha256; the peers' figures are in the section 'The defaults'). Quiet 2-core CPU",
        "defaults7.md",
        "invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto --out benchmarks/results/defaults7.jsonl; report: `invimpute bench "
        "--report-only --out benchmarks/results/defaults7.jsonl --report benchmarks/results/defaults7.md`",
    ),
    (
        "Mushroom with the inverted candidate, the Gaussian row cap and warm refit: `Imputer()`, 10% MCAR, seeds "
        "0-4, on the masks of `defaults4_mushroom.jsonl` (same mask_sha256; KNN's figures are there). Quiet CPU",
        "defaults7_mushroom.md",
        "invimpute bench --datasets mushroom --mechanisms mcar --rates 0.1 --seeds 0 1 2 3 4 --methods auto --out "
        "benchmarks/results/defaults7_mushroom.jsonl",
    ),
    (
        "The mixed tables with the inverted candidate, the Gaussian row cap and warm refit (issues 24 and 28; before the training floor in passes)",
        "mixed_tables7.md",
        "python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables7.md --jsonl "
        "benchmarks/results/mixed_tables7.jsonl",
    ),
    (
        "Multiple imputation by simulation: pooled coverage of regression coefficients (issue 25)",
        "mi_simulation.md",
        "python benchmarks/mi_simulation.py --settings linear --reps 1000 --no-peers --raw linear.csv (and --settings "
        "logistic), python benchmarks/mi_simulation.py --reps 200 --peers-only --forest-reps 200 --raw peers.csv, "
        "then python benchmarks/mi_simulation.py --merge linear.csv logistic.csv old_peers.csv peers.csv (see the "
        "section for old_peers.csv)",
    ),
    (
        "The default's belief and multiple imputations on the GAIN tables at full size (issue 25). Quiet CPU",
        "uncertainty_default_full.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 30000 --default-tables breast "
        "breast_diagnostic spam letter credit --out benchmarks/results/uncertainty_default_full.md",
    ),
    (
        "The default's belief and multiple imputations on the GAIN tables and Mushroom, 1,000-row samples (issue 25)",
        "uncertainty_default.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 1000",
    ),
    (
        "The default's belief and multiple imputations on Mushroom at full size (issue 25)",
        "uncertainty_default_mushroom.md",
        "python benchmarks/uncertainty.py --default --seeds 0 1 2 --max-rows 10000 --default-tables mushroom "
        "--out benchmarks/results/uncertainty_default_mushroom.md",
    ),
    (
        "auto with and without its inverted candidate, published seeds, full size (issue 24)",
        "auto_inverted.md",
        "INVIMPUTE_DATA=/work/shared/data python benchmarks/auto_inverted.py --datasets breast breast_diagnostic "
        "spam --seeds 0 1 2 --out benchmarks/results/auto_inverted.jsonl, then the same with --datasets letter credit",
    ),
    (
        "auto with and without its inverted candidate, development masks (issue 24)",
        "auto_inverted_dev.md",
        "python benchmarks/auto_inverted.py (the commands in the section)",
    ),
    (
        "Reverse training against the one pass by inversion setting, development masks (issue 24)",
        "inversion_settings_dev.md",
        "python benchmarks/inversion_settings.py --datasets breast_diagnostic spam letter --seeds 5 --max-rows 2000",
    ),
    (
        "Posterior draws by annealed Langevin dynamics, development masks (issue 24)",
        "langevin_coverage_dev.md",
        "python benchmarks/langevin_coverage.py --datasets breast_diagnostic breast spam letter credit --seeds 6 "
        "--max-rows 2000 --draws 30",
    ),
    (
        "Latency on a quiet machine: import, warm cache, repeated call against KNN and IterativeImputer (issue 28)",
        "latency_quick.md",
        "python benchmarks/latency.py --quick --out benchmarks/results/latency_quick.md --jsonl "
        "benchmarks/results/latency_quick.jsonl",
    ),
    (
        "Speed changes checked on development seeds (issue 28)",
        "speed_dev_check.md",
        "the commands in the section",
    ),
    (
        "The training floor counted in passes on small tables, chosen on development seeds (issue 28)",
        "speed_budget_dev.md",
        "the commands in the section",
    ),
    (
        "How many rows a training evaluation reads, chosen on development seeds (issue 28)",
        "eval_rows_dev.md",
        "the commands in the section",
    ),
    (
        "Latency with the new training floor, on a loaded machine (issue 28; read ratios only)",
        "latency_quick_budget.md",
        "python benchmarks/latency.py --quick --timeout 1200 --out benchmarks/results/latency_quick_budget.md "
        "--jsonl benchmarks/results/latency_quick_budget.jsonl",
    ),
    (
        "The defaults after per-column treatments, the patience and the warm refit (issues 26 and 28): "
        "`Imputer()` on the GAIN tables, 20% MCAR, seeds 0-2, full size, on the masks of `defaults4.jsonl` "
        "(same mask_sha256; the peers' figures are in the section 'The defaults'). The CPU was shared with a "
        "CI run and a second benchmark, so its seconds are inflated about 2-4x",
        "defaults6.md",
        "invimpute bench --datasets letter credit spam breast_diagnostic breast --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --methods auto --out benchmarks/results/defaults6.jsonl; report: `invimpute bench "
        "--report-only --out benchmarks/results/defaults6.jsonl --report benchmarks/results/defaults6.md`",
    ),
    (
        "The mixed tables after per-column treatments, the patience and the warm refit (issues 26 and 28; "
        "CPU shared with a CI run and a second benchmark, so seconds are inflated about 3-4x)",
        "mixed_tables6.md",
        "python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables6.md --jsonl "
        "benchmarks/results/mixed_tables6.jsonl",
    ),
    (
        "Wild columns added to a 3,000-row table: time, memory, the other columns' scores, the wild column's own "
        "fills (issue 26)",
        "wild_tables.md",
        "python benchmarks/wild_tables.py --parts b --base-rows 3000 --timeout 900 --out "
        "benchmarks/results/wild_tables.md --jsonl benchmarks/results/wild_tables.jsonl",
    ),
    (
        "The wild-table corpus through `Imputer()` and the command line (issue 26)",
        "wild_tables_corpus.md",
        "INVIMPUTE_COMPILE_CACHE=off python benchmarks/wild_tables.py --parts a --rows 200 --max-rows 300 "
        "--timeout 600 --runners imputer,cli --out benchmarks/results/wild_tables_corpus.md --jsonl "
        "benchmarks/results/wild_tables_corpus.jsonl",
    ),
    (
        "One absurd income read as missing by the model, not clipped to the fences (issue 26 follow-up; loaded "
        "CPU, read the scores only)",
        "wide_columns_outlier.md",
        "python benchmarks/wide_columns.py --cases alone outlier --out benchmarks/results/wide_columns_outlier.md",
    ),
    (
        "Wide categorical columns and an absurd number, before per-column treatments landed (issue 26)",
        "wide_columns.md",
        "python benchmarks/wide_columns.py --out benchmarks/results/wide_columns.md (on branch `cost`, before "
        "`kinds` merged)",
    ),
    (
        "A job on 4 forced CPU devices under load against 1 device (issue 26)",
        "job_devices.md",
        "python benchmarks/job_devices.py --rows 50000",
    ),
    (
        "The frontier protocol: a development run (issue 27; not the published benchmark)",
        "frontier_dev.md",
        "the commands in the section's first lines (`python benchmarks/frontier_dev.py ...`)",
    ),
    (
        "Study 1: Mushroom, 10% MCAR (issue 2)",
        "mushroom.md",
        'python benchmarks/mushroom.py --only "mode,KNN,BayesianRidge,faithful,best" --out benchmarks/results/mushroom.md',
    ),
    (
        "Mushroom: how much can be recovered at all, and the best configuration trained on complete rows (issue 2)",
        "mushroom_ceiling.md",
        "python benchmarks/mushroom_ceiling.py --out benchmarks/results/mushroom_ceiling.md",
    ),
    (
        "Numeric tables (full size), 20% MCAR, library vs KNN and IterativeImputer, with calibration (issues 2 and 5)",
        "numeric.md",
        "`invimpute bench --datasets spam letter breast_diagnostic --mechanisms mcar --rates 0.2 --seeds 0 1 2 "
        "--methods mean knn iterative invimpute-dae --uncertainty --out benchmarks/results/numeric.jsonl`, then "
        "`invimpute bench --datasets letter --mechanisms mcar --rates 0.2 --seeds 0 1 2 --methods "
        "invimpute-dae-large --out benchmarks/results/numeric.jsonl`; report: `invimpute bench --report-only "
        "--out benchmarks/results/numeric.jsonl --report benchmarks/results/numeric.md --figures benchmarks/figures`",
    ),
    (
        "Mushroom through the harness, with calibration (issue 5)",
        "mushroom_bench.md",
        "invimpute bench --datasets mushroom --mechanisms mcar --rates 0.1 --seeds 0 1 2 --methods mean knn "
        "invimpute-reference --uncertainty --out benchmarks/results/uncertainty.jsonl "
        "--report benchmarks/results/mushroom_bench.md --figures benchmarks/figures",
    ),
    (
        "The benchmark grid: every peer on the GAIN tables (issue 4)",
        "grid.md",
        "`invimpute bench --datasets breast breast_diagnostic spam letter credit --mechanisms mcar --rates 0.2 "
        "--seeds 0 1 2 --max-rows 5000 --methods mean knn iterative missforest softimpute gain miwae hyperimpute "
        "invimpute-dae --out benchmarks/results/grid.jsonl`, the same with `--mechanisms mcar --rates 0.3`, "
        "`--mechanisms mar --rates 0.3` and `--mechanisms mnar --rates 0.3` on `--seeds 0 1`, and at 20% MCAR "
        "`--methods invimpute-dae-large` (letter, spam, credit) and `--methods invimpute-dae-ensemble` (spam, "
        "credit, breast_diagnostic, breast); report: `invimpute bench --report-only --out "
        "benchmarks/results/grid.jsonl --report benchmarks/results/grid.md --figures benchmarks/figures`",
    ),
    (
        "Study 2: MNIST rows zeroed, reverse training (issue 3)",
        "mnist.md",
        "python benchmarks/mnist_reverse.py --out benchmarks/results/mnist.md",
    ),
    (
        "Images at the Imputer's defaults: reverse training from the nearest training images' fill, in latent "
        "mode (`InversionConfig(init=\"auto\", mode=\"auto\")` -> `\"knn\"`, `\"latent\"` on images): "
        "scikit-learn's 8x8 digits, a band of 3 rows or 3 random rows removed (issue 24)",
        "image_defaults_digits_auto.md",
        "python benchmarks/image_defaults.py --data digits --seeds 0,2,3 --out "
        "benchmarks/results/image_defaults_digits_auto.md --jsonl benchmarks/results/image_defaults_digits_auto.jsonl",
    ),
    (
        "Images: the same with reverse training from KNN's fill in input mode (the default for part of the session "
        "that introduced the KNN start; `--params '{\"inversion\": {\"mode\": \"input\"}}'` reproduces its "
        "`Imputer(\"reverse\")` row; its last row is the product path from the one pass in input mode) (issue 24)",
        "image_defaults_digits_knn.md",
        "python benchmarks/image_defaults.py --data digits --seeds 0,2,3 --out "
        "benchmarks/results/image_defaults_digits_knn.md --jsonl benchmarks/results/image_defaults_digits_knn.jsonl",
    ),
    (
        "Where auto's inverted candidate starts: the one pass or KNN's fill, development masks (issue 24)",
        "auto_inverted_knn_dev.md",
        "`python benchmarks/auto_inverted.py --datasets breast breast_diagnostic spam letter credit --seeds 5 6 "
        "--init knn --out benchmarks/results/auto_inverted_knn_dev.jsonl` and the same with `--init model`",
    ),
    (
        "Damage shift with reverse training started from KNN's fill (issue 24): every method of the damage-shift "
        "benchmark plus reverse training and latent mode from KNN's fill, seed 0 (run as `--data mnist` and "
        "`--data breast_diagnostic,letter`, the same keys as one run; no curve)",
        "damage_shift_knn.md",
        "python benchmarks/damage_shift.py --jsonl benchmarks/results/damage_shift_knn.jsonl --out "
        "benchmarks/results/damage_shift_knn.md --figure benchmarks/figures/damage_shift_knn.png",
    ),
    (
        "Images at the Imputer's defaults before reverse training started from KNN's fill (it started from the "
        "one pass): the convolutional masked autoencoder under mixed damage at the image "
        "step size (3e-3), scikit-learn's 8x8 digits with a band of 3 rows removed (issue 24)",
        "image_defaults_digits.md",
        "python benchmarks/image_defaults.py --data digits --seeds 0,2,3 --out "
        "benchmarks/results/image_defaults_digits.md --jsonl benchmarks/results/image_defaults_digits.jsonl",
    ),
    (
        "Images: the same benchmark with the MLP under mixed damage instead of the convolutional model, run at "
        "step size 1e-3 (the default then; `\"train\": {\"learning_rate\": 0.001}` reproduces it now) (issue 24)",
        "image_defaults_digits_mlp.md",
        "python benchmarks/image_defaults.py --data digits --seeds 0,2,3 --skip-sklearn --params "
        "'{\"model\": {\"architecture\": \"mlp\"}}' --out benchmarks/results/image_defaults_digits_mlp.md "
        "--jsonl benchmarks/results/image_defaults_digits_mlp.jsonl",
    ),
    (
        "Images: development runs behind the image defaults, seed 1 (issue 24)",
        "image_defaults_dev.md",
        "`python benchmarks/image_defaults.py --data digits --seeds 1` and `python benchmarks/image_defaults_dev.py "
        "'<JSON list of Imputer settings>'`, each table with its own command",
    ),
    (
        "Reverse-training speed, CPU (issue 3)",
        "speed_cpu.md",
        "python benchmarks/speed.py --out benchmarks/results/speed_cpu.md",
    ),
    (
        "Uncertainty in detail: temperature and conformal scaling before/after, the accuracy-vs-coverage "
        "curve, agreement of multiple imputations (issue 5)",
        "uncertainty.md",
        "python benchmarks/uncertainty.py --seed 0 --numeric-epochs 60 --out benchmarks/results/uncertainty.md",
    ),
    (
        "Streaming job throughput and memory (issue 6)",
        "job.md",
        "python benchmarks/job.py --rows 200000 --out benchmarks/results/job.md",
    ),
]


GAIN_PAPER = {"letter": 0.1198, "spam": 0.0513, "breast_diagnostic": 0.0546, "breast": 0.0546, "credit": 0.1858}
"""GAIN (Yoon et al., ICML 2018), Table 2: GAIN's RMSE at 20% MCAR on min-max scaled data. The paper's
"Breast" is compared with both breast tables (see ../shared/data's README: its figure matches the
Diagnostic set)."""


def gain_paper_comparison(results: pathlib.Path) -> str:
    """The 20% MCAR table against the GAIN paper's figures, from the grid's results file (the records the
    bench report uses: each method's latest configuration)."""
    values: dict[tuple[str, str], list[float]] = {}
    rows: dict[str, int] = {}
    for r in select_records(read_results(results)):
        if r["metric"] == "rmse" and r["mechanism"] == "mcar" and float(r["rate"]) == 0.2 and r.get("status") == "ok":
            values.setdefault((r["dataset"], r["method"]), []).append(r["value"])
            rows[r["dataset"]] = r["rows"]
    if not values:
        return "_Not run yet._"
    lines = ["| table | rows | GAIN paper | our GAIN | best invimpute preset | best peer | invimpute best overall? "
             "| invimpute below the paper's GAIN? |", "|---|---|---|---|---|---|---|---|"]
    for dataset, paper in GAIN_PAPER.items():
        means = {m: statistics.mean(v) for (d, m), v in values.items() if d == dataset}
        if not means:
            continue
        ours = min((m for m in means if m.startswith("invimpute")), key=means.get)
        peer = min((m for m in means if not m.startswith("invimpute")), key=means.get)
        lines.append(
            f"| {dataset} | {rows[dataset]} | {paper:.4f} | {means.get('gain', float('nan')):.4f} | {ours} "
            f"{means[ours]:.4f} | {peer} {means[peer]:.4f} | {'yes' if means[ours] < means[peer] else '**no**'} "
            f"| {'yes' if means[ours] < paper else '**no**'} |")
    return "\n".join(lines)


ANALYSES = ["ray_summary.md", "defaults_summary.md"]
"""Hand-written analyses under ``results/``, appended verbatim after the generated sections."""


def embed(text: str) -> str:
    """A results file as a subsection: headings two levels down, figure links relative to this folder."""
    lines = []
    for line in text.strip().splitlines():
        if line.startswith("#"):
            line = "##" + line
        lines.append(line.replace("](../figures/", "](figures/"))
    return "\n".join(lines)


def main() -> str:
    parts = [
        "# Benchmark results",
        "",
        "Generated by `python benchmarks/make_results.py` from the files under `benchmarks/results/`; each "
        "section names the command that wrote it. No GPU was lent to the session that produced these "
        "figures, so every figure here is from a 2-core x86-64 CPU shared with other work; GPU figures are "
        "still to be measured.",
    ]
    for title, name, command in SECTIONS:
        path = HERE / "results" / name
        shown = f"Commands: {command}" if "`" in command else f"Command: `{command}`"
        parts += ["", f"## {title}", "", shown, ""]
        parts.append(embed(path.read_text()) if path.exists() else "_Not run yet._")
    parts += ["", "## The GAIN paper's tables at 20% MCAR (issue 4)", "",
              "Computed by `python benchmarks/make_results.py` from `benchmarks/results/grid.jsonl` (mean over "
              "seeds of the latest configuration of each method); the paper's figures are GAIN's own, from its "
              "Table 2. letter and credit were run on 5000 rows of the table (the paper used all rows). The best "
              "invimpute preset is the best of the library's three numeric presets on each table (they differ "
              "only in width, steps and ensemble size), picked after seeing the scores.", "",
              gain_paper_comparison(HERE / "results" / "grid.jsonl")]
    parts += [text for name in ANALYSES for text in ("", (HERE / "results" / name).read_text().rstrip())]
    text = "\n".join(parts) + "\n"
    write_atomic(HERE / "RESULTS.md", text)
    return text


if __name__ == "__main__":
    main()
