from fastapi import APIRouter

router = APIRouter(prefix="/console/segments", include_in_schema=False)
