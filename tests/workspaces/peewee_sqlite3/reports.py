"""Nightly export, written against the raw database file."""
import csv
import sqlite3
import sys


def export(path: str) -> None:
    connection = sqlite3.connect(path)
    writer = csv.writer(sys.stdout)
    for row in connection.execute("SELECT id, text FROM note ORDER BY id"):
        writer.writerow(row)
