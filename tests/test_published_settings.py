"""Every published hyperparameter against the value evonas uses under ``published=True``, one table per algorithm.

Each row: ``(setting, the paper's / released code's value, where it comes from, evonas' value)``. The sources
are the released repositories (snapshots read for /work/shared/ALGORITHMS.md, which digests them; file and
line where the code was read) and the READMEs. Where the released code and the paper disagree, the released
code wins here. Settings the sources do not publish (SCARLET's supernet and search budgets) are listed in the
docs (docs/algorithms/*.md, "Published settings"), not here: there is nothing to check them against.
"""
from __future__ import annotations

import pytest

from evonas.spaces.darts.celltools import DAP_OPS_PUBLISHED, FINE_SELECTION_ORDER, stacnas
from evonas.spaces.darts.encodings import RELATIVENAS_PRIMITIVES
from evonas.strategies.dap import AUGMENTS, DAP, STANDALONE
from evonas.strategies.gradient import StacNASSearch
from evonas.strategies.relative import RELATIVENAS_PUBLISHED, RELATIVENAS_PUBLISHED_SUPERNET, RelativeNAS

PERTNAS = "afzalxo/PertNAS search_evolutionary.py"
DAP_CONFIG = DAP(published=True).config

DAP_TABLE = [
    ("population (members)", 4, f"{PERTNAS}:65 --npop 4", DAP_CONFIG["population"]),
    ("search network channels C", 16, f"{PERTNAS}:51 --init_channels", DAP_CONFIG["C"]),
    ("search network cells", 5, f"{PERTNAS}:52 --layers", DAP_CONFIG["layers"]),
    ("batch size", 256, f"{PERTNAS}:45 --batch_size", DAP_CONFIG["batch_size"]),
    ("learning rate", 0.2176, f"{PERTNAS}:46 --learning_rate", DAP_CONFIG["learning_rate"]),
    ("learning rate minimum", 0.001, f"{PERTNAS}:47 --learning_rate_min", DAP_CONFIG["learning_rate_min"]),
    ("momentum", 0.9, f"{PERTNAS}:48", DAP_CONFIG["momentum"]),
    ("weight decay", 3e-4, f"{PERTNAS}:49", DAP_CONFIG["weight_decay"]),
    ("epochs per rebuild", 5, f"{PERTNAS}:179-181 _perturb_every = 5", DAP_CONFIG["train_epochs"]),
    ("cosine stepped once per", "epoch", f"{PERTNAS}:337-343 scheduler.step() after each epoch",
     DAP_CONFIG["schedule_step"]),
    ("expand fine-tune steps", 70, f"{PERTNAS}:58,211 finetune_steps 50 + 20", DAP_CONFIG["expand_steps"]),
    ("fine selection fine-tune steps", 130, f"{PERTNAS}:270 finetune_steps + 80", DAP_CONFIG["select_steps"]),
    ("topology fine-tune steps", 180, f"{PERTNAS}:303 finetune_steps + 130", DAP_CONFIG["topology_steps"]),
    ("updates per fine-tune", "steps + 1", f"{PERTNAS}:514 break after the step",
     "steps + 1" if DAP_CONFIG["extra_step"] else "steps"),
    ("weight restore between ops", "none (state_dict without copy)", f"{PERTNAS}:364",
     "none (state_dict without copy)" if DAP_CONFIG["restore"] == "published" else "copy"),
    ("masked op", "runs as 0 * op(x)", "afzalxo/PertNAS models/model_search.py _perturb_binary",
     "runs as 0 * op(x)" if DAP_CONFIG["masked_ops"] == "zero" else "skipped"),
    ("op list", DAP_OPS_PUBLISHED, "afzalxo/PertNAS extras/genotypes.py:5-15 PRIMITIVES",
     tuple(getattr(__import__("evonas.spaces.darts.celltools", fromlist=["x"]),
                   {"published": "DAP_OPS_PUBLISHED", "dap": "DAP_OPS"}[DAP_CONFIG["ops"]]))),
    ("decisions on", "CIFAR-10 test set", "afzalxo/PertNAS dataloader/ffcv_cifar10loader.py cifar_test.beton",
     f"{DAP_CONFIG['dataset'].upper().replace('CIFAR', 'CIFAR-')} test set"
     if DAP_CONFIG["validation"] == "test" else "held-out training images"),
    ("augmentation: translate (pad) pixels", 2, "ffcv_cifar10loader.py RandomTranslate(padding=2)",
     AUGMENTS[DAP_CONFIG["augment"]]["padding"]),
    ("augmentation: Cutout", 8, "ffcv_cifar10loader.py Cutout(8, mean)", AUGMENTS[DAP_CONFIG["augment"]]["cutout"]),
    ("precision", "fp16 autocast + GradScaler", f"{PERTNAS}:23,333,499 autocast(), GradScaler()",
     "fp16 autocast + GradScaler" if DAP_CONFIG["precision"] == "amp" else "fp32"),
    ("fine selection edge order", (13, 12, 8, 11, 7, 4, 9, 10, 5, 6, 2, 3, 0, 1), f"{PERTNAS} fine selection",
     tuple(FINE_SELECTION_ORDER)),
    ("stand-alone channels / cells", (36, 20), "afzalxo/PertNAS eval-evolutionary/log.txt",
     (STANDALONE["C"], STANDALONE["layers"])),
    ("stand-alone epochs / batch / lr", (600, 128, 0.025), "eval-evolutionary/log.txt",
     (STANDALONE["epochs"], STANDALONE["batch_size"], STANDALONE["learning_rate"])),
    ("stand-alone auxiliary / drop-path", (0.4, 0.3), "eval-evolutionary/log.txt",
     (STANDALONE["auxiliary_weight"], STANDALONE["drop_path_prob"])),
]

STACNAS = "susan0199/StacNAS"
STAC = StacNASSearch(published=True).config
STACNAS_TABLE = [
    ("stage 1 cells / stage 2 cells", (14, 20), f"{STACNAS} README commands --layers", (STAC["layers"],
                                                                                           STAC["layers_stage2"])),
    ("channels C", 16, f"{STACNAS} search config", STAC["C"]),
    ("epochs per stage", 80, f"{STACNAS} README", STAC["epochs"]),
    ("batch size", 64, f"{STACNAS} search config", STAC["batch_size"]),
    ("weights: SGD lr, minimum", (0.025, 0.001), f"{STACNAS} search config", (STAC["learning_rate"],
                                                                              STAC["learning_rate_min"])),
    ("weights: momentum, weight decay", (0.9, 3e-4), f"{STACNAS} search config", (STAC["momentum"],
                                                                                  STAC["weight_decay"])),
    ("weights: gradient clip", 3.0, f"{STACNAS} search config", STAC["grad_clip"]),
    ("alphas: Adam lr, weight decay", (3e-4, 1e-3), f"{STACNAS} search config", (STAC["arch_learning_rate"],
                                                                                 STAC["arch_weight_decay"])),
    ("training share (one-level, no validation part)", 1.0, f"{STACNAS} train_ratio 1", STAC["train_portion"]),
    ("scheduler stepped before each epoch", "published", f"{STACNAS} search.py", STAC["lr_schedule"]),
    ("shared alphas (normal / reduce)", True, f"{STACNAS} README --alpha_share", STAC["alpha_share"]),
    ("stage 1 ops", ("max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3", "none"),
     f"{STACNAS} genotypes.py:25-30", tuple(stacnas.STAGE1_PRIMITIVES)),
    ("dataset", "cifar10", f"{STACNAS} README", STAC["dataset"]),
    ("stand-alone C / cells / batch / epochs", (36, 20, 96, 600), f"{STACNAS} augment config (the DARTS recipe)",
     tuple(StacNASSearch.STANDALONE[k] for k in ("C", "layers", "batch_size", "epochs"))),
]

RELATIVE = "EMI-Group/RelativeNAS train_search.py"
REL = RelativeNAS(**RELATIVENAS_PUBLISHED).config
SUPERNET = RELATIVENAS_PUBLISHED_SUPERNET
RELATIVENAS_TABLE = [
    ("population", 20, RELATIVE, REL["pop_size"]),
    ("generations", 50, RELATIVE, REL["generations"]),
    ("learning rate cosine across generations", (0.1, 0.001), RELATIVE, (REL["learning_rate"],
                                                                        REL["learning_rate_min"])),
    ("learning rates read with get_lr() (the code's values)", "published", RELATIVE, REL["lr_schedule"]),
    ("drop-path (final)", 0.3, RELATIVE, REL["drop_path_prob"]),
    ("member training: one pass", None, RELATIVE, REL["member_steps"]),
    ("fast learner by", "val_loss", "slow_fast_learning.py", REL["fast_by"]),
    ("validation on augmented images", True, f"{RELATIVE}:121-124", REL["augmented_validation"]),
    ("weight set C / cells", (16, 8), "model_search.py", (SUPERNET["supernet_kwargs"]["C"],
                                                          SUPERNET["supernet_kwargs"]["layers"])),
    ("train / validation split of CIFAR-10", (0.5, 0.5), RELATIVE, tuple(SUPERNET["split"])),
    ("batch size", 256, RELATIVE, SUPERNET["batch_size"]),
    ("momentum / weight decay / grad clip", (0.9, 3e-4, 5.0), RELATIVE,
     (SUPERNET["momentum"], SUPERNET["weight_decay"], SUPERNET["grad_clip"])),
    ("Cutout", 16, RELATIVE, SUPERNET["cutout"]),
    ("op order", ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
                  "dil_conv_5x5"), "EMI-Group/RelativeNAS genotypes.py PRIMITIVES", tuple(RELATIVENAS_PRIMITIVES)),
]


def _scarlet_table():
    from evonas.spaces.scarlet.models import HEAD_CH, NUM_CHOICES, NUM_LAYERS, STAGES, STEM_CH, net_plan

    plan = net_plan("imagenet", 1.0)
    source = "xiaomi-automl/SCARLET-NAS models/Scarlet_A.py, basic_ops.py"
    return [
        ("searchable layers", 19, source, NUM_LAYERS),
        ("stage widths", (32, 40, 80, 96, 192, 320), source, tuple(s.out_ch for s in STAGES)),
        ("stage depths", (2, 4, 4, 4, 4, 1), source, tuple(s.layers for s in STAGES)),
        ("stem / head channels", (32, 1280), source, (STEM_CH, HEAD_CH)),
        ("stem stride (224 input)", 2, source, plan.stem_stride),
        ("choices per layer (12 MBConv + skip)", 13, "SCARLET-NAS issue #2; ALGORITHMS.md 1.1", NUM_CHOICES),
    ]


TABLES = {"dap": DAP_TABLE, "stacnas": STACNAS_TABLE, "relativenas": RELATIVENAS_TABLE}


@pytest.mark.parametrize("row", [pytest.param(row, id=f"{name}: {row[0]}") for name, table in TABLES.items()
                                 for row in table])
def test_published_value_is_what_evonas_uses(row):
    setting, published, source, ours = row
    assert ours == published, f"{setting}: published {published!r} ({source}), evonas {ours!r}"


def test_scarlet_published_network_plan():
    for setting, published, source, ours in _scarlet_table():
        assert ours == published, f"{setting}: published {published!r} ({source}), evonas {ours!r}"


def test_published_is_one_switch_that_refuses_with_one_message(tmp_path):
    """``published=True`` on DAP alone: one error naming every missing piece (the space's ops and CIFAR-10's
    folder), not one error after the other."""
    import numpy as np

    from evonas.errors import ConfigError
    from evonas.evaluators.cost import CostEvaluator
    from evonas.spaces.darts import DartsSpace

    strategy = DAP(published=True)
    with pytest.raises(ConfigError) as error:
        strategy.setup(DartsSpace(), CostEvaluator(metrics=("params",)).objectives, np.random.default_rng(0))
    message = str(error.value)
    assert message.count("\n") == 0
    assert "(1)" in message and "sep_conv_7x7" in message and "(2)" in message and "cifar10 needs --root" in message
    assert "smoke_steps" in message
