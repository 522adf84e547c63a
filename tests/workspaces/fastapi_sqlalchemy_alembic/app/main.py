from fastapi import FastAPI

from app.routers import items

app = FastAPI(title="Inventory")
app.include_router(items.router)
