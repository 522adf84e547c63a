from calc.ops import add, label


def test_add_small_numbers():
    assert add(1, 2) == 3


def test_label():
    assert label(7) == "#7"
