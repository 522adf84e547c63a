from fastapi import FastAPI

from app.api.notes import router

app = FastAPI()
app.include_router(router)
