"""The reference for HTTP speed goals: a bare Flask JSON endpoint, nothing else."""

from flask import Flask

app = Flask("bare")


@app.get("/bare")
def bare():
    return {"status": "ok"}
