from fastapi import APIRouter

router = APIRouter(prefix="/products")


@router.get("/")
def list_products() -> list[dict[str, str]]:
    return []
