from flask import Flask, jsonify

from models import Note, database

app = Flask(__name__)


@app.get("/notes")
def list_notes():
    with database.connection_context():
        return jsonify([note.text for note in Note.select().limit(50)])
