"""Genotype validation, round trips, parsing, resolution and keys."""
import json
import pickle

import pytest

from evonas.errors import GenotypeError
from evonas.spaces.darts import (
    PUBLISHED_GENOTYPES,
    Genotype,
    canonical_key,
    get_genotype,
    list_genotypes,
    parse_genotype,
    resolve_genotype,
)
from evonas.spaces.darts.genotypes import DARTS_V2, RELATIVENAS

CELL = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("dil_conv_3x3", 2),
        ("sep_conv_5x5", 1), ("max_pool_3x3", 3), ("avg_pool_3x3", 0), ("skip_connect", 4)]


def make(normal=CELL, reduce=CELL, **kw):
    return Genotype(normal=normal, reduce=reduce, **kw)


def with_pair(cell, j, pair):
    cell = list(cell)
    cell[j] = pair
    return cell


# ------------------------------------------------------------- validation
def test_valid_genotype_normalises_to_tuples():
    g = make(normal_concat=range(2, 6))
    assert g.normal == tuple(CELL) and isinstance(g.normal[0], tuple)
    assert g.normal_concat == (2, 3, 4, 5) and g.reduce_concat == (2, 3, 4, 5)
    assert g.steps == 4


def test_node_with_one_input_is_rejected():
    with pytest.raises(GenotypeError, match=r"normal cell, node 3 \(state 5\): has 1 input, needs exactly 2"):
        make(normal=CELL[:7])


def test_input_from_later_node_is_rejected():
    bad = with_pair(CELL, 5, ("sep_conv_3x3", 5))  # node 2 may read states 0..3
    with pytest.raises(GenotypeError,
                       match=r"normal cell, node 2 \(state 4\), pair 1: input 5 is not an earlier state "
                             r"\(allowed 0\.\.3\)"):
        make(normal=bad)


def test_input_from_itself_and_negative_input_rejected():
    with pytest.raises(GenotypeError, match=r"reduce cell, node 0 \(state 2\), pair 1: input 2"):
        make(reduce=with_pair(CELL, 1, ("sep_conv_3x3", 2)))
    with pytest.raises(GenotypeError, match="input -1 is not an earlier state"):
        make(reduce=with_pair(CELL, 1, ("sep_conv_3x3", -1)))


def test_unknown_op_is_rejected_and_named():
    with pytest.raises(GenotypeError, match=r"reduce cell, node 1 \(state 3\), pair 0: unknown op 'conv_9x9'"):
        make(reduce=with_pair(CELL, 2, ("conv_9x9", 0)))


def test_none_op_is_rejected_in_final_genotype():
    with pytest.raises(GenotypeError, match=r"normal cell, node 0 \(state 2\), pair 0: op 'none' is not allowed"):
        make(normal=with_pair(CELL, 0, ("none", 0)))


def test_non_integer_input_and_non_string_op_rejected():
    with pytest.raises(GenotypeError, match="input must be an integer, got 1.5"):
        make(normal=with_pair(CELL, 0, ("sep_conv_3x3", 1.5)))
    with pytest.raises(GenotypeError, match="input must be an integer, got True"):
        make(normal=with_pair(CELL, 0, ("sep_conv_3x3", True)))
    with pytest.raises(GenotypeError, match="op must be a string name"):
        make(normal=with_pair(CELL, 0, (3, 0)))
    with pytest.raises(GenotypeError, match=r"expected an \(op, input\) pair"):
        make(normal=with_pair(CELL, 0, ("sep_conv_3x3", 0, 1)))


def test_duplicate_inputs_build_a_genotype_and_a_space_that_excludes_them_says_so():
    from evonas.spaces.darts import DartsSpace

    dup = with_pair(CELL, 3, ("sep_conv_3x3", 0))  # node 1: inputs 0 and 0
    g = make(normal=dup)  # one rule: it builds a valid network, so it is a genotype
    assert g.normal[2:4] == (("skip_connect", 0), ("sep_conv_3x3", 0)) and g.allow_duplicate_inputs
    assert not make().allow_duplicate_inputs
    with pytest.raises(GenotypeError, match=r"normal cell, node 1 \(state 3\): both inputs are state 0; this space "
                                            r"does not allow duplicate inputs"):
        DartsSpace().validate(g)
    assert DartsSpace(allow_duplicate_inputs=True).validate(g) == g


def test_identical_pairs_allowed_with_flag():
    cell = with_pair(with_pair(CELL, 2, ("sep_conv_3x3", 1)), 3, ("sep_conv_3x3", 1))
    assert make(normal=cell, allow_duplicate_inputs=True).normal[2] == ("sep_conv_3x3", 1)


def test_concat_validation():
    with pytest.raises(GenotypeError, match=r"normal_concat: index 6 is not an intermediate node \(allowed 2\.\.5\)"):
        make(normal_concat=[2, 3, 4, 6])
    with pytest.raises(GenotypeError, match=r"reduce_concat: index 1 is not an intermediate node"):
        make(reduce_concat=[1, 2])
    with pytest.raises(GenotypeError, match="reduce_concat: index 3 appears more than once"):
        make(reduce_concat=[2, 3, 3])
    with pytest.raises(GenotypeError, match="normal_concat is empty"):
        make(normal_concat=[])


def test_cells_must_agree_in_size_and_exist():
    with pytest.raises(GenotypeError, match="reduce cell has 3 nodes but normal cell has 4"):
        make(reduce=CELL[:6])
    with pytest.raises(GenotypeError, match="normal cell is empty"):
        make(normal=[])
    with pytest.raises(GenotypeError, match="reduce cell is missing"):
        Genotype(normal=CELL)
    with pytest.raises(GenotypeError, match="normal cell must be a list"):
        make(normal="sep_conv_3x3")


def test_sep_conv_7x7_is_a_known_op():
    g = make(normal=with_pair(CELL, 0, ("sep_conv_7x7", 0)))
    assert g.normal[0] == ("sep_conv_7x7", 0)


def test_immutable_hashable_and_flag_not_in_equality():
    g = make()
    with pytest.raises(AttributeError):
        g.normal = ()  # type: ignore[misc]
    g2 = make(allow_duplicate_inputs=True)
    assert g == g2 and hash(g) == hash(g2)
    assert len({g, g2, DARTS_V2}) == 2
    assert pickle.loads(pickle.dumps(RELATIVENAS)) == RELATIVENAS


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", list_genotypes())
def test_published_round_trips(name):
    g = get_genotype(name)
    assert Genotype.from_json(g.to_json()) == g
    assert Genotype.from_dict(g.to_dict()) == g
    assert parse_genotype(repr(g)) == g
    assert parse_genotype(str(g)).allow_duplicate_inputs == g.allow_duplicate_inputs
    assert resolve_genotype(g.to_json()) == g
    assert resolve_genotype(name.lower()) is g
    assert json.loads(g.to_json())["normal"][0] == list(g.normal[0])


def test_published_set_and_unknown_name():
    assert {"DARTS_V1", "DARTS_V2", "PC_DARTS", "PDARTS", "STACNAS_C10", "STACNAS_C100",
            "STACNAS_IMAGENET", "RELATIVENAS", "DAP_BEST_EVOLUTIONARY", "DAP_BEST_SUPERNET",
            "DAP_EVAL_BEST_EVOLUTIONARY"} == set(PUBLISHED_GENOTYPES)
    assert get_genotype("DARTS") == DARTS_V2
    with pytest.raises(GenotypeError, match="unknown genotype name 'NOPE'; valid names: DAP_BEST_EVOLUTIONARY"):
        get_genotype("NOPE")
    dap = get_genotype("DAP_BEST_SUPERNET")
    assert dap.normal == dap.reduce
    assert RELATIVENAS.allow_duplicate_inputs


def test_darts_log_text_parses():
    text = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
            "('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
    assert parse_genotype(text) == DARTS_V2
    assert parse_genotype("genotype = genotypes." + text) == DARTS_V2
    assert resolve_genotype("  " + text + "\n") == DARTS_V2


def test_text_variants_positional_and_list_arithmetic():
    pair = "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]"
    g = parse_genotype(f"Genotype({pair} * 4, list(range(2, 6)), {pair} + {pair} * 3, (2, 3, 4, 5))")
    assert g.normal == g.reduce and g.steps == 4
    assert parse_genotype(f"Genotype(normal={pair}*4, reduce={pair}*4)").normal_concat == (2, 3, 4, 5)


def test_relativenas_text_parses_with_or_without_the_flag():
    text = repr(RELATIVENAS).replace(", allow_duplicate_inputs=True", "")
    assert parse_genotype(text) == RELATIVENAS == parse_genotype(repr(RELATIVENAS))
    assert parse_genotype(text).allow_duplicate_inputs


@pytest.mark.parametrize("text, message", [
    ("Genotype(normal=[('sep_conv_3x3', 0)", "malformed genotype text"),
    ("__import__('os').system('true')", "must be a call Genotype"),
    ("Genotype(normal=eval('1'), reduce=[])", r"only range\(a, b\), list\(...\) and tuple\(...\) calls"),
    ("Genotype(normal=x, reduce=[])", "field 'normal': unsupported expression .*: 'x' \\(line 1, column 17\\)"),
    ("Genotype(normal=[('a', 0)].pop(), reduce=[])", "unsupported expression"),
    ("Genotype(normal=[], reduce=[], colour=3)", "unknown field 'colour'"),
    ("Genotype(normal=[], normal=[], reduce=[])", "given twice|malformed"),
    ("Genotype(normal=[('sep_conv_3x3', 0)] * 10**9, reduce=[])", "unsupported expression|list repetition"),
    ("Genotype(normal=[], reduce=[], normal_concat=range(0, 1000000))", "range\\(\\) longer than"),
    ("Genotype(reduce=[])", "missing the 'normal' cell"),
    ("Genotype(**d)", "'\\*\\*' arguments"),
    ("x = 1; y = 2", "single Genotype"),
    ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce=[('sep_conv_3x3', 0), ('bad', 1)])",
     r"reduce cell, node 0 \(state 2\), pair 1: unknown op 'bad'"),
])
def test_malformed_text(text, message):
    with pytest.raises(GenotypeError, match=message):
        parse_genotype(text)


@pytest.mark.parametrize("text, message", [
    ('{"normal": [["sep_conv_3x3", 0]', "malformed genotype JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"normal": [], "reduce": [], "extra": 1}', "unknown key\\(s\\) 'extra'"),
    ('{"normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1]]}', "missing the 'reduce' cell"),
    ('{"normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1]], "reduce": [["sep_conv_3x3", 0], '
     '["sep_conv_3x3", "1"]]}', r"reduce cell, node 0 \(state 2\), pair 1: input must be an integer"),
    ('{"normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1]], "reduce": [["sep_conv_3x3", 0], '
     '["sep_conv_3x3", 1]], "allow_duplicate_inputs": "yes"}', "allow_duplicate_inputs must be true or false"),
])
def test_malformed_json(text, message):
    with pytest.raises(GenotypeError, match=message):
        Genotype.from_json(text)


def test_json_carries_duplicate_flag():
    data = json.loads(RELATIVENAS.to_json())
    assert data["allow_duplicate_inputs"] is True
    assert "allow_duplicate_inputs" not in DARTS_V2.to_dict()
    del data["allow_duplicate_inputs"]
    assert Genotype.from_dict(data) == RELATIVENAS and Genotype.from_dict(data).allow_duplicate_inputs


# ------------------------------------------------------------- resolution
def test_resolve_from_files_and_dicts(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(DARTS_V2.to_json())
    assert resolve_genotype(str(path)) == DARTS_V2
    assert resolve_genotype(path) == DARTS_V2
    text_file = tmp_path / "g.txt"
    text_file.write_text(repr(RELATIVENAS))
    assert resolve_genotype(text_file) == RELATIVENAS
    wrapped = tmp_path / "best.json"
    wrapped.write_text(json.dumps({"genotype": DARTS_V2.to_dict()}))
    assert resolve_genotype(wrapped) == DARTS_V2
    assert resolve_genotype(DARTS_V2.to_dict()) == DARTS_V2
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(GenotypeError, match="broken.json: malformed genotype JSON"):
        resolve_genotype(broken)


def test_resolve_unknown_spec_names_the_forms(tmp_path):
    with pytest.raises(GenotypeError, match="unknown genotype 'darts_v3': not a published name .*DARTS_V2"):
        resolve_genotype("darts_v3")
    with pytest.raises(GenotypeError, match="does not exist"):
        resolve_genotype(str(tmp_path / "missing.json"))
    with pytest.raises(GenotypeError, match="empty genotype"):
        resolve_genotype("   ")
    with pytest.raises(GenotypeError, match="cannot interpret a int"):
        resolve_genotype(3)


# ------------------------------------------------------------------- keys
def test_canonical_key_ignores_pair_and_concat_order():
    swapped = [CELL[1], CELL[0]] + CELL[2:]
    a, b = make(), make(normal=swapped, normal_concat=[5, 4, 3, 2])
    assert a != b
    assert a.key() == b.key() == canonical_key(b)
    assert a.key_hash() == b.key_hash() and len(a.key_hash()) == 16
    assert make(normal=with_pair(CELL, 0, ("sep_conv_5x5", 0))).key() != a.key()
    assert DARTS_V2.key().startswith("normal=sep_conv_3x3@0+sep_conv_3x3@1;")


def test_keys_of_published_genotypes_are_distinct():
    keys = {g.key() for g in PUBLISHED_GENOTYPES.values()}
    assert len(keys) == len(PUBLISHED_GENOTYPES)


@pytest.mark.parametrize("field, text, message", [
    ("normal_concat", "range(2, 7)", r"normal_concat: index 6 is not an intermediate node \(allowed 2\.\.5\)"),
    ("reduce_concat", "[0, 1, 2]", r"reduce_concat: index 0 is not an intermediate node"),
    ("reduce_concat", "[]", "reduce_concat is empty"),
    ("normal_concat", "[3, 3]", "normal_concat: index 3 appears more than once"),
    ("normal_concat", "'2345'", "normal_concat must be a list of state indices, got '2345'"),
])
def test_bad_concat_is_refused_from_text_json_and_files(tmp_path, field, text, message):
    """Concat checks speak on every input path (text, JSON, a file, the space), never a silent default."""
    from evonas.spaces.darts import DartsSpace

    pasted = repr(DARTS_V2).replace(f"{field}=[2, 3, 4, 5]", f"{field}={text}")
    assert pasted != repr(DARTS_V2)
    as_json = json.dumps({**DARTS_V2.to_dict(), field: json.loads(text.replace("'", '"').replace("range(2, 7)",
                                                                                                  "[2,3,4,5,6]"))})
    (tmp_path / "g.json").write_text(as_json)
    for spec in (pasted, as_json, str(tmp_path / "g.json")):
        with pytest.raises(GenotypeError, match=message):
            DartsSpace().validate(spec)
    assert Genotype.from_dict({k: v for k, v in DARTS_V2.to_dict().items() if k != field}).concat(
        field.split("_")[0]) == (2, 3, 4, 5)  # a missing concat still means every node
