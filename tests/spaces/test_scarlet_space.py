"""ScarletSpace: the SearchSpace contract, skip rules, variation legality, fair paths, integration."""
import json

import numpy as np
import pytest
import torch

from evonas.errors import ConfigError, GenotypeError
from evonas.evaluators.cost import CostEvaluator
from evonas.registry import spaces
from evonas.spaces.scarlet import (
    CHOICE_NAMES,
    NUM_CHOICES,
    PUBLISHED,
    SKIP,
    ScarletNet,
    ScarletSpace,
    ScarletSupernet,
    resolve_arch,
)
from evonas.testing import check_space

RULES = {"width_preserving": (2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 18),
         "stride1": (2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19),
         "all": tuple(range(1, 20))}


def test_registered_as_scarlet():
    assert spaces.get("scarlet") is ScarletSpace
    space = spaces.create("scarlet", variant="imagenet", skip_rule="stride1")
    assert isinstance(space, ScarletSpace) and repr(space) == "ScarletSpace(variant='imagenet', skip_rule='stride1')"


@pytest.mark.parametrize("rule", list(RULES))
def test_contract_suite_and_skip_layers(rule):
    space = ScarletSpace(skip_rule=rule)
    check_space(space, seeds=10)
    assert space.skip_layers == RULES[rule]
    assert space.size() == 12 ** (19 - len(RULES[rule])) * 13 ** len(RULES[rule])


@pytest.mark.parametrize("rule", list(RULES))
def test_sample_mutate_crossover_stay_legal_over_200_seeds(rule):
    space = ScarletSpace(skip_rule=rule)
    allowed = {i - 1 for i in RULES[rule]}
    skipped_at = set()
    for seed in range(200):
        rng = np.random.default_rng(seed)
        a, b = space.sample(rng), space.sample(rng)
        child = space.mutate(a, rng)
        assert sum(x != y for x, y in zip(a, child)) == 1
        kids = space.crossover(a, b, rng)
        for arch in (a, b, child) + kids:
            assert len(arch) == 19 and all(isinstance(g, int) and 0 <= g < NUM_CHOICES for g in arch)
            skips = {i for i, g in enumerate(arch) if g == SKIP}
            assert skips <= allowed and space.is_valid(arch)
            skipped_at |= skips
        for x, y, c, d in zip(a, b, *kids):
            assert {c, d} == {x, y}
    assert skipped_at == allowed  # every legal skip position is reached


def test_illegal_skip_names_the_layer_its_stride_and_widths():
    space = ScarletSpace()
    arch = list(resolve_arch("SCARLET_A"))
    arch[6] = SKIP
    with pytest.raises(GenotypeError, match=r"layer 7 \(stride 2, 40 -> 80 channels\): skip is not allowed under "
                                            r"skip_rule='width_preserving' \(allowed at layers 2, 4, 5"):
        space.validate(arch)
    arch[6] = 0
    arch[10] = "skip"
    with pytest.raises(GenotypeError, match=r"layer 11 \(stride 1, 80 -> 96 channels\)"):
        space.encode(arch)
    assert ScarletSpace(skip_rule="stride1").is_valid(arch)
    arch[0] = SKIP
    assert not ScarletSpace(skip_rule="stride1").is_valid(arch) and ScarletSpace(skip_rule="all").is_valid(arch)
    assert not space.is_valid("SCARLET_Z") and not space.is_valid([0] * 18)


def test_published_models_are_legal_and_accepted_by_name():
    space = ScarletSpace()
    for name, names in PUBLISHED.items():
        arch = space.validate(name)
        assert arch == space.validate(list(names)) == space.from_json(space.to_json(name))
        assert tuple(space.to_json(arch)) == names


def test_encode_decode_json_and_key_round_trips():
    space = ScarletSpace()
    arch = space.validate("SCARLET_B")
    vector = space.encode(arch)
    assert vector.dtype == np.int64 and vector.shape == (19,) and vector[8] == SKIP
    assert space.decode(vector) == arch == space.decode(vector.astype(float))
    lower, upper = space.bounds()
    assert (lower == 0).all() and (upper == 12).all() and lower.shape == upper.shape == (19,)
    data = space.to_json(arch)
    assert data[8] == "skip" and all(name in CHOICE_NAMES for name in data)
    assert space.from_json(json.loads(json.dumps(data))) == arch
    assert space.key(arch) == space.key(list(arch)) == "-".join(data)
    with pytest.raises(GenotypeError, match="layer 3: choice index 13 is out of range"):
        space.decode(np.r_[vector[:2], 13, vector[3:]])
    with pytest.raises(GenotypeError, match="layer 1: a choice is an index"):
        space.decode(np.r_[0.5, vector[1:]])


@pytest.mark.parametrize("rule", list(RULES))
def test_fair_paths_cover_every_candidate_of_every_layer(rule):
    space = ScarletSpace(skip_rule=rule)
    for seed in range(5):
        paths = space.fair_paths(np.random.default_rng(seed))
        assert len(paths) == 13 and all(space.is_valid(p) for p in paths)
        for layer in range(19):
            column = [p[layer] for p in paths]
            legal = space.legal_choices(layer + 1)
            if len(legal) == 13:
                assert sorted(column) == list(range(13))
            else:  # no skip here: one permutation of the 12 MBConvs, then one extra random MBConv
                assert SKIP not in column and sorted(column[:12]) == list(range(12)) and column[12] in legal
    assert space.fair_paths(np.random.default_rng(1)) == space.fair_paths(np.random.default_rng(1))


def test_build_defaults_and_overrides():
    space = ScarletSpace()
    net = space.build("SCARLET_C")
    assert isinstance(net, ScarletNet) and net.variant == "cifar" and net.num_classes == 10
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    imagenet = ScarletSpace(variant="imagenet").build("SCARLET_C")
    assert imagenet.num_classes == 1000 and imagenet.plan.stem_stride == 2
    assert space.build("SCARLET_C", variant="imagenet", num_classes=7).num_classes == 7
    arch = list(resolve_arch("SCARLET_A"))
    arch[10] = SKIP  # legal under "stride1": built with an explicit 1x1 projection
    assert ScarletSpace(skip_rule="stride1", width_mult=0.5).build(arch)(torch.randn(1, 3, 16, 16)).shape == (1, 10)
    supernet = ScarletSpace(width_mult=0.25, skip_rule="all").build_supernet(num_classes=3, stabilizer=False)
    assert isinstance(supernet, ScarletSupernet) and supernet.skip_rule == "all" and supernet.num_classes == 3


def test_cost_evaluator_measures_the_stand_alone_model():
    space = ScarletSpace(variant="imagenet")
    cost = CostEvaluator(metrics=("params", "macs"), input_shape=(1, 3, 224, 224))
    cost.setup(space)
    [result] = cost.evaluate([space.validate("SCARLET_B")])
    assert result == {"params": 6_531_556.0, "macs": 326_853_440.0}


def test_bad_options_and_rng():
    with pytest.raises(ConfigError, match="variant"):
        ScarletSpace(variant="imagenet21k")
    with pytest.raises(ConfigError, match="skip_rule"):
        ScarletSpace(skip_rule="never")
    with pytest.raises(ConfigError, match="width_mult"):
        ScarletSpace(width_mult=-1)
    with pytest.raises(ConfigError, match="num_classes"):
        ScarletSpace(num_classes=0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        ScarletSpace().sample(0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        ScarletSpace().fair_paths(np.random.RandomState(0))


@pytest.mark.parametrize("sampler", ["uniform", "fair"])
def test_one_shot_training_step(sampler):
    from evonas.training.one_shot import train_supernet_epoch

    space = ScarletSpace(width_mult=0.25)
    net = space.build_supernet()
    loader = [(torch.randn(4, 3, 16, 16), torch.randint(0, 10, (4,)))]
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    stats = train_supernet_epoch(net, space, loader, optimizer, rng=np.random.default_rng(0),
                                 device=torch.device("cpu"), sampler=sampler, progress=False)
    assert stats.steps == 1 and np.isfinite(stats.loss)


def test_supernet_evaluator_scores_scarlet_paths():
    from evonas.evaluators.supernet import SupernetEvaluator

    space = ScarletSpace(width_mult=0.25)
    evaluator = SupernetEvaluator(supernet_kwargs=dict(width_mult=0.25), epochs=1, batch_size=32,
                                  split=(0.02, 0.02), recalibration_images=32, val_images=32, progress=False)
    evaluator.setup(space)
    assert isinstance(evaluator.supernet, ScarletSupernet) and evaluator.supernet.num_classes == 10
    results = evaluator.evaluate([space.validate("SCARLET_C"), space.sample(np.random.default_rng(0))])
    assert all(0 <= r["accuracy"] <= 100 and np.isfinite(r["val_loss"]) for r in results)


def test_json_list_text_and_files_go_through_list_validation(tmp_path):
    space = ScarletSpace()
    a = space.validate("SCARLET_A")
    assert space.validate(json.dumps(list(a))) == a == space.validate(json.dumps(list(PUBLISHED["SCARLET_A"])))
    assert space.validate(f"  {json.dumps(space.to_json(a))}\n") == a
    with pytest.raises(GenotypeError, match="has 19 layers, got 18"):
        space.validate(json.dumps([0] * 18))
    illegal = list(a)
    illegal[6] = SKIP
    with pytest.raises(GenotypeError, match=r"layer 7 \(stride 2, 40 -> 80 channels\): skip is not allowed"):
        space.validate(json.dumps(illegal))
    with pytest.raises(GenotypeError, match="layer 3: unknown choice 'mb3_k9'"):
        space.validate(json.dumps(["mb3_k3"] * 2 + ["mb3_k9"] + ["mb3_k3"] * 16))
    with pytest.raises(GenotypeError, match="malformed SCARLET architecture JSON"):
        space.validate("[0, 1, 2")
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(space.to_json(a)))
    assert space.validate(str(path)) == a
    path.write_text(json.dumps([0] * 20))
    with pytest.raises(GenotypeError, match=r"arch\.json: a SCARLET architecture has 19 layers, got 20"):
        space.validate(str(path))
    path.write_text('{"arch": 1}')
    with pytest.raises(GenotypeError, match=r"arch\.json.*a JSON list of 19 choices"):
        space.validate(str(path))
    with pytest.raises(GenotypeError, match="does not exist"):
        space.validate(str(tmp_path / "missing.json"))
