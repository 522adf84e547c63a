from calc.ops import add


def test_add_small_numbers():
    assert add(1, 2) == 3


def test_add_negative_numbers():
    assert add(-1, -2) == -4, "negative numbers add up"
