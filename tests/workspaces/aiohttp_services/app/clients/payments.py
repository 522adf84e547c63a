import aiohttp


async def capture(payment_id: str, base_url: str) -> dict:
    async with aiohttp.ClientSession(base_url=base_url) as session:
        async with session.post(f"/payments/{payment_id}/capture") as response:
            response.raise_for_status()
            return await response.json()
