import os


def add(a: int, b: int) -> int:
    return a + b


def label(value: int) -> str:
    return value
