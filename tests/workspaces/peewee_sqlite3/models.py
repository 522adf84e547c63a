import os

from peewee import Model, SqliteDatabase, TextField

database = SqliteDatabase(os.environ.get("NOTES_DB", "notes.db"))


class Note(Model):
    text = TextField()

    class Meta:
        database = database
