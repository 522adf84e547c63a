from fastapi import FastAPI

app = FastAPI(title="Billing")
