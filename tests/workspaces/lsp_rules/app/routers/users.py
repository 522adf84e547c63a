from fastapi import APIRouter

router = APIRouter(prefix="/users")


@router.get("/{user_id}")
def read_user(user_id: int) -> dict[str, int]:
    return {"id": user_id}


@router.post("/")
def create_user() -> dict[str, str]:
    return {"status": "created"}
