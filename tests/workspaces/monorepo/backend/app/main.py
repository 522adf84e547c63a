from fastapi import FastAPI

from app.api.products import router

app = FastAPI()
app.include_router(router)
